"""Operations Center, Payouts and freezes: one login sets a freeze, another (a checker) lifts
it; the setter cannot lift their own; payouts are listed by status."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.airflow.operations_center.conftest import Center, csrf_of, shown
from tests.support.factories import Factory


def post(center: Center, login: str, path: str, **fields: str) -> httpx.Response:
    client = center.client(login)
    token = csrf_of(client.get("/payouts").text)
    return client.post(path, data={"csrf_token": token, **fields})


def freezes(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT setter.username, lifter.username FROM payout_freezes f"
                " JOIN users setter ON setter.id = f.set_by"
                " LEFT JOIN users lifter ON lifter.id = f.lifted_by ORDER BY f.id"
            )
        ).all()


def test_a_freeze_is_set_by_one_login_and_lifted_by_another(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    factory.user("rita", "risk")
    factory.user("adam", "admin")
    set_ = post(center, "rita", "/payouts/freezes", reason="card network incident")
    assert set_.status_code == 303
    page = center.client("oscar").get(set_.headers["location"])
    assert "set by rita" in page.text
    freeze_id = int(page.text.split('id="freeze-')[1].split('"')[0])

    own = post(center, "rita", f"/payouts/freezes/{freeze_id}/lift", note="over")
    assert own.status_code == 403
    assert "Refused:" in own.text
    maker = post(center, "oscar", f"/payouts/freezes/{freeze_id}/lift", note="over")
    assert maker.status_code == 403
    assert "'oscar' may not run payouts lift-freeze" in shown(maker)
    assert freezes(engine) == [("rita", None)]

    lifted = post(center, "adam", f"/payouts/freezes/{freeze_id}/lift", note="network is back")
    assert lifted.status_code == 303
    assert freezes(engine) == [("rita", "adam")]
    after = center.client("adam").get("/payouts").text
    assert f'id="lifted-{freeze_id}"' in after
    assert f'id="freeze-{freeze_id}"' not in after


def test_a_freeze_without_a_reason_or_for_an_unknown_merchant_is_refused(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("rita", "risk")
    blank = post(center, "rita", "/payouts/freezes", reason=" ")
    assert blank.status_code == 422
    assert "a payout freeze needs a reason" in shown(blank)
    unknown = post(center, "rita", "/payouts/freezes", reason="x", merchant_code="NOPE")
    assert unknown.status_code == 404
    assert freezes(engine) == []


def test_a_freeze_needs_the_sessions_form_token(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("rita", "risk")
    answer = center.client("rita").post("/payouts/freezes", data={"reason": "x"})
    assert answer.status_code == 403
    assert freezes(engine) == []


def test_payouts_are_listed_by_status_with_totals(
    center: Center, factory: Factory, engine: Engine
) -> None:
    maker = factory.user("oscar", "operation")
    payout_id = factory.failed_payout(maker, amount="50.00")
    client = center.client("oscar")
    failed = client.get("/payouts?status=failed")
    assert failed.status_code == 200
    assert f'id="failed_payouts-{payout_id}"' in failed.text
    assert "50.00" in failed.text
    assert f'id="failed_payouts-{payout_id}"' not in client.get("/payouts?status=sent").text
    bogus = client.get("/payouts?status=lost")
    assert bogus.status_code == 422
    assert "status must be one of" in shown(bogus)
