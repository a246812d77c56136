"""The demo cast: who works in the back office, and the merchants the story is about."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import USER_CREATE
from ops_domain.audit.log import audit_row, record_audit_rows
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.rows import rows_param
from ops_domain.rbac.models import Role, User, UserRole


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    roles: tuple[str, ...]
    service_account: bool = False


DEMO_USERS = (
    DemoUser("svc_airflow", "Airflow service account", ("operation", "finance"), True),
    DemoUser("alice", "Alice Finance", ("finance",)),
    DemoUser("oscar", "Oscar Operations", ("operation",)),
    DemoUser("tina", "Tina Treasury", ("treasury",)),
    DemoUser("carl", "Carl Customer Service", ("customer_service",)),
    DemoUser("sam", "Sam Sales", ("sales",)),
    DemoUser("rita", "Rita Risk", ("risk",)),
    DemoUser("adam", "Adam Admin", ("admin",)),
    DemoUser("root_ops", "Root Operations", ("super_admin",)),
)


@dataclass(frozen=True)
class StoryMerchant:
    code: str
    name: str
    currency: str
    status: str
    role: str  # what the merchant is in the story


GROCER, FROZEN, PAYFAIL, SUSPENDED = (
    "DEMO-USD-GROCER",
    "DEMO-USD-FROZEN",
    "DEMO-USD-PAYFAIL",
    "DEMO-USD-SUSPENDED",
)
REFUNDS, CAFE, INACTIVE, TOKO = (
    "DEMO-EUR-REFUNDS",
    "DEMO-EUR-CAFE",
    "DEMO-EUR-INACTIVE",
    "DEMO-IDR-TOKO",
)

STORY_MERCHANTS = (
    StoryMerchant(GROCER, "Sentosa Grocers", "USD", "active", "over the auto-post limit"),
    StoryMerchant(FROZEN, "Harbor Electronics", "USD", "active", "payouts frozen"),
    StoryMerchant(PAYFAIL, "Lumen Travel", "USD", "active", "payout failed"),
    StoryMerchant(SUSPENDED, "Quickpay Kiosk", "USD", "suspended", "suspended"),
    StoryMerchant(REFUNDS, "Atelier Nord", "EUR", "active", "debits exceed credits"),
    StoryMerchant(CAFE, "Cafe Lumiere", "EUR", "active", "late event, payout sent"),
    StoryMerchant(INACTIVE, "Old Town Books", "EUR", "inactive", "inactive"),
    StoryMerchant(TOKO, "Toko Makmur", "IDR", "active", "payout pending"),
)
CURRENCY_OF = {merchant.code: merchant.currency for merchant in STORY_MERCHANTS}


def insert_users(session: Session) -> None:
    """Create the cast with their roles; each creation is audited like ``users add``."""
    users = session.execute(
        insert(User).returning(User.id, User.username),
        [
            {
                "username": user.username,
                "full_name": user.full_name,
                "email": f"{user.username}@demo.wallet-ops.example",
                "is_service_account": user.service_account,
            }
            for user in DEMO_USERS
        ],
        execution_options={"sort_by_parameter_order": True},
    ).all()
    role_ids = dict(session.execute(select(Role.name, Role.id)).all())
    session.execute(
        insert(UserRole),
        [
            {"user_id": user_id, "role_id": role_ids[role]}
            for (user_id, _), user in zip(users, DEMO_USERS, strict=True)
            for role in user.roles
        ],
    )
    record_audit_rows(
        session,
        [
            audit_row(
                actor_id=None,
                action=USER_CREATE,
                target_type="user",
                target_id=user_id,
                after={"username": user.username, "roles": sorted(user.roles)},
            )
            for (user_id, _), user in zip(users, DEMO_USERS, strict=True)
        ],
    )


def insert_story_merchants(session: Session, plan: DemoPlan) -> None:
    session.execute(
        text(
            """
            INSERT INTO merchants (code, name, status, settlement_currency,
                                   destination_account, channel, created_at)
            SELECT m.code, m.name, m.status, m.currency,
                   m.currency || '-STORY-' || lpad(m.n::text, 6, '0'), 'bank_transfer',
                   CAST(:created_at AS timestamptz)
              FROM jsonb_to_recordset(CAST(:merchants AS jsonb))
                   AS m(n int, code text, name text, status text, currency text)
             ORDER BY m.n
            """
        ),
        {
            "created_at": plan.at(-90, 9),
            "merchants": rows_param(
                [
                    {
                        "n": n,
                        "code": m.code,
                        "name": m.name,
                        "status": m.status,
                        "currency": m.currency,
                    }
                    for n, m in enumerate(STORY_MERCHANTS, start=1)
                ]
            ),
        },
    )
