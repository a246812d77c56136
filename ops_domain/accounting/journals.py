"""Journal entries: drafted by a maker, posted only through a checker's approval.

Rules enforced here (and again by the database triggers): an entry has at least two lines,
each a positive debit or a positive credit on an account of the entry's currency; debits equal
credits; a posted entry never changes; a correction is a reversal entry with the lines swapped,
at most one per entry that is not void. Nothing dated in a closed period is drafted, submitted,
reversed or posted; every such refusal by the period-close control, whatever the step, is
recorded as evidence (``journal.post_refused``, the rollback watch counts them), while input
mistakes are not (decision 0010).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.accounting.accounts import accounts_by_code
from ops_domain.accounting.models import APPROVAL_STATES, ENTRY_STATES
from ops_domain.accounting.periods import closed_period_covering, lock_currency_periods
from ops_domain.audit.actions import (
    JOURNAL_APPROVAL_APPROVE,
    JOURNAL_APPROVAL_REJECT,
    JOURNAL_APPROVAL_REQUEST,
    JOURNAL_CREATE,
    JOURNAL_POST,
    JOURNAL_POST_REFUSED,
    JOURNAL_REVERSE,
    JOURNAL_VOID,
)
from ops_domain.audit.log import record_audit, record_refusal
from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import IllegalTransition, InvalidInput, NotFound, PeriodClosed
from ops_domain.money import positive_money
from ops_domain.rbac.actors import (
    Actor,
    require_actor,
    require_checker,
    require_different_person,
    require_note,
)
from ops_domain.rbac.names import name_actors

MAKER_PERMISSION = "journals.create"
CHECKER_PERMISSION = "journals.approve"
POSTING_KINDS = ("post", "reversal")  # both approve the posting of the approval's own entry
SIDES = ("debit", "credit")


@dataclass(frozen=True)
class JournalLineInput:
    """One line as a maker states it: an account code and either a debit or a credit."""

    account_code: str
    debit: Decimal | None = None
    credit: Decimal | None = None
    memo: str = ""

    @classmethod
    def parse(cls, raw: str) -> JournalLineInput:
        """``ACCOUNT:debit:AMOUNT`` or ``ACCOUNT:credit:AMOUNT``."""
        parts = raw.rsplit(":", 2)
        if len(parts) != 3 or parts[1] not in SIDES or not parts[0].strip():
            raise InvalidInput(f"journal line must be ACCOUNT:debit|credit:AMOUNT, got {raw!r}")
        code, side, amount = parts
        money = positive_money(amount, field=f"{side} of line {raw!r}")
        return cls(code.strip(), **{side: money})

    @property
    def amount(self) -> Decimal:
        return self.debit if self.debit is not None else self.credit  # type: ignore[return-value]


def create_journal(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    entry_date: date,
    currency: str,
    description: str,
    lines: list[JournalLineInput],
) -> dict[str, Any]:
    """Draft a balanced entry of two or more lines on accounts of its currency, dated outside
    any closed period of that currency."""
    settings.require_currency(currency)
    if not description.strip():
        raise InvalidInput("a journal entry needs a description")
    _require_balanced(lines)
    with _period_refusals_recorded(engine), transaction(engine) as session:
        actor = require_actor(session, actor_username, MAKER_PERMISSION, "journals create")
        lock_currency_periods(session, currency, exclusive=False)
        _require_open_period(
            session,
            actor,
            "create",
            {"currency": currency, "entry_date": entry_date},
            "date the entry in an open period",
        )
        account_ids = _account_ids(session, currency, lines)
        entry_id = session.execute(
            text(
                """
                INSERT INTO journal_entries (entry_date, currency, description, maker_id)
                VALUES (:entry_date, :currency, :description, :maker) RETURNING id
                """
            ),
            {
                "entry_date": entry_date,
                "currency": currency,
                "description": description.strip(),
                "maker": actor.id,
            },
        ).scalar_one()
        session.execute(
            text(
                """
                INSERT INTO journal_lines (entry_id, account_id, debit, credit, memo)
                VALUES (:entry_id, :account_id, :debit, :credit, :memo)
                """
            ),
            [
                {
                    "entry_id": entry_id,
                    "account_id": account_ids[line.account_code],
                    "debit": line.debit,
                    "credit": line.credit,
                    "memo": line.memo,
                }
                for line in lines
            ],
        )
        entry = entry_view(session, entry_id)
        _audit_entry(session, actor, JOURNAL_CREATE, entry, before=None)
        return name_actors(session, entry)


def submit_journal(
    engine: Engine, *, entry_id: int, actor_username: str, now: datetime | None = None
) -> dict[str, Any]:
    """Ask a checker to post a draft: a pending ``post`` approval (``reversal`` for a
    reversal entry). At most one pending approval per entry and kind (unique index); a draft
    dated in a closed period is refused (it could never be posted)."""
    with _period_refusals_recorded(engine), transaction(engine) as session:
        actor = require_actor(session, actor_username, MAKER_PERMISSION, "journals submit")
        entry = _locked_entry(session, entry_id)
        if entry["status"] != "draft":
            raise IllegalTransition(ENTRY_STATES.name, entry["status"], "posted")
        lock_currency_periods(session, entry["currency"], exclusive=False)
        _require_open_period(
            session,
            actor,
            "submit",
            entry,
            f"void {entry['entry_no']} and draft it again in an open period",
        )
        pending = _pending_approval(session, entry_id)
        if pending is not None:
            raise InvalidInput(
                f"{entry['entry_no']} already awaits a checker: approval #{pending['id']}"
            )
        kind = "reversal" if entry["reversal_of"] is not None else "post"
        return name_actors(
            session, _request_approval(session, actor, entry, kind, now or utc_now())
        )


def approve_journal_approval(
    engine: Engine,
    *,
    approval_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A checker (never the requester, never the entry's maker) approves, which posts the
    entry. Posting into a closed period raises ``PeriodClosed`` and the refusal is recorded;
    the approval stays pending and the message tells the checker to reject it."""
    with _period_refusals_recorded(engine), transaction(engine) as session:
        checker = require_actor(session, actor_username, CHECKER_PERMISSION, "journals approve")
        approval, entry = _decidable(session, checker, approval_id, note, "approved")
        if approval["kind"] not in POSTING_KINDS:
            raise InvalidInput(f"{approval['kind']} approvals are not handled by this action")
        ENTRY_STATES.check(entry["status"], "posted")
        lock_currency_periods(session, entry["currency"], exclusive=False)
        _require_open_period(
            session,
            checker,
            "approve",
            entry,
            f"nothing was posted; reject approval #{approval_id}"
            f" (journals reject --approval-id {approval_id} --note ...), then the"
            f" maker voids {entry['entry_no']} and drafts it in an open period",
            approval_id=approval_id,
        )
        moment = now or utc_now()
        decided = _decide(
            session, checker, approval=approval, decision="approved", note=note, now=moment
        )
        posted = _post(session, checker, entry, moment)
        decided, posted = name_actors(session, [decided, posted])
    return {"approval": decided, "entry": posted}


def reject_journal_approval(
    engine: Engine,
    *,
    approval_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A checker refuses to post; the entry stays a draft its maker may fix, resubmit or void."""
    with transaction(engine) as session:
        checker = require_actor(session, actor_username, CHECKER_PERMISSION, "journals reject")
        approval, _ = _decidable(session, checker, approval_id, note, "rejected")
        rejected = _decide(
            session,
            checker,
            approval=approval,
            decision="rejected",
            note=note,
            now=now or utc_now(),
        )
        return name_actors(session, rejected)


def void_journal(
    engine: Engine, *, entry_id: int, actor_username: str, note: str | None
) -> dict[str, Any]:
    """A draft that will never be posted becomes ``void`` (kept, never deleted), with a note.
    A draft awaiting a checker cannot be voided under the checker's feet."""
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MAKER_PERMISSION, "journals void")
        entry = _locked_entry(session, entry_id)
        ENTRY_STATES.check(entry["status"], "void", note)
        pending = _pending_approval(session, entry_id)
        if pending is not None:
            raise InvalidInput(
                f"{entry['entry_no']} awaits a checker (approval #{pending['id']}):"
                " it must be rejected before the entry is voided"
            )
        session.execute(
            text("UPDATE journal_entries SET status = 'void', void_note = :note WHERE id = :id"),
            {"id": entry_id, "note": note.strip() if note else note},
        )
        voided = entry_view(session, entry_id)
        _audit_entry(session, actor, JOURNAL_VOID, voided, before=entry)
        return name_actors(session, voided)


def reverse_journal(
    engine: Engine,
    *,
    entry_id: int,
    actor_username: str,
    entry_date: date,
    reason: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Draft the reversal of a posted entry (lines swapped, ``reversal_of`` set) and ask a
    checker to post it. An entry is reversed at most once: a void reversal does not count (also
    a partial unique index). A reversal dated in a closed period is refused."""
    require_note(reason, "reversing a journal entry")
    with _period_refusals_recorded(engine), transaction(engine) as session:
        actor = require_actor(session, actor_username, MAKER_PERMISSION, "journals reverse")
        original = _locked_entry(session, entry_id)
        if original["status"] != "posted":
            raise InvalidInput(
                f"only posted entries are reversed; {original['entry_no']} is {original['status']}"
            )
        earlier = session.execute(
            text(
                "SELECT entry_no FROM journal_entries WHERE reversal_of = :id AND status <> 'void'"
            ),
            {"id": entry_id},
        ).scalar_one_or_none()
        if earlier is not None:
            raise InvalidInput(f"{original['entry_no']} is already reversed by {earlier}")
        lock_currency_periods(session, original["currency"], exclusive=False)
        _require_open_period(
            session,
            actor,
            "reverse",
            {**original, "entry_date": entry_date},
            "date the reversal in an open period",
        )
        reversal_id = _insert_reversal(session, actor, original, entry_date, reason or "")
        reversal = entry_view(session, reversal_id)
        _audit_entry(session, actor, JOURNAL_CREATE, reversal, before=None)
        record_audit(
            session,
            actor_id=actor.id,
            action=JOURNAL_REVERSE,
            target_type="journal_entry",
            target_id=entry_id,
            details={"reversal_entry_no": reversal["entry_no"], "reason": reason},
        )
        approval = _request_approval(session, actor, reversal, "reversal", now or utc_now())
        reversal, approval = name_actors(session, [reversal, approval])
    return {"reversal": reversal, "approval": approval}


def entry_view(session: Session, entry_id: int) -> dict[str, Any]:
    """An entry with its lines (account codes, not ids) and its debit total."""
    row = session.execute(
        text(
            """
            SELECT e.id, e.entry_no, e.entry_date, e.currency, e.status, e.description,
                   e.reversal_of, e.maker_id, e.posted_by, e.posted_at, e.void_note,
                   coalesce(jsonb_agg(jsonb_build_object(
                       'account_code', a.code, 'debit', l.debit::text,
                       'credit', l.credit::text, 'memo', l.memo) ORDER BY l.id)
                       FILTER (WHERE l.id IS NOT NULL), '[]') AS lines,
                   coalesce(sum(l.debit), 0) AS total
              FROM journal_entries e
              LEFT JOIN journal_lines l ON l.entry_id = e.id
              LEFT JOIN accounts a ON a.id = l.account_id
             WHERE e.id = :id
             GROUP BY e.id
            """
        ),
        {"id": entry_id},
    ).one_or_none()
    if row is None:
        raise NotFound("journal entry", entry_id)
    return dict(row._mapping)


@contextmanager
def _period_refusals_recorded(engine: Engine) -> Iterator[None]:
    """Record a refusal by the period-close control in its own transaction: the refused change
    rolls back, the refusal stays as evidence."""
    try:
        yield
    except PeriodClosed as refused:
        if refused.evidence is not None:
            record_refusal(engine, **refused.evidence)
        raise


def _require_open_period(
    session: Session,
    actor: Actor,
    step: str,
    entry: dict[str, Any],
    next_step: str,
    *,
    approval_id: int | None = None,
) -> None:
    """Refuse a journal ``step`` dated in a closed period (a draft there could never be
    posted), carrying the refusal's audit row: target the entry, or ``new`` when drafting."""
    period = closed_period_covering(session, entry["currency"], entry["entry_date"])
    if period is None:
        return
    details = {
        "entry_no": entry.get("entry_no"),
        "entry_date": entry["entry_date"],
        "currency": entry["currency"],
        "period": period,
        "step": step,
        "reason": f"entry date falls in closed period {period}",
    }
    if approval_id is not None:
        details["approval_id"] = approval_id
    evidence = {
        "actor_id": actor.id,
        "action": JOURNAL_POST_REFUSED,
        "target_type": "journal_entry",
        "target_id": entry.get("id", "new"),
        "details": details,
    }
    raise PeriodClosed(
        entry["currency"], entry["entry_date"], period, next_step=next_step, evidence=evidence
    )


def _require_balanced(lines: list[JournalLineInput]) -> None:
    if len(lines) < 2:
        raise InvalidInput(f"a journal entry needs at least 2 lines, got {len(lines)}")
    for line in lines:
        if (line.debit is None) == (line.credit is None):
            raise InvalidInput(f"line on {line.account_code} must be a debit or a credit")
        positive_money(line.amount, field=f"line on {line.account_code}")
    debits = sum((line.debit for line in lines if line.debit is not None), Decimal("0"))
    credits = sum((line.credit for line in lines if line.credit is not None), Decimal("0"))
    if debits != credits:
        raise InvalidInput(f"journal entry does not balance: debits {debits}, credits {credits}")


def _account_ids(session: Session, currency: str, lines: list[JournalLineInput]) -> dict[str, int]:
    codes = sorted({line.account_code for line in lines})
    found = accounts_by_code(session, currency, codes)
    missing = [code for code in codes if code not in found]
    if missing:
        raise InvalidInput(f"no {currency} account with code {', '.join(missing)}")
    return found


def _locked_entry(session: Session, entry_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            """
            SELECT id, entry_no, entry_date, currency, status, reversal_of, maker_id
              FROM journal_entries WHERE id = :id FOR UPDATE
            """
        ),
        {"id": entry_id},
    ).one_or_none()
    if row is None:
        raise NotFound("journal entry", entry_id)
    return dict(row._mapping)


def _pending_approval(session: Session, entry_id: int) -> dict[str, Any] | None:
    row = session.execute(
        text("SELECT id, kind FROM journal_approvals WHERE entry_id = :id AND status = 'pending'"),
        {"id": entry_id},
    ).first()
    return dict(row._mapping) if row else None


_APPROVAL_COLUMNS = (
    "id, entry_id, kind, status, requested_by, decided_by, note, requested_at, decided_at"
)


def _request_approval(
    session: Session, actor: Actor, entry: dict[str, Any], kind: str, now: datetime
) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            INSERT INTO journal_approvals (entry_id, kind, requested_by, requested_at)
            VALUES (:entry_id, :kind, :actor, :now)
            RETURNING {_APPROVAL_COLUMNS}
            """
        ),
        {"entry_id": entry["id"], "kind": kind, "actor": actor.id, "now": now},
    ).one()
    approval = {**row._mapping, "entry_no": entry["entry_no"]}
    record_audit(
        session,
        actor_id=actor.id,
        action=JOURNAL_APPROVAL_REQUEST,
        target_type="journal_approval",
        target_id=approval["id"],
        after=approval,
    )
    return approval


def _decidable(
    session: Session, checker: Actor, approval_id: int, note: str | None, decision: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The locked approval and entry, once the checker may take ``decision`` on them."""
    row = session.execute(
        text(f"SELECT {_APPROVAL_COLUMNS} FROM journal_approvals WHERE id = :id FOR UPDATE"),
        {"id": approval_id},
    ).one_or_none()
    if row is None:
        raise NotFound("journal approval", approval_id)
    approval = dict(row._mapping)
    entry = _locked_entry(session, approval["entry_id"])
    action = f"journal approval #{approval_id}"
    require_checker(checker, approval["requested_by"], note, action)
    require_different_person(checker, entry["maker_id"], action)
    APPROVAL_STATES.check(approval["status"], decision, note)
    return {**approval, "entry_no": entry["entry_no"]}, entry


def _decide(
    session: Session,
    checker: Actor,
    *,
    approval: dict[str, Any],
    decision: str,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            UPDATE journal_approvals
               SET status = :decision, decided_by = :checker, note = :note, decided_at = :now
             WHERE id = :id
            RETURNING {_APPROVAL_COLUMNS}
            """
        ),
        {
            "id": approval["id"],
            "decision": decision,
            "checker": checker.id,
            "note": note.strip() if note else note,
            "now": now,
        },
    ).one()
    decided = {**row._mapping, "entry_no": approval["entry_no"]}
    record_audit(
        session,
        actor_id=checker.id,
        action=JOURNAL_APPROVAL_APPROVE if decision == "approved" else JOURNAL_APPROVAL_REJECT,
        target_type="journal_approval",
        target_id=approval["id"],
        before=approval,
        after=decided,
    )
    return decided


def _post(session: Session, checker: Actor, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    session.execute(
        text(
            """
            UPDATE journal_entries SET status = 'posted', posted_by = :checker, posted_at = :now
             WHERE id = :id
            """
        ),
        {"id": entry["id"], "checker": checker.id, "now": now},
    )
    posted = entry_view(session, entry["id"])
    _audit_entry(session, checker, JOURNAL_POST, posted, before=entry)
    return posted


def _insert_reversal(
    session: Session, actor: Actor, original: dict[str, Any], entry_date: date, reason: str
) -> int:
    reversal_id = session.execute(
        text(
            """
            INSERT INTO journal_entries (entry_date, currency, description, maker_id, reversal_of)
            VALUES (:entry_date, :currency, :description, :maker, :original) RETURNING id
            """
        ),
        {
            "entry_date": entry_date,
            "currency": original["currency"],
            "description": f"Reversal of {original['entry_no']}: {reason.strip()}",
            "maker": actor.id,
            "original": original["id"],
        },
    ).scalar_one()
    session.execute(
        text(
            """
            INSERT INTO journal_lines (entry_id, account_id, debit, credit, memo)
            SELECT :reversal, account_id, credit, debit, memo
              FROM journal_lines WHERE entry_id = :original ORDER BY id
            """
        ),
        {"reversal": reversal_id, "original": original["id"]},
    )
    return reversal_id


def _audit_entry(
    session: Session,
    actor: Actor,
    action: str,
    entry: dict[str, Any],
    *,
    before: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        actor_id=actor.id,
        action=action,
        target_type="journal_entry",
        target_id=entry["id"],
        before=before,
        after=entry,
    )
