"""Operation cases: opened with one or more teams, moved through CASE_STATES, annotated.

``insert_case``, ``escalate_cases`` and ``write_case_notes`` work inside the caller's
transaction, so refund requests and the SLA escalation jobs open, escalate and annotate cases
with the very same rules (and audit rows) as an operator does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import CASE_ESCALATE, CASE_NOTE, CASE_OPEN, CASE_TRANSITION, in_sql
from ops_domain.audit.log import (
    AuditRows,
    insert_audit_rows,
    record_audit,
)
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import lock_row, transaction, update_row
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.merchants.models import Merchant
from ops_domain.rbac.actors import load_actor, require_actor
from ops_domain.rbac.models import Role
from ops_domain.rbac.names import name_actors

from .models import CASE_STATES, CASE_TYPES, PRIORITIES, Case, CaseAssignment

MANAGE_PERMISSION = "cases.manage"
CASE_COLUMNS = tuple(Case.__table__.c)


def moved_cases_cte(locked: str) -> str:
    """``moved``: the cases of the CTE ``locked`` (``id``, ``status``, rows already locked)
    moved to ``escalated``, each with its ``previous_status``."""
    return f"""
    moved AS (
        UPDATE cases c
           SET status = 'escalated', updated_at = :now
          FROM {locked} l
         WHERE c.id = l.id
        RETURNING c.id, c.case_no, c.priority, c.merchant_id, c.sla_due_at, c.created_at,
                  l.status AS previous_status
    )
    """


MOVED_CASE_COLUMNS = (
    "id",
    "case_no",
    "priority",
    "merchant_id",
    "sla_due_at",
    "created_at",
    "previous_status",
)


def moved_case_sql(alias: str) -> str:
    """The columns of a ``moved`` row ``alias``, each named ``case.<column>``."""
    return ", ".join(f'{alias}.{column} AS "case.{column}"' for column in MOVED_CASE_COLUMNS)


def split_moved_case(row: dict[str, Any]) -> dict[str, Any] | None:
    """Take the ``case.<column>`` values out of ``row``: the moved case (None: none moved)."""
    case = {column: row.pop(f"case.{column}") for column in MOVED_CASE_COLUMNS}
    return case if case["id"] is not None else None


def noted_cte(source: str) -> str:
    """``noted``: one case note per row of ``source`` (``case_id``, ``author_id``, ``body``,
    ``is_internal``, ``position``), inserted in ``position`` order."""
    return f"""
    noted AS (
        INSERT INTO case_notes (case_id, author_id, body, is_internal)
        SELECT case_id, author_id, body, is_internal FROM ({source}) notes ORDER BY position
        RETURNING id, case_id, author_id, body, is_internal
    )
    """


# The audit rows of ``moved`` (``case.escalate``) and of ``noted`` (``case.note``).
CASE_ESCALATE_ROWS = AuditRows(
    in_sql(CASE_ESCALATE),
    "case",
    source="moved m",
    target_id="m.id",
    before="jsonb_build_object('status', m.previous_status)",
    after="jsonb_build_object('status', 'escalated')",
    details="jsonb_build_object('reason', CAST(:reason AS text))",
    order_by="m.id",
)
CASE_NOTE_ROWS = AuditRows(
    in_sql(CASE_NOTE),
    "case",
    source="noted n",
    target_id="n.case_id",
    actor_id="n.author_id",
    after="jsonb_build_object('note_id', n.id, 'body', n.body, 'is_internal', n.is_internal)",
    order_by="n.id",
)

_ESCALATE = text(
    f"""
    WITH target AS (
        SELECT id, status FROM cases
         WHERE id = ANY(CAST(:ids AS bigint[])) AND status = ANY(CAST(:sources AS text[]))
         ORDER BY id
         FOR UPDATE
    ),
    {moved_cases_cte("target")},
    audited AS ({insert_audit_rows(CASE_ESCALATE_ROWS)})
    SELECT * FROM moved ORDER BY id
    """
)

_WRITE_NOTES = text(
    f"""
    WITH {
        noted_cte(
            "SELECT case_id, CAST(:author_id AS bigint) AS author_id, body,"
            " CAST(:internal AS boolean) AS is_internal, position"
            " FROM unnest(CAST(:case_ids AS bigint[]), CAST(:bodies AS text[]))"
            " WITH ORDINALITY AS n(case_id, body, position)"
        )
    },
    audited AS ({insert_audit_rows(CASE_NOTE_ROWS)})
    SELECT id FROM noted ORDER BY id
    """
)


def require_choice(value: str, choices: Collection[str], field: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{field} must be one of {', '.join(choices)}, got {value!r}")
    return value


def require_text(value: str | None, field: str) -> str:
    if not (value and value.strip()):
        raise InvalidInput(f"{field} must not be empty")
    return value.strip()


def open_case(
    engine: Engine,
    *,
    actor_username: str,
    case_type: str,
    priority: str,
    title: str,
    teams: list[str],
    sla_due_at: datetime | None = None,
    merchant_id: int | None = None,
    release_id: str | None = None,
    trigger: str | None = None,
    assignee_username: str | None = None,
) -> dict[str, Any]:
    """Open a case assigned to ``teams`` (real role names, at least one) and optionally a
    person; the actor needs ``cases.manage``."""
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MANAGE_PERMISSION, "cases open")
        assignee_id = load_actor(session, assignee_username).id if assignee_username else None
        case = insert_case(
            session,
            actor_id=actor.id,
            case_type=case_type,
            priority=priority,
            title=title,
            teams=teams,
            sla_due_at=as_utc(sla_due_at) if sla_due_at else None,
            merchant_id=merchant_id,
            release_id=release_id,
            trigger=trigger,
            assignee_id=assignee_id,
        )
        return name_actors(session, case)


def insert_case(
    session: Session,
    *,
    actor_id: int,
    case_type: str,
    priority: str,
    title: str,
    teams: Sequence[str],
    sla_due_at: datetime | None = None,
    merchant_id: int | None = None,
    release_id: str | None = None,
    trigger: str | None = None,
    assignee_id: int | None = None,
) -> dict[str, Any]:
    """Insert a case, its team assignments and its ``case.open`` audit row."""
    require_choice(case_type, CASE_TYPES, "case type")
    require_choice(priority, PRIORITIES, "priority")
    team_ids = resolve_teams(session, teams)
    if merchant_id is not None and session.get(Merchant, merchant_id) is None:
        raise NotFound("merchant", merchant_id)
    case = dict(
        session.execute(
            insert(Case)
            .values(
                case_type=case_type,
                priority=priority,
                title=require_text(title, "case title"),
                sla_due_at=sla_due_at,
                merchant_id=merchant_id,
                release_id=release_id,
                trigger=trigger,
                assignee_id=assignee_id,
                created_by=actor_id,
            )
            .returning(*CASE_COLUMNS)
        )
        .mappings()
        .one()
    )
    session.execute(
        insert(CaseAssignment),
        [{"case_id": case["id"], "role_id": role_id} for role_id in team_ids.values()],
    )
    case["teams"] = sorted(team_ids)
    record_audit(
        session,
        actor_id=actor_id,
        action=CASE_OPEN,
        target_type="case",
        target_id=case["id"],
        after=case,
    )
    return case


def resolve_teams(session: Session, teams: Sequence[str]) -> dict[str, int]:
    """Team name -> role id; every team must be a role that exists."""
    wanted = sorted({team.strip() for team in teams if team.strip()})
    if not wanted:
        raise InvalidInput("a case needs at least one team (a role name such as risk)")
    known = dict(session.execute(select(Role.name, Role.id)).tuples().all())
    unknown = [team for team in wanted if team not in known]
    if unknown:
        raise InvalidInput(
            f"unknown team(s) {', '.join(unknown)}; teams are the roles {', '.join(sorted(known))}"
        )
    return {team: known[team] for team in wanted}


def transition_case(
    engine: Engine,
    *,
    case_id: int,
    to_status: str,
    actor_username: str,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case along CASE_STATES (resolving and closing need a note, kept as a case note)."""
    moment = as_utc(now) if now else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MANAGE_PERMISSION, "cases transition")
        current = lock_case(session, case_id)
        CASE_STATES.check(current["status"], to_status, note)
        moved = update_row(session, Case, case_id, status=to_status, updated_at=moment)
        record_audit(
            session,
            actor_id=actor.id,
            action=CASE_TRANSITION,
            target_type="case",
            target_id=case_id,
            before={"status": current["status"]},
            after={"status": to_status},
            details={"note": note},
        )
        if note and note.strip():
            write_case_notes(session, [(case_id, note.strip())], author_id=actor.id)
        return name_actors(session, moved)


def add_case_note(
    engine: Engine,
    *,
    case_id: int,
    actor_username: str,
    body: str,
    internal: bool = True,
) -> dict[str, Any]:
    """Append a note to a case that is not closed; notes are never edited."""
    text_body = require_text(body, "note")
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MANAGE_PERMISSION, "cases note")
        current = lock_case(session, case_id)
        if current["status"] == "closed":
            raise InvalidInput(f"case {current['case_no']} is closed; it takes no more notes")
        (note_id,) = write_case_notes(
            session, [(case_id, text_body)], author_id=actor.id, internal=internal
        )
        return {
            "note_id": note_id,
            "case_id": case_id,
            "case_no": current["case_no"],
            "author": actor.username,
            "is_internal": internal,
            "body": text_body,
        }


def lock_case(session: Session, case_id: int) -> dict[str, Any]:
    return lock_row(session, Case, case_id, "case")


def write_case_notes(
    session: Session,
    notes: Sequence[tuple[int, str]],
    *,
    author_id: int,
    internal: bool = True,
) -> list[int]:
    """Insert (case_id, body) notes and their ``case.note`` audit rows in one statement."""
    if not notes:
        return []
    return list(
        session.scalars(
            _WRITE_NOTES,
            {
                "case_ids": [case_id for case_id, _ in notes],
                "bodies": [body for _, body in notes],
                "author_id": author_id,
                "internal": internal,
            },
        )
    )


def escalate_cases(
    session: Session,
    case_ids: Collection[int],
    *,
    actor_id: int,
    now: datetime,
    reason: str,
) -> list[dict[str, Any]]:
    """Move the given cases to ``escalated`` where CASE_STATES allows it (open/in_progress).

    Rows are locked in id order, so two jobs escalating overlapping cases wait for each other
    instead of deadlocking; a case another job already escalated is left alone. The
    ``case.escalate`` audit rows are written by the same statement.
    """
    if not case_ids:
        return []
    return [
        dict(row)
        for row in session.execute(
            _ESCALATE,
            {
                "ids": sorted(case_ids),
                "sources": sorted(CASE_STATES.sources_of("escalated")),
                "now": now,
                "actor_id": actor_id,
                "reason": reason,
            },
        ).mappings()
    ]
