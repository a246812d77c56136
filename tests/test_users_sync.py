"""users sync: the ops users follow Keycloak (realm roles through KEYCLOAK_ROLE_GROUP_MAP),
read with python-keycloak from a local server replaying admin-API responses."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from ops_domain.rbac.users import add_user
from tests.support.factories import Factory
from tests.test_keycloak_admin_api import FakeKeycloak, keycloak, live_env

__all__ = ["keycloak"]  # the fixture serving the replayed admin API

CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def office(engine: Engine, factory: Factory) -> None:
    """The ops users before the sync (Keycloak, replayed: adam admin; alice finance+treasury;
    carl disabled; nina risk, new; oscar operation; paul operation; rita risk; root_ops
    super_admin; sam sales; viktor has no mapped role)."""
    factory.user("adam", "admin")
    factory.user("alice", "finance")  # gains treasury
    factory.user("carl", "customer_service")  # disabled in Keycloak
    factory.user("gone", "operation")  # left the realm
    factory.user("oscar", "operation")
    factory.user("paul", "operation", active=False)  # back
    factory.user("rita", "risk")
    factory.user("sam", "sales")
    add_user(engine, "svc_airflow", ["operation"], service_account=True)


def users(engine: Engine) -> dict[str, tuple[bool, tuple[str, ...]]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT u.username, u.is_active, coalesce(array_agg(r.name ORDER BY r.name)"
                " FILTER (WHERE r.name IS NOT NULL), '{}') FROM users u"
                " LEFT JOIN user_roles ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id ="
                " ur.role_id GROUP BY u.username, u.is_active"
            )
        ).all()
    return {name: (active, tuple(roles)) for name, active, roles in rows}


def sync(cli: CLI, monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str, str]:
    for name, value in live_env(url).items():
        monkeypatch.setenv(name, value)
    return cli("users", "sync", "--actor-username", "adam", "--json", *args)


@pytest.mark.usefixtures("office")
def test_sync_creates_updates_reactivates_and_deactivates_to_match_the_realm(
    engine: Engine,
    cli: CLI,
    keycloak: tuple[FakeKeycloak, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = users(engine)
    code, out, err = sync(cli, monkeypatch, keycloak[1])

    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {
        "create": 1,
        "set_roles": 1,
        "reactivate": 1,
        "deactivate": 2,
        "skipped": 1,
    }
    after = users(engine)
    assert after["nina"] == (True, ("risk",))
    assert after["alice"] == (True, ("finance", "treasury"))
    assert after["paul"] == (True, ("operation",))
    assert after["carl"][0] is False
    assert after["gone"][0] is False
    assert "root_ops" not in after  # only a super_admin grants super_admin
    assert [c["skipped"] for c in report["changes"] if c["username"] == "root_ops"] == [
        "only a super_admin changes the super_admin root_ops"
    ]
    assert "viktor" not in after
    for unchanged in ("adam", "oscar", "rita", "sam", "svc_airflow"):
        assert after[unchanged] == before[unchanged]
    with engine.begin() as conn:
        audited = conn.execute(
            text(
                "SELECT a.action, a.after->>'username', a.channel FROM audit_log a"
                " JOIN users u ON u.id = a.actor_id"
                " WHERE u.username = 'adam' AND a.details->>'source' = 'keycloak'"
                " ORDER BY a.id"
            )
        ).all()
    assert sorted((action, name) for action, name, _ in audited) == [
        ("user.create", "nina"),
        ("user.deactivate", "carl"),
        ("user.deactivate", "gone"),
        ("user.reactivate", "paul"),
        ("user.set_roles", "alice"),
    ]
    assert {channel for *_, channel in audited} == {"cli"}

    again = sync(cli, monkeypatch, keycloak[1])  # in step now: nothing but the skip is left

    assert json.loads(again[1])["counts"]["skipped"] == 1
    assert users(engine) == after


@pytest.mark.usefixtures("office")
def test_a_dry_run_reports_the_same_plan_and_writes_nothing(
    engine: Engine,
    factory: Factory,
    cli: CLI,
    keycloak: tuple[FakeKeycloak, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checksums = factory.table_checksums()

    code, out, _ = sync(cli, monkeypatch, keycloak[1], "--dry-run")

    assert code == 0
    assert json.loads(out)["counts"]["deactivate"] == 2
    assert factory.table_checksums() == checksums


@pytest.mark.usefixtures("office")
def test_only_an_administrator_syncs_and_a_bad_map_is_refused_before_keycloak_is_asked(
    engine: Engine,
    cli: CLI,
    keycloak: tuple[FakeKeycloak, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in live_env(keycloak[1]).items():
        monkeypatch.setenv(name, value)
    before = users(engine)

    code, _, err = cli("users", "sync", "--actor-username", "oscar")
    assert code == 2
    assert "'oscar' may not run users sync" in err

    monkeypatch.setenv("KEYCLOAK_ROLE_GROUP_MAP", "ops-admin:chief")
    requests_before = len(keycloak[0].requests)
    code, _, err = cli("users", "sync", "--actor-username", "adam")
    assert code == 2
    assert "unknown ops role 'chief'" in err
    assert len(keycloak[0].requests) == requests_before
    assert users(engine) == before


def test_an_unreachable_keycloak_is_an_infrastructure_error(
    engine: Engine, factory: Factory, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.user("adam", "admin")
    for name, value in live_env("http://127.0.0.1:1").items():
        monkeypatch.setenv(name, value)

    code, _, err = cli("users", "sync", "--actor-username", "adam")

    assert code == 3
    assert "Keycloak admin API at http://127.0.0.1:1/" in err
