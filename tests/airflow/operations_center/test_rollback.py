"""Operations Center, Rollback watch and incidents: the watched release's four triggers with
value, baseline and threshold, the open high alerts, and the emergency actions as forms that
start their DAG as the login through Airflow's REST API with the DAG's own Params."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from ops_domain.config import Settings
from tests.airflow.operations_center.conftest import Center, csrf_of, shown
from tests.support.factories import Factory
from tests.support.releases import release_through_gate

RELEASE = "2026.12.06-demo"


def act(center: Center, login: str, dag_id: str, **fields: str) -> httpx.Response:
    client = center.client(login)
    token = csrf_of(client.get("/rollback").text)
    return client.post(f"/rollback/actions/{dag_id}", data={"csrf_token": token, **fields})


def test_a_watched_release_shows_its_four_triggers_against_the_baseline(
    center: Center, factory: Factory, engine: Engine
) -> None:
    maker = factory.user("oscar", "operation")
    verdict = release_through_gate(engine, RELEASE, actor_username="oscar", now=factory.now())
    assert verdict.released
    for _ in range(6):  # open breaks rise by 6 over a baseline of 0: the spike fires
        factory.recon_break(maker, created_at=factory.now())
    alert_id = factory.alert("payout_spike", severity="high")
    page = center.client("oscar").get("/rollback")
    assert page.status_code == 200
    card = page.text.split(f'id="release-{RELEASE}-production"')[1].split("</table>")[0]
    for trigger in ("recon_break_spike", "payouts_failed", "chargebacks_stalled"):
        assert f'id="trigger-{trigger}"' in card
    spike_row = card.split('id="trigger-recon_break_spike"')[1].split("</tr>")[0]
    assert 'status-firing">firing<' in spike_row
    assert '<td class="num">6</td><td class="num">0</td>' in spike_row
    assert "rise &gt; +5 and &gt; +50%" in spike_row
    payouts_row = card.split('id="trigger-payouts_failed"')[1].split("</tr>")[0]
    assert 'status-ok">ok<' in payouts_row
    assert "&gt; 0 since the release" in payouts_row
    assert f'id="open_high_alerts-{alert_id}"' in page.text


def test_an_emergency_action_starts_its_dag_as_the_login_with_its_params_as_conf(
    center: Center, factory: Factory
) -> None:
    factory.user("rita", "risk")
    answer = act(
        center,
        "rita",
        "emergency_open_incident",
        title="payouts bouncing",
        trigger="manual",
        sla_hours="4",
    )
    assert answer.status_code == 303
    (trigger,) = center.airflow.triggers
    assert trigger["path"] == "/api/v2/dags/emergency_open_incident/dagRuns"
    assert trigger["authorization"].startswith("Bearer ")
    assert trigger["body"]["conf"] == {
        "release_id": None,
        "title": "payouts bouncing",
        "trigger": "manual",
        "sla_hours": 4,
    }
    shown_after = center.client("rita").get(answer.headers["location"]).text
    assert "emergency_open_incident run manual__1 started as rita" in shown_after


def test_every_emergency_dag_has_its_form_on_the_page(center: Center, factory: Factory) -> None:
    from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS

    factory.user("rita", "risk")
    page = center.client("rita").get("/rollback").text
    for dag_id in EMERGENCY_ACTIONS:
        assert f'id="action-{dag_id}"' in page
    backfill = page.split('id="action-emergency_backfill_settlements"')[1].split("</form>")[0]
    assert 'type="date" name="window_start"' in backfill
    assert 'type="checkbox" name="dry_run"' in backfill


def test_what_airflow_refuses_to_start_is_explained_and_an_unknown_action_is_not_found(
    center: Center, factory: Factory
) -> None:
    factory.user("oscar", "operation")
    center.airflow.refuse_with = (400, "Invalid input for param record_rollback")
    refused = act(center, "oscar", "emergency_record_rollback", release_id="", reason="")
    assert refused.status_code == 409
    assert "Airflow refused to start emergency_record_rollback: 400" in shown(refused)
    assert act(center, "oscar", "emergency_drop_tables").status_code == 404


def test_an_emergency_action_needs_the_sessions_form_token(
    center: Center, factory: Factory
) -> None:
    factory.user("rita", "risk")
    answer = center.client("rita").post(
        "/rollback/actions/emergency_freeze_payouts", data={"reason": "x"}
    )
    assert answer.status_code == 403
    assert center.airflow.triggers == []


def test_a_forms_values_become_the_conf_its_params_declare(settings: Settings) -> None:
    from starlette.datastructures import FormData
    from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS
    from wallet_ops_airflow.operations_center.run_forms import conf_of

    reconcile = EMERGENCY_ACTIONS["emergency_targeted_reconciliation"].form(settings)
    form = FormData(
        [
            ("window_start", "2026-12-01"),
            ("window_end", "2026-12-02"),
            ("currency", "USD"),
            ("merchant_code", ""),
            ("statement_path", ""),
            ("statement_totals", "M1:2026-12-01:10.00:1\n\n  M2:2026-12-01:5.00:2  \n"),
            ("dry_run", "on"),
        ]
    )
    assert conf_of(reconcile, form) == {
        "window_start": "2026-12-01",
        "window_end": "2026-12-02",
        "currency": "USD",
        "merchant_code": None,
        "statement_path": None,
        "statement_totals": ["M1:2026-12-01:10.00:1", "M2:2026-12-01:5.00:2"],
        "dry_run": True,
    }
    lift = EMERGENCY_ACTIONS["emergency_lift_payout_freeze"].form(settings)
    assert conf_of(lift, FormData([("freeze_id", "12"), ("note", "back")])) == {
        "freeze_id": 12,
        "note": "back",
    }
    unchecked = conf_of(reconcile, FormData([("window_start", "")]))
    assert unchecked["dry_run"] is False
    assert unchecked["window_start"] == ""  # required: Airflow refuses it, named
