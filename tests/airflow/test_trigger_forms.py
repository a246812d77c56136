"""Trigger forms refuse bad input before a run exists, or make it impossible; what a
per-field schema cannot express, the first task refuses in one line."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.airflow.support import dag_bag, run_dag
from tests.support.factories import Factory

pytestmark = pytest.mark.airflow

ACTION_FORMS = {
    "emergency_freeze_payouts": ({"reason"}, {"merchant_code"}),
    "emergency_lift_payout_freeze": ({"freeze_id", "note"}, set()),
    "emergency_open_incident": (set(), {"release_id", "title", "trigger", "sla_hours"}),
    "emergency_targeted_reconciliation": (
        {"window_start", "window_end"},
        {"currency", "merchant_code", "statement_path", "statement_totals", "dry_run"},
    ),
    "emergency_backfill_settlements": (
        {"window_start", "window_end"},
        {"currency", "create_payouts", "dry_run"},
    ),
    "emergency_record_rollback": ({"release_id", "reason"}, {"environment"}),
    "readiness_waiver_request": (
        {"release_id", "reason", "item_ids"},
        {"environment", "counter", "valid_days"},
    ),
    "readiness_waiver_decision": ({"waiver_id", "note"}, {"decision"}),
}


def must_be_given(param: Any) -> bool:
    """No default to fall back on, and null is not a value."""
    types = param.schema.get("type")
    nullable = "null" in types if isinstance(types, list) else types == "null"
    return not nullable and not param.has_value


@pytest.mark.parametrize("dag_id", sorted(ACTION_FORMS))
def test_each_manual_action_asks_only_for_its_own_fields_the_right_ones_required(
    dag_id: str,
) -> None:
    required, optional = ACTION_FORMS[dag_id]
    params = dag_bag().dags[dag_id].params

    assert set(params) == required | optional
    assert {name for name in params if must_be_given(params.get_param(name))} == required


def test_no_dropdown_offers_null_and_every_count_is_a_dropdown() -> None:
    for dag_id, dag in dag_bag().dags.items():
        for name in dag.params:
            schema = dag.params.get_param(name).schema
            assert None not in schema.get("enum", []), (dag_id, name)
            if schema.get("type") == "integer" and not name.endswith("_id"):
                assert schema.get("enum"), (dag_id, name)


@pytest.mark.parametrize(
    ("dag_id", "conf", "complaint"),
    [
        # a date the form could not parse arrives as null: refused, not "the default day"
        ("settlement_automation", {"business_date": None}, "None is not of type 'string'"),
        ("settlement_automation", {"lookback_days": 99}, "99 is not one of"),
        ("settlement_automation", {"shards": 0}, "0 is not one of"),
        ("settlement_automation", {"currency": None}, "None is not of type"),
        ("release_readiness", {"release_id": "   "}, "does not match"),
        ("release_readiness", {"release_id": " 2026.11.24-1"}, "does not match"),
        ("emergency_freeze_payouts", {"reason": " "}, "does not match"),
        ("emergency_freeze_payouts", {}, "No value passed"),
        ("emergency_lift_payout_freeze", {"note": "ok"}, "No value passed"),
        ("emergency_backfill_settlements", {"window_start": "2026-11-01"}, "No value passed"),
        ("emergency_backfill_settlements", {"window_start": None}, "is not of type 'string'"),
        ("emergency_open_incident", {"release_id": "r1", "trigger": None}, "None is not of type"),
        ("emergency_open_incident", {"release_id": "r1", "sla_hours": 0}, "0 is not one of"),
        (
            "readiness_waiver_request",
            {"release_id": "r", "reason": "x", "item_ids": "1,x"},
            "does not match",
        ),
    ],
)
def test_bad_input_is_refused_at_trigger_time(
    airflow_db: dict[str, str], dag_id: str, conf: dict[str, object], complaint: str
) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=complaint):
        run_dag(dag_id, conf, login="olga")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("conf", "reason"),
    [
        (
            {"window_start": "2026-11-20", "window_end": "2026-11-01"},
            "refused: window_end 2026-11-01 is before window_start 2026-11-20",
        ),
        (
            {"window_start": "2026-11-01", "window_end": "2026-11-02"},
            "refused: give the statement as statement_path or statement_totals, not both",
        ),
    ],
)
def test_what_the_schema_cannot_see_the_first_task_refuses_in_one_line(
    airflow_db: dict[str, str],
    engine: Engine,
    factory: Factory,
    capfd: pytest.CaptureFixture[str],
    conf: dict[str, object],
    reason: str,
) -> None:
    factory.user("rita", "risk", "finance")
    before = factory.table_checksums()

    run = run_dag("emergency_targeted_reconciliation", conf, login="rita")

    assert run.tasks == {"authorise_run": "success", "act": "failed"}
    output = capfd.readouterr()
    assert reason in output.out + output.err
    assert "Task failed with exception" not in output.out + output.err
    assert factory.table_checksums() == before
