"""Operations Center, Decisions: the checker's queue, each item decided on the page as the
login; the domain's maker-checker rules and roles refuse what they refuse, on the page."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, text

from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS, Settings
from ops_domain.payouts.service import resubmit_payout
from ops_domain.readiness.waivers import request_waiver
from ops_domain.reconciliation.breaks import propose_resolution
from tests.airflow.operations_center.conftest import Center, csrf_of, shown
from tests.support.factories import Factory

RELEASE = "2026.12.06-demo"


@pytest.fixture
def cast(factory: Factory) -> dict[str, int]:
    return {
        "oscar": factory.user("oscar", "operation", "finance", "treasury"),
        "rita": factory.user("rita", "risk"),
        "adam": factory.user("adam", "admin"),
    }


def waiver_by(engine: Engine, factory: Factory, maker: str) -> int:
    alert_id = factory.alert("payout_spike", severity="critical")
    return request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username=maker,
        counter="open_high_alerts",
        item_ids=[alert_id],
        reason="vendor outage",
        expires_at=factory.now() + timedelta(days=2),
        release_id=RELEASE,
    ).id


def status_of(engine: Engine, table: str, row_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text(f"SELECT status FROM {table} WHERE id = :id"), {"id": row_id}
        ).scalar_one()


def decide(center: Center, login: str, path: str, **fields: str) -> httpx.Response:
    client = center.client(login)
    token = csrf_of(client.get("/decisions").text)
    return client.post(f"/decisions/{path}", data={"csrf_token": token, **fields})


def assert_approval_refused(
    center: Center, engine: Engine, login: str, waiver_id: int, note: str, reason: str
) -> httpx.Response:
    """``login``'s approval of the waiver is refused on the page (403) naming ``reason``, and
    the waiver still waits for a checker."""
    answer = decide(center, login, f"waivers/{waiver_id}/approve", note=note)
    assert answer.status_code == 403
    assert reason in shown(answer)
    assert status_of(engine, "readiness_waivers", waiver_id) == "pending"
    return answer


def audit_stamps(engine: Engine, where: str) -> list[tuple[str, str]]:
    """(channel, principal) the database stamped on each audit row matching ``where`` (over
    the row ``a`` and its actor ``u``)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.channel, a.principal FROM audit_log a"
                f" LEFT JOIN users u ON u.id = a.actor_id WHERE {where}"
            )
        )
        return [tuple(row) for row in rows]


def test_the_queue_lists_what_waits_for_a_checker(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "oscar")
    refund_id = factory.refund(cast["oscar"], factory.event(factory.merchant(), "80.00"), "20.00")
    approval_id = factory.journal_approval(cast["oscar"])
    break_id = factory.recon_break(cast["oscar"])
    propose_resolution(engine, break_id=break_id, actor_username="oscar", note="bank fee")
    page = center.client("rita").get("/decisions")
    assert page.status_code == 200
    for row in (
        f"waivers-{waiver_id}",
        f"pending_refunds-{refund_id}",
        f"journals-{approval_id}",
        f"open_recon_breaks-{break_id}",
    ):
        assert f'id="{row}"' in page.text, row


@pytest.mark.parametrize(
    ("queue", "table", "after"),
    [
        ("waivers", "readiness_waivers", "approved"),
        ("refunds", "refund_requests", "approved"),
        ("journals", "journal_approvals", "approved"),
        ("breaks", "reconciliation_breaks", "resolved"),
    ],
)
def test_a_checker_approves_with_a_note_as_their_login(
    center: Center,
    factory: Factory,
    engine: Engine,
    cast: dict[str, int],
    queue: str,
    table: str,
    after: str,
) -> None:
    if queue == "waivers":
        item_id = waiver_by(engine, factory, "oscar")
    elif queue == "refunds":
        item_id = factory.refund(cast["oscar"], factory.event(factory.merchant(), "80.00"), "20")
    elif queue == "journals":
        item_id = factory.journal_approval(cast["oscar"])
    else:
        item_id = factory.recon_break(cast["oscar"])
        propose_resolution(engine, break_id=item_id, actor_username="oscar", note="bank fee")
    answer = decide(center, "rita", f"{queue}/{item_id}/approve", note="checked with finance")
    assert answer.status_code == 303, shown(answer)
    assert status_of(engine, table, item_id) == after
    assert "by rita" in center.client("rita").get(answer.headers["location"]).text
    assert set(audit_stamps(engine, "u.username = 'rita'")) == {("operations_center", "rita")}


def test_a_checker_rejects_with_a_note(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "oscar")
    answer = decide(center, "rita", f"waivers/{waiver_id}/reject", note="not release related")
    assert answer.status_code == 303
    assert status_of(engine, "readiness_waivers", waiver_id) == "rejected"


def test_a_makers_approval_of_their_own_request_is_refused_on_the_page(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "rita")  # risk may request and decide waivers
    reason = "waiver.approve: the checker 'rita' is the maker"
    answer = assert_approval_refused(center, engine, "rita", waiver_id, "mine, fine", reason)
    assert "Refused:" in answer.text
    assert f'id="waivers-{waiver_id}"' in answer.text  # still in the queue
    refusals = audit_stamps(engine, "a.action = 'waiver.approve_refused'")
    assert refusals == [("operations_center", "rita")]


def test_a_maker_role_cannot_decide_and_the_page_names_the_roles_that_can(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    factory.user("tina", "operation")
    waiver_id = waiver_by(engine, factory, "oscar")
    reason = "'tina' may not run waivers approve"
    assert_approval_refused(center, engine, "tina", waiver_id, "ok", reason)


def test_a_decision_without_a_note_is_refused(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "oscar")
    assert_approval_refused(center, engine, "rita", waiver_id, "  ", "needs a note")


def test_payouts_are_sent_settled_or_failed_by_checkers_on_the_page(
    center: Center, factory: Factory, engine: Engine, settings: Settings, cast: dict[str, int]
) -> None:
    factory.user("cash", "treasury")
    payout_id = factory.failed_payout(cast["oscar"])
    resubmit_payout(engine, settings, payout_id=payout_id, actor_username="cash", note="new")
    assert f'id="payouts-{payout_id}"' in center.client("rita").get("/decisions").text
    assert decide(center, "rita", f"payouts/{payout_id}/send", note="go").status_code == 303
    assert status_of(engine, "payouts", payout_id) == "sent"
    failing = decide(center, "adam", f"payouts/{payout_id}/fail", note="bounced", reason="")
    assert failing.status_code == 422
    assert "failing a payout needs a reason" in shown(failing)
    assert status_of(engine, "payouts", payout_id) == "sent"
    failed = decide(
        center, "adam", f"payouts/{payout_id}/fail", note="bounced", reason="closed account"
    )
    assert failed.status_code == 303
    assert status_of(engine, "payouts", payout_id) == "failed"


def test_an_unknown_queue_or_decision_is_not_found(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "oscar")
    assert decide(center, "rita", f"wishes/{waiver_id}/approve", note="x").status_code == 404
    assert decide(center, "rita", f"waivers/{waiver_id}/settle", note="x").status_code == 404
    assert status_of(engine, "readiness_waivers", waiver_id) == "pending"


def test_a_decision_without_the_form_token_changes_nothing(
    center: Center, factory: Factory, engine: Engine, cast: dict[str, int]
) -> None:
    waiver_id = waiver_by(engine, factory, "oscar")
    client = center.client("rita")
    answer = client.post(f"/decisions/waivers/{waiver_id}/approve", data={"note": "ok"})
    assert answer.status_code == 403
    anonymous = center.client(None).post(
        f"/decisions/waivers/{waiver_id}/approve", data={"note": "ok"}
    )
    assert anonymous.status_code == 401
    assert status_of(engine, "readiness_waivers", waiver_id) == "pending"
