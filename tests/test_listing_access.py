"""Who may read a list is the domain's rule, whichever adapter asks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InactiveActor, UnknownActor
from ops_domain.listing import UncheckedRead, read_list
from ops_domain.payouts.queries import list_payouts
from tests.support.factories import Factory


def test_a_list_needs_an_active_login_with_read_permission(
    engine: Engine, factory: Factory
) -> None:
    factory.user("auditor", "sales")  # every role may read lists
    factory.user("gone", "sales", active=False)

    assert read_list(engine, list_payouts, actor_username="auditor", what="payouts") == []
    for username, refusal in [
        ("gone", InactiveActor),
        ("stranger", UnknownActor),
    ]:
        with pytest.raises(refusal):
            read_list(engine, list_payouts, actor_username=username, what="payouts")


def test_a_list_reads_in_a_read_only_transaction(engine: Engine, factory: Factory) -> None:
    factory.user("auditor", "sales")

    def writes(session: Session, **_: object) -> list[dict[str, object]]:
        session.execute(text("CREATE TEMP TABLE t (x int)"))
        return []

    with pytest.raises(DBAPIError, match="read-only transaction"):
        read_list(engine, writes, actor_username="auditor", what="anything")


def test_a_list_query_refuses_a_caller_who_skipped_the_check(
    engine: Engine, factory: Factory
) -> None:
    factory.user("auditor", "sales")
    with transaction(engine) as session, pytest.raises(UncheckedRead, match="read_list"):
        list_payouts(session)
    assert read_list(engine, list_payouts, actor_username="auditor", what="payouts") == []
