"""Operations Center, Release readiness page and what every page shares: Airflow's login is
required, the login acts as its own ops user on the operations_center channel, every write
needs the session's form token from our own origin, and refusals are shown on the page."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from ops_domain.checks import CheckResult
from ops_domain.config import Settings
from ops_domain.principal import AIRFLOW, Principal, acting_as
from ops_domain.readiness.gate import record_gate_verdict
from ops_domain.readiness.snapshot import GateEvidence
from tests.airflow.operations_center.conftest import (
    Center,
    RecordedAirflow,
    csrf_of,
    mint_token,
    shown,
)
from tests.support.factories import Factory

RELEASE = "2026.12.06-demo"
PAGE = f"/readiness?release_id={RELEASE}&environment=production"


def waiver_form(page: str, alert_id: int, **overrides: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "release_id": RELEASE,
        "environment": "production",
        "counter": "open_high_alerts",
        "item_id": str(alert_id),
        "reason": "vendor outage, tracked in INC-7",
        "days": "3",
        **overrides,
    }


def submit_waiver(client: TestClient, alert_id: int, **overrides: str) -> httpx.Response:
    """The readiness page's waiver form, filled in for ``alert_id`` and submitted."""
    page = client.get(PAGE).text
    return client.post("/readiness/waivers", data=waiver_form(page, alert_id, **overrides))


def trigger_gate(client: TestClient) -> httpx.Response:
    """The readiness page's gate started for the release in production."""
    page = client.get(PAGE).text
    form = {"csrf_token": csrf_of(page), "release_id": RELEASE, "environment": "production"}
    return client.post("/readiness/trigger", data=form)


def waivers(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT counter, item_ids, status, release_id FROM readiness_waivers")
        ).all()


def test_a_page_without_an_airflow_login_sends_to_airflows_login(center: Center) -> None:
    anonymous = center.client(None)
    page = anonymous.get("/readiness")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    forged = center.client(None)
    forged.cookies.set("_token", "not-a-jwt")
    assert forged.get("/readiness").status_code == 303
    assert anonymous.post("/readiness/waivers", data={}).status_code == 401


def test_a_bearer_token_authenticates_like_the_session_cookie(
    center: Center, factory: Factory
) -> None:
    factory.user("oscar", "operation")
    client = center.client(None)
    page = client.get("/readiness", headers={"Authorization": f"Bearer {mint_token('oscar')}"})
    assert page.status_code == 200
    assert 'id="login">oscar<' in page.text


def test_a_login_without_an_ops_user_is_refused_on_the_page(
    center: Center, factory: Factory
) -> None:
    page = center.client("admin").get("/readiness")
    assert page.status_code == 403
    assert "'admin' does not exist" in shown(page)


def test_the_page_shows_verdicts_linked_to_their_run_counters_items_and_waivers(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    alert_id = factory.alert("payout_spike", severity="critical")
    checks = [
        CheckResult(name, "fail" if name == "open_high_alerts" else "pass", f"{name} summary")
        for name in ("pending_refunds", "failed_payouts", "open_recon_breaks", "open_high_alerts")
    ]
    with acting_as(Principal(AIRFLOW, "oscar", "manual__2026-12-06T08:00:00")):
        record_gate_verdict(
            engine,
            actor_username="oscar",
            release_id=RELEASE,
            environment="production",
            checks=checks,
            evidence=GateEvidence(),
            now=factory.now(),
        )
    page = center.client("oscar").get(PAGE)
    assert page.status_code == 200
    assert (
        'href="/dags/release_readiness/runs/manual__2026-12-06T08:00:00" target="_top"' in page.text
    )
    assert "not_ready" in page.text
    assert "open_high_alerts summary" in page.text
    counter = page.text.split('id="counter-open_high_alerts"')[1].split("</tr>")[0]
    assert f'id="item-open_high_alerts-{alert_id}"' in counter
    assert "payout_spike: payout_spike alert" in counter


def test_a_maker_requests_a_waiver_of_a_blocking_item_as_their_login(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    alert_id = factory.alert("payout_spike", severity="critical")
    client = center.client("oscar")
    answer = submit_waiver(client, alert_id)
    assert answer.status_code == 303, answer.text
    assert waivers(engine) == [("open_high_alerts", [alert_id], "pending", RELEASE)]
    shown = client.get(answer.headers["location"])
    assert "requested by oscar" in shown.text
    assert 'id="waiver-' in shown.text
    with engine.connect() as conn:
        audit = conn.execute(
            text(
                "SELECT u.username, a.channel, a.principal, a.principal_ref FROM audit_log a"
                " JOIN users u ON u.id = a.actor_id WHERE a.action = 'waiver.request'"
            )
        ).one()
    assert tuple(audit) == ("oscar", "operations_center", "oscar", "POST /readiness/waivers")


def test_a_write_without_the_sessions_form_token_changes_nothing(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    factory.user("tina", "operation")
    alert_id = factory.alert("payout_spike", severity="critical")
    oscar = center.client("oscar")
    page = oscar.get(PAGE).text
    tinas_page = center.client("tina").get(PAGE).text
    missing = waiver_form(page, alert_id)
    del missing["csrf_token"]
    for form, headers in (
        (missing, {}),
        (waiver_form(page, alert_id, csrf_token="0" * 64), {}),
        (waiver_form(tinas_page, alert_id), {}),
        (waiver_form(page, alert_id), {"Origin": "https://attacker.example"}),
    ):
        answer = oscar.post("/readiness/waivers", data=form, headers=headers)
        assert answer.status_code == 403, form
    assert waivers(engine) == []
    same_origin = oscar.post(
        "/readiness/waivers",
        data=waiver_form(page, alert_id),
        headers={"Origin": "http://testserver"},
    )
    assert same_origin.status_code == 303


def test_a_login_whose_roles_may_not_request_a_waiver_is_refused_on_the_page(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("sam", "sales")
    alert_id = factory.alert("payout_spike", severity="critical")
    answer = submit_waiver(center.client("sam"), alert_id)
    assert answer.status_code == 403
    assert "Refused:" in answer.text
    assert "'sam' may not run waivers request" in shown(answer)
    assert waivers(engine) == []


def test_a_waiver_the_domain_refuses_is_explained_and_nothing_is_stored(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    alert_id = factory.alert("payout_spike", severity="low")  # low alerts never block
    client = center.client("oscar")
    answer = submit_waiver(client, alert_id)
    assert answer.status_code == 422
    assert "do not count toward open_high_alerts" in shown(answer)
    bad_days = submit_waiver(client, alert_id, days="x")
    assert bad_days.status_code == 422
    assert "days must be a whole number" in shown(bad_days)
    assert waivers(engine) == []


def test_the_gate_is_triggered_through_airflows_api_with_the_logins_own_token(
    center: Center, factory: Factory
) -> None:
    factory.user("oscar", "operation")
    client = center.client("oscar")
    answer = trigger_gate(client)
    assert answer.status_code == 303
    assert center.airflow.triggers == [
        {
            "path": "/api/v2/dags/release_readiness/dagRuns",
            "authorization": f"Bearer {client.cookies.get('_token')}",
            "body": {
                "logical_date": None,
                "conf": {"release_id": RELEASE, "environment": "production"},
            },
        }
    ]
    assert (
        "release_readiness run manual__1 started as oscar"
        in client.get(answer.headers["location"]).text
    )


def test_a_trigger_airflow_refuses_is_explained_on_the_page(
    center: Center, factory: Factory
) -> None:
    factory.user("oscar", "operation")
    center.airflow.refuse_with = (403, "Forbidden")
    client = center.client("oscar")
    answer = trigger_gate(client)
    assert answer.status_code == 409
    assert "Airflow refused to start release_readiness: 403 Forbidden" in answer.text


def test_a_forged_notice_is_not_shown(center: Center, factory: Factory) -> None:
    factory.user("oscar", "operation")
    page = center.client("oscar").get(f"{PAGE}&notice=payouts+all+settled")
    assert page.status_code == 200
    assert "payouts all settled" not in page.text


def test_reads_follow_the_permission_matrix(
    center: Center, factory: Factory, engine: Engine
) -> None:
    """A login whose ops user holds no role may not read the lists a page is made of; a
    sales login may read them (reports.view) but not act."""
    nobody = factory.user("nobody", "sales")
    with engine.begin() as conn:  # every role taken away
        conn.execute(text("DELETE FROM user_roles WHERE user_id = :id"), {"id": nobody})
    factory.user("sam", "sales")
    refused = center.client("nobody").get(PAGE)
    assert refused.status_code == 403
    assert "'nobody' may not run releases list" in shown(refused)
    for page in ("/readiness", "/decisions", "/payouts", "/rollback", "/charts"):
        assert center.client("nobody").get(page).status_code == 403, page
        assert center.client("sam").get(page).status_code == 200, page


def test_each_blocking_item_links_to_the_page_that_lists_it(
    center: Center, factory: Factory
) -> None:
    maker = factory.user("oscar", "operation")
    payout_id = factory.failed_payout(maker)
    alert_id = factory.alert("payout_spike", severity="critical")
    page = center.client("oscar").get(PAGE).text
    assert f'href="/payouts?status=failed#failed_payouts-{payout_id}"' in page
    assert f'href="/rollback#open_high_alerts-{alert_id}"' in page
    listed = center.client("oscar").get("/payouts?status=failed").text
    assert f'id="failed_payouts-{payout_id}"' in listed


def test_a_lost_ops_database_is_a_503_page_that_says_so(
    auth_manager: None, settings: Settings
) -> None:
    from wallet_ops_airflow.operations_center.application import create_app

    from ops_domain.db import create_ops_engine
    from ops_domain.errors import DatabaseUnavailable

    def lost() -> Engine:
        return create_ops_engine("postgresql+psycopg2://nobody@/ops?host=/nonexistent")

    center = Center(create_app(lost, settings), RecordedAirflow())
    with pytest.raises(DatabaseUnavailable):
        lost()
    page = center.client("oscar").get(PAGE)
    assert page.status_code == 503
    assert "database unavailable" in shown(page)
