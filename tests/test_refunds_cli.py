"""The ``refunds`` commands: one-line refusals with exit 2, ``--json`` of the refund."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]


def test_request_approve_and_execute_through_the_cli(cli: Cli, factory: Factory) -> None:
    factory.user("cs", "customer_service")
    factory.user("risky", "risk")
    factory.user("cash", "treasury")
    event = factory.event(factory.merchant("SHOP"), "640.00")
    request = ("refunds", "request", "--actor-username", "cs", "--source-event-id", str(event))
    request += ("--reason", "never arrived", "--customer-ref", "CUST-4410")
    before = factory.table_checksums()

    code, out, err = cli(*request, "--amount", "640.01")
    assert (code, out) == (2, "")
    assert err == (
        "error: refund of 640.01 USD exceeds what is left to refund on event"
        f" #{event}: 640.00 of 640.00\n"
    )
    assert factory.table_checksums() == before

    code, out, err = cli(*request, "--amount", "600.00", "--json")
    assert (code, err) == (0, "")
    refund = json.loads(out)
    assert (refund["amount"], refund["status"]) == ("600.00", "pending")
    requested = datetime.fromisoformat(refund["created_at"])
    assert datetime.fromisoformat(refund["sla_due_at"]) - requested == timedelta(hours=48)
    refund_id = str(refund["id"])

    code, out, err = cli(
        "refunds", "approve", "--actor-username", "cs", "--refund-id", refund_id, "--note", "ok"
    )
    assert (code, out) == (2, "")
    assert err == (
        "error: actor 'cs' may not run refunds approve: it needs one of the roles"
        " admin, risk, super_admin\n"
    )

    code, out, _ = cli(
        "refunds", "approve", "--actor-username", "risky", "--refund-id", refund_id,
        "--note", "courier confirmed loss",
    )  # fmt: skip
    assert code == 0
    assert out.startswith(f"refund {refund['refund_no']} (#{refund_id}): 600.00 USD approved")

    code, out, _ = cli(
        "refunds", "execute", "--actor-username", "cash", "--refund-id", refund_id,
        "--note", "wire WT-5512", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["status"] == "executed"
    assert factory.audit_actions("refund.") == [
        "refund.request",
        "refund.approve",
        "refund.execute",
    ]
