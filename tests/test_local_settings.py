"""One local configuration: what the local stack stored under var/ is the default of a CLI in a
plain shell on the embedded server; a variable set in the shell wins, and a configured
database never sees the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_domain.config import Settings, process_environment, write_local_settings
from ops_domain.errors import InvalidInput


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OPS_DATABASE_URL", "OPS_ENABLED_CURRENCIES", "OPS_AUDIT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPS_VAR_DIR", str(tmp_path))
    write_local_settings(
        tmp_path,
        {"OPS_ENABLED_CURRENCIES": "USD,EUR,IDR", "KEYCLOAK_SCOPES": "openid profile email"},
    )
    return tmp_path


def test_the_stacks_currencies_are_the_shells_defaults(shell: Path) -> None:
    assert Settings.from_env().enabled_currencies == {"USD", "EUR", "IDR"}
    assert process_environment()["KEYCLOAK_SCOPES"] == "openid profile email"


def test_a_variable_set_in_the_shell_wins(shell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_ENABLED_CURRENCIES", "USD")

    assert Settings.from_env().enabled_currencies == {"USD"}


def test_a_configured_database_ignores_the_local_file(
    shell: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_DATABASE_URL", "postgresql://ops@db.internal/ops")

    assert Settings.from_env().enabled_currencies == {"USD"}
    assert "KEYCLOAK_SCOPES" not in process_environment()


def test_explicit_settings_never_read_the_file(shell: Path) -> None:
    assert Settings.from_env({}).enabled_currencies == {"USD"}


def test_the_release_checks_settings_come_from_the_local_file_too(shell: Path) -> None:
    """The Keycloak check reads ``Settings.keycloak``, never the environment: the stored
    realm settings reach it exactly as they reach the shell."""
    assert Settings.from_env().keycloak == {"KEYCLOAK_SCOPES": "openid profile email"}


def test_every_setting_is_read_once_into_its_typed_field() -> None:
    settings = Settings.from_env(
        {
            "OPS_DB_ISOLATION_STRICT": "off",
            "OPS_METRICS_TOKEN": " t0ken ",
            "OPS_ROLLBACK_WATCH_HOURS": "6",
            "OPS_AUTO_FREEZE_ON_ROLLBACK": "yes",
            "OPS_WAIVER_MAX_DAYS": "3",
            "OPS_RELEASE_ID": "2026.12.06-1",
            "OPS_SETTLEMENT_START_DATE": "2026-10-01",
            "OPS_OWNER_DATABASE_URL": "postgresql://owner@db/ops",
        }
    )

    assert (settings.db_isolation_strict, settings.metrics_token) == (False, "t0ken")
    assert (settings.rollback.watch_hours, settings.rollback.auto_freeze) == (6, True)
    assert (settings.waiver_max_days, settings.release_id) == (3, "2026.12.06-1")
    assert settings.settlement_start_date.isoformat() == "2026-10-01"
    assert settings.owner_database_url == "postgresql://owner@db/ops"
    assert "t0ken" not in repr(settings)
    assert "owner@db" not in repr(settings)
    assert Settings.from_env({}).db_isolation_strict  # strict unless turned off


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("OPS_DB_ISOLATION_STRICT", "maybe", "OPS_DB_ISOLATION_STRICT must be true or false"),
        ("OPS_SETTLEMENT_START_DATE", "01/11/2026", "OPS_SETTLEMENT_START_DATE must be a date"),
        ("OPS_ROLLBACK_BREAKS_ABS", "many", "OPS_ROLLBACK_BREAKS_ABS must be a whole number"),
    ],
)
def test_a_malformed_setting_is_refused_in_one_line_naming_it(
    name: str, raw: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        Settings.from_env({name: raw})
    assert "\n" not in str(refused.value)
