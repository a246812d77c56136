"""One audit vocabulary: writers, rollback triggers and completeness rules import the action
names from ``ops_domain.audit.actions``; nobody else spells them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ops_domain.audit import actions
from ops_domain.audit.log import AuditRows, insert_audit_history, insert_audit_rows
from ops_domain.rbac.matrix import PERMISSION_ROLES

PACKAGE = Path(actions.__file__).resolve().parent.parent
NAMES = {
    value
    for name, value in vars(actions).items()
    if name.isupper() and isinstance(value, str) and actions.ACTION_NAME.fullmatch(value)
}


def _spellings(path: Path) -> list[str]:
    """Action names written as a Python string or as a quoted SQL literal inside one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in NAMES and text not in PERMISSION_ROLES:  # some permissions look alike
                found.append(text)
            found.extend(name for name in NAMES if f"'{name}'" in text)
    return found


def test_action_names_are_spelled_only_in_the_vocabulary() -> None:
    spelled = {
        str(path.relative_to(PACKAGE)): _spellings(path)
        for path in PACKAGE.rglob("*.py")
        if path.name != "actions.py" and "migrations" not in path.parts
    }
    assert {path: names for path, names in spelled.items() if names} == {}


def test_the_rollback_triggers_count_what_the_writers_write() -> None:
    from ops_domain.rollback.triggers import chargebacks_stalled, payouts_failed, posting_refusals

    for sql, action in [
        (payouts_failed.PAYOUTS_FAILED_SQL, actions.PAYOUT_FAIL),
        (chargebacks_stalled.CHARGEBACK_REFUSALS_SQL, actions.CHARGEBACK_TRANSITION_REFUSED),
        (posting_refusals.POSTINGS_REFUSED_SQL, actions.JOURNAL_POST_REFUSED),
    ]:
        assert f"a.action = {actions.in_sql(action)}" in sql


def test_sql_takes_only_action_names() -> None:
    assert actions.in_sql(actions.PAYOUT_FAIL) == "'payout.fail'"
    with pytest.raises(ValueError, match="not an audit action name"):
        actions.in_sql("payout.fail' OR true --")


def test_set_based_rows_name_every_audit_column_once() -> None:
    rows = AuditRows(actions.in_sql(actions.CASE_ESCALATE), "case", "moved m", "m.id")
    sql = insert_audit_rows(rows, rows)
    assert sql.startswith(
        "INSERT INTO audit_log"
        " (action, actor_id, target_type, target_id, before, after, details, created_at)"
    )
    assert sql.count("UNION ALL") == 1
    with pytest.raises(ValueError, match="not a target type"):
        AuditRows("'x.y'", "case'; --", "moved m", "m.id").select()


def test_past_changes_are_inserted_in_the_order_they_happened(engine: Engine) -> None:
    changes = "(VALUES (1, timestamptz '2026-01-02Z'), (2, timestamptz '2026-01-01Z')) c (id, at)"
    opened, escalated = (
        AuditRows(
            actions.in_sql(action),
            "case",
            changes,
            "c.id",
            actor_id="CAST(NULL AS bigint)",
            created_at="c.at",
        )
        for action in (actions.CASE_OPEN, actions.CASE_ESCALATE)
    )
    with engine.begin() as conn:
        conn.execute(text(insert_audit_history(opened, escalated)))
        history = conn.execute(
            text(
                "SELECT target_id, action, to_char(created_at AT TIME ZONE 'UTC', 'MM-DD')"
                " FROM audit_log WHERE target_type = 'case' ORDER BY id"
            )
        ).all()
    # by time, then record, then the order the sets are given in (each case opened and
    # escalated at the same instant: not the order of the action names)
    assert [tuple(row) for row in history] == [
        ("2", actions.CASE_OPEN, "01-01"),
        ("2", actions.CASE_ESCALATE, "01-01"),
        ("1", actions.CASE_OPEN, "01-02"),
        ("1", actions.CASE_ESCALATE, "01-02"),
    ]
