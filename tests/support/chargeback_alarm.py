"""The rollback watch's alarm that tests raise most easily: a chargeback waits for a decision
when a release goes through the gate, then moves of it are refused (the chargebacks_stalled
trigger counts those refusals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ops_domain.disputes.chargebacks import transition_chargeback
from ops_domain.errors import IllegalTransition
from tests.support.factories import Factory
from tests.support.releases import release_through_gate


def chargeback_then_release(
    engine: Engine, factory: Factory, release_id: str, *, released_by: str = "olga"
) -> int:
    """A chargeback due in five days, then ``release_id`` released through the gate by
    ``released_by``; returns the chargeback."""
    chargeback = factory.chargeback(
        factory.merchant(), due_at=datetime.now(UTC) + timedelta(days=5)
    )
    verdict = release_through_gate(
        engine, release_id, actor_username=released_by, now=factory.now()
    )
    assert verdict.released, verdict
    return chargeback


def refuse_chargeback_moves(engine: Engine, chargeback: int, times: int = 3) -> None:
    """``times`` refused moves of the chargeback by rita (open to won is no transition): the
    default three are above the two the trigger tolerates (OPS_ROLLBACK_CHARGEBACK_REFUSALS)."""
    for _ in range(times):
        with pytest.raises(IllegalTransition):
            transition_chargeback(
                engine, chargeback_id=chargeback, to_status="won", actor_username="rita", note="?"
            )
