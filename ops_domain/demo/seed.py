"""``seed_demo``: load the deterministic demo back office into the business database.

Same seed + same business date + same scale => the same business content, reference numbers
included (the seed starts from an empty, locked database and restarts its sequences). The
whole load is one transaction: it lands completely or not at all.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import DEMO_SEED
from ops_domain.audit.log import record_audit
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.demo.cast import insert_story_merchants, insert_users
from ops_domain.demo.disputes import insert_disputes
from ops_domain.demo.history import pay_out_history, settle_history
from ops_domain.demo.ledger import insert_ledger
from ops_domain.demo.oversight import insert_oversight
from ops_domain.demo.plan import DEMO_CURRENCIES, DemoPlan
from ops_domain.demo.reset import claim_empty_database, require_reset_allowed
from ops_domain.demo.rows import lookup
from ops_domain.demo.story import insert_story_events, payout_outcomes
from ops_domain.demo.summary import DemoSummary, describe
from ops_domain.demo.trail import record_seed_trail
from ops_domain.demo.volume import insert_volume_events, insert_volume_merchants
from ops_domain.errors import InvalidInput
from ops_domain.rbac.models import Role, User
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.schema import upgrade_to_head

DEMO_ACTOR = "root_ops"


def seed_demo(
    engine: Engine,
    settings: Settings,
    *,
    scale: str = "small",
    seed: int = 1,
    business_date: date,
    reset: bool = False,
) -> DemoSummary:
    """Seed the demo into an empty business database (or wipe it first with ``reset``).

    Refuses, changing nothing, when: the scale or seed is invalid, a demo currency is not
    enabled, the database holds business rows and ``reset`` is not given, or ``reset`` is
    asked for on a database that is not the embedded development one (without opt-in).
    """
    plan = DemoPlan.build(scale, seed, business_date)
    missing = sorted(set(DEMO_CURRENCIES) - settings.enabled_currencies)
    if missing:
        raise InvalidInput(
            f"the demo uses {', '.join(DEMO_CURRENCIES)}; enable {', '.join(missing)}"
            " (OPS_ENABLED_CURRENCIES=USD,EUR,IDR)"
        )
    if reset:
        require_reset_allowed(engine, settings)
    started = time.monotonic()
    schema_before, _ = upgrade_to_head(engine)
    seed_rbac(engine)
    with transaction(engine) as session:
        session.execute(text("SET LOCAL TimeZone = 'UTC'"))
        claim_empty_database(session, reset=reset)
        _load(session, plan, settings)
    summary = DemoSummary(
        scale=plan.scale.name,
        seed=plan.seed,
        business_date=plan.business_date,
        as_of=plan.as_of,
        window=plan.window,
        schema_before=schema_before,
        seconds=time.monotonic() - started,
    )
    with transaction(engine) as session:
        return describe(session, summary, plan, settings)


def _load(session: Session, plan: DemoPlan, settings: Settings) -> None:
    insert_users(session)
    users = lookup(session, User.id, User.username)
    roles = lookup(session, Role.id, Role.name)
    insert_story_merchants(session, plan)
    insert_volume_merchants(session, plan)
    merchants = dict(
        session.execute(text("SELECT code, id FROM merchants WHERE code LIKE 'DEMO-%'")).all()
    )
    events = insert_story_events(session, plan, merchants, late=False)
    settle_history(session, plan, settings, payout_outcomes(plan))
    insert_volume_events(session, plan)
    pay_out_history(session, settings, payout_outcomes(plan))
    insert_story_events(session, plan, merchants, late=True)
    ids = insert_disputes(
        session,
        plan,
        users=users,
        roles=roles,
        merchants=merchants,
        events=events,
        refund_sla_hours=settings.refund_sla_hours,
    )
    insert_oversight(
        session,
        plan,
        users=users,
        merchants=merchants,
        stuck_chargeback=ids.stuck_chargeback,
        closed_case=ids.closed_case,
    )
    insert_ledger(session, plan, users)
    record_seed_trail(session)
    record_audit(
        session,
        actor_id=users[DEMO_ACTOR],
        action=DEMO_SEED,
        target_type="database",
        target_id="ops",
        after=_parameters(plan),
    )
    session.execute(text("ANALYZE cashflow_events, settlements, payouts, merchants, audit_log"))


def _parameters(plan: DemoPlan) -> dict[str, Any]:
    return {
        "scale": plan.scale.name,
        "seed": plan.seed,
        "business_date": plan.business_date,
        "volume_merchants": plan.scale.merchants,
        "volume_events": plan.scale.volume_events,
    }
