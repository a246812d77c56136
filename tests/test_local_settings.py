"""One local configuration: what the local stack stored under var/ is the default of a CLI in a
plain shell on the embedded server; a variable set in the shell wins, and a configured
database never sees the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_domain.config import Settings, process_environment, write_local_settings


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
