"""Runbook checks 1 and 2: migrations at head, RBAC reseeded and verified exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from ops_domain.checks import CheckResult
from ops_domain.schema import head_revision
from tests.support.checks import run_registered
from tests.support.factories import Factory


def check_migrations(engine: Engine) -> CheckResult:
    return run_registered("migrations", engine)


def check_rbac(engine: Engine) -> CheckResult:
    return run_registered("rbac", engine)


@pytest.fixture
def unreachable() -> Iterator[Engine]:
    engine = create_engine(
        "postgresql+psycopg2://ops@127.0.0.1:1/ops", connect_args={"connect_timeout": 2}
    )
    yield engine
    engine.dispose()


@pytest.fixture
def behind_head(engine: Engine) -> Iterator[None]:
    """The database claims an older revision for the length of one test."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_before'"))
    yield
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
        )


def test_migrations_pass_at_head(engine: Engine) -> None:
    check = check_migrations(engine)

    assert (check.name, check.status) == ("migrations", "pass")
    assert check.details == {"current": head_revision(), "head": head_revision()}


@pytest.mark.usefixtures("behind_head")
def test_migrations_fail_when_the_database_is_behind(engine: Engine) -> None:
    check = check_migrations(engine)

    assert check.status == "fail"
    assert check.summary == f"database at 0000_before, code head is {head_revision()}: run migrate"


def test_migrations_error_when_the_database_is_unreachable(unreachable: Engine) -> None:
    check = check_migrations(unreachable)

    assert (check.name, check.status) == ("migrations", "error")
    assert check.summary.startswith("DatabaseUnavailable: database unavailable at 127.0.0.1:1/ops")


def test_rbac_reports_the_drift_it_found_fails_and_the_reseed_repairs_it(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM role_permissions WHERE permission = 'waivers.approve'"
                " AND role_id = (SELECT id FROM roles WHERE name = 'risk')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO role_permissions (role_id, permission)"
                " SELECT id, 'payouts.decide' FROM roles WHERE name = 'sales'"
            )
        )

    check = check_rbac(engine)

    assert check.status == "fail"
    assert check.details["drift_found"] == {
        "missing_roles": [],
        "missing_grants": ["risk:waivers.approve"],
        "extra_grants": ["sales:payouts.decide"],
    }
    assert check.summary == (
        "database had drifted from the matrix (now reseeded):"
        " grant risk:waivers.approve missing, grant sales:payouts.decide extra"
    )
    assert check.details["missing_grants"] == check.details["extra_grants"] == []
    again = check_rbac(engine)
    assert (again.status, again.summary) == ("pass", "matrix matches")


def test_rbac_warns_about_users_holding_maker_and_checker_roles(
    engine: Engine, factory: Factory
) -> None:
    factory.user("dual", "finance", "risk")
    factory.user("plain", "finance")

    check = check_rbac(engine)

    assert check.status == "pass"
    assert check.details["warnings"] == ["user dual holds both a maker and a checker role"]
    assert check.summary.endswith("warning: 1 maker+checker user(s)")


def test_rbac_fails_on_a_role_the_matrix_does_not_declare(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO roles (name) VALUES ('auditor')"))
        conn.execute(
            text(
                "INSERT INTO role_permissions (role_id, permission)"
                " SELECT id, 'payouts.decide' FROM roles WHERE name = 'auditor'"
            )
        )

    check = check_rbac(engine)

    assert check.status == "fail"
    assert check.details["undeclared_roles"] == ["auditor"]
    assert "undeclared role(s): auditor" in check.summary


def test_rbac_errors_when_the_database_is_unreachable(unreachable: Engine) -> None:
    check = check_rbac(unreachable)

    assert (check.name, check.status) == ("rbac", "error")
