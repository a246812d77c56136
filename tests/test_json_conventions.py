"""JSON conventions (docs/json.md): actors are usernames in ``*_by`` keys, ids in ``*_id``."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from ops_domain.db import transaction
from ops_domain.rbac.names import name_actors
from tests.support.factories import Factory


def test_by_keys_become_usernames_and_id_keys_gain_a_named_twin(
    engine: Engine, factory: Factory
) -> None:
    maker, checker = factory.user("mia", "operation"), factory.user("rex", "risk")
    payload = {
        "id": 7,
        "requested_by": maker,
        "decided_by": None,
        "maker_id": maker,
        "nested": [{"closed_by": checker, "checker_id": checker, "amount_by": "n/a"}],
    }
    with transaction(engine) as session:
        named = name_actors(session, payload)

    assert named == {
        "id": 7,
        "requested_by": "mia",
        "decided_by": None,
        "maker_id": maker,
        "maker": "mia",
        "nested": [
            {"closed_by": "rex", "checker_id": checker, "checker": "rex", "amount_by": "n/a"}
        ],
    }


def test_journal_commands_name_their_actors(cli, factory: Factory) -> None:
    maker = factory.user("mia", "finance")
    factory.user("rex", "risk")
    approval_id = factory.journal_approval(maker)

    code, out, err = cli(
        "journals", "reject", "--approval-id", str(approval_id), "--note", "wrong account",
        "--actor-username", "rex", "--json",
    )  # fmt: skip

    rejected = json.loads(out)
    assert (code, err) == (0, "")
    assert (rejected["requested_by"], rejected["decided_by"]) == ("mia", "rex")
