"""The live path: python-keycloak's real client against a local server replaying recorded
Keycloak admin-API responses (token endpoint, realm, clients, roles, flows, configs)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ops_domain.checks import CheckResult
from ops_domain.config import Settings
from ops_domain.errors import KeycloakUnavailable
from ops_domain.readiness.keycloak import (
    HardeningReport,
    check_keycloak_hardening,
    parse_settings,
)
from tests.support.checks import run_registered
from tests.test_keycloak_hardening import GOOD_ENV

RECORDED = Path(__file__).parent / "fixtures" / "keycloak" / "admin-api"
ADMIN_CLIENT = "wallet-ops-checker"
ADMIN_SECRET = "s3cr3t-admin-client-secret"
ACCESS_TOKEN = json.loads((RECORDED / "token.json").read_text())["access_token"]
REALM_PREFIX = "/admin/realms/wallet-ops"


class FakeKeycloak:
    """Serves the recorded responses; tests edit ``responses`` to play a weaker realm."""

    def __init__(self) -> None:
        self.responses: dict[str, Any] = {
            path.stem: json.loads(path.read_text()) for path in RECORDED.glob("*.json")
        }
        self.requests: list[tuple[str, str]] = []
        self.token_form: dict[str, list[str]] = {}

    def route(self, method: str, path: str, body: bytes, auth: str) -> tuple[int, Any]:
        self.requests.append((method, path))
        if method == "POST" and path == "/realms/wallet-ops/protocol/openid-connect/token":
            self.token_form = urllib.parse.parse_qs(body.decode())
            form = {key: values[0] for key, values in self.token_form.items()}
            if form.get("client_id") == ADMIN_CLIENT and form.get("client_secret") == ADMIN_SECRET:
                return 200, self.responses["token"]
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Invalid client or Invalid client credentials",
            }
        if auth != f"Bearer {ACCESS_TOKEN}":
            return 401, {"error": "HTTP 401 Unauthorized"}
        return self._admin_get(path.removeprefix(REALM_PREFIX))

    def _admin_get(self, path: str) -> tuple[int, Any]:
        responses = self.responses
        parts = path.strip("/").split("/") if path.strip("/") else []
        simple = {
            (): "realm",
            ("clients",): "clients",
            ("roles",): "roles",
            ("authentication", "required-actions"): "required-actions",
            ("authentication", "flows"): "flows",
        }
        if tuple(parts) in simple:
            return 200, responses[simple[tuple(parts)]]
        if parts == ["users"]:
            return 200, responses["users"]
        if (
            len(parts) == 5
            and parts[0] == "users"
            and parts[2:] == ["role-mappings", "realm", "composite"]
        ):
            return 200, responses["user-realm-roles-composite"].get(parts[1], [])
        if len(parts) == 3 and parts[0] == "roles" and parts[2] == "composites":
            return 200, responses["role-composites"].get(parts[1], [])
        if (
            len(parts) == 4
            and parts[:2] == ["authentication", "flows"]
            and parts[3] == "executions"
        ) and parts[2] == responses["realm"]["browserFlow"]:
            return 200, responses["browser-flow-executions"]
        if len(parts) == 3 and parts[:2] == ["authentication", "config"]:
            config = responses["authenticator-configs"].get(parts[2])
            if config is not None:
                return 200, config
        return 404, {"error": "Could not find resource"}


@pytest.fixture
def keycloak() -> Iterator[tuple[FakeKeycloak, str]]:
    fake = FakeKeycloak()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = urllib.parse.parse_qs(url.query)
            status, payload = fake.route(
                method,
                urllib.parse.unquote(url.path),
                body,
                self.headers.get("Authorization", ""),
            )
            if query.get("first", ["0"])[0] != "0":
                payload = []  # python-keycloak pages through role lists until a page is short
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # python-keycloak keeps connections alive; never wait on them
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def gate_check(env: dict[str, str]) -> CheckResult:
    """The registered hardening check over ``env``'s settings, as the gate runs it."""
    return run_registered("keycloak_hardening", settings=Settings.from_env(env))


def live_env(admin_url: str, **changes: str) -> dict[str, str]:
    return {
        **GOOD_ENV,
        "KEYCLOAK_ADMIN_URL": admin_url,
        "KEYCLOAK_ADMIN_CLIENT_ID": ADMIN_CLIENT,
        "KEYCLOAK_ADMIN_CLIENT_SECRET": ADMIN_SECRET,
        **changes,
    }


def test_live_admin_api_of_the_hardened_realm_passes_through_python_keycloak(
    keycloak: tuple[FakeKeycloak, str],
) -> None:
    fake, url = keycloak
    report = check_keycloak_hardening(live_env(url))
    assert report.issues == []
    assert [w.code for w in report.warnings] == ["admin_api_plain_http"]
    assert report.source == f"admin API {url}/"
    assert fake.token_form["grant_type"] == ["client_credentials"]
    assert ("GET", f"{REALM_PREFIX}/authentication/flows/wallet-ops browser/executions") in (
        fake.requests
    )
    composite_reads = {p for m, p in fake.requests if p.endswith("/composites")}
    assert composite_reads == {
        f"{REALM_PREFIX}/roles/{role}/composites"
        for role in (
            "default-roles-wallet-ops",
            "ops-super-admin",
            "ops-admin",
            "ops-finance",
            "ops-risk",
            "ops-operation",
        )
    }


def _flat_otp_form(fake: FakeKeycloak) -> dict[str, Any]:
    return next(
        e
        for e in fake.responses["browser-flow-executions"]
        if e.get("providerId") == "auth-otp-form"
    )


@pytest.mark.parametrize(
    ("weaken", "expected"),
    [
        pytest.param(
            lambda f: f.responses["realm"].update(sslRequired="none"),
            {"ssl_not_required"},
            id="ssl-none",
        ),
        pytest.param(
            lambda f: f.responses["realm"].update(bruteForceProtected=False),
            {"brute_force_off"},
            id="brute-force-off",
        ),
        pytest.param(
            lambda f: _flat_otp_form(f).update(requirement="DISABLED"),
            {"otp_not_required"},
            id="otp-form-disabled",
        ),
        pytest.param(
            lambda f: next(iter(f.responses["authenticator-configs"].values()))["config"].update(
                condUserRole="uma_authorization"
            ),
            {"otp_not_required"},
            id="otp-condition-on-other-role",
        ),
        pytest.param(
            lambda f: f.responses["role-composites"].update({"ops-risk": []}),
            {"otp_not_required"},
            id="risk-loses-privileged-composite",
        ),
        pytest.param(
            lambda f: next(
                c for c in f.responses["clients"] if c["clientId"] == "admin-cli"
            ).update(directAccessGrantsEnabled=True),
            {"direct_grants_public_client"},
            id="public-direct-grants",
        ),
        pytest.param(
            lambda f: f.responses["required-actions"].pop(0),
            {"otp_enrolment_disabled"},
            id="no-totp-enrolment",
        ),
    ],
)
def test_live_admin_api_weaknesses_are_issues(
    keycloak: tuple[FakeKeycloak, str],
    weaken: Callable[[FakeKeycloak], None],
    expected: set[str],
) -> None:
    fake, url = keycloak
    weaken(fake)
    assert check_keycloak_hardening(live_env(url)).issue_codes == expected


def test_refused_admin_credentials_are_an_error_that_never_shows_the_secret(
    keycloak: tuple[FakeKeycloak, str],
) -> None:
    fake, url = keycloak
    wrong = "wrong-secret-value-123"
    with pytest.raises(KeycloakUnavailable) as raised:
        check_keycloak_hardening(live_env(url, KEYCLOAK_ADMIN_CLIENT_SECRET=wrong))
    message = str(raised.value)
    assert message.startswith(f"Keycloak admin API at {url}/: reading the realm failed:")
    assert "401" in message
    assert wrong not in message
    result = gate_check(live_env(url, KEYCLOAK_ADMIN_CLIENT_SECRET=wrong))
    assert result.status == "error"
    assert wrong not in json.dumps(result.to_dict())
    assert fake.token_form["client_secret"] == [wrong]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_admin_api_is_an_error_for_the_gate() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = gate_check(live_env(url))
    assert result.status == "error"
    assert result.summary.startswith(
        f"KeycloakUnavailable: Keycloak admin API at {url}/: reading the realm failed:"
    )
    assert ADMIN_SECRET not in json.dumps(result.to_dict())


def test_admin_password_grant_is_used_when_no_client_secret_is_given(
    keycloak: tuple[FakeKeycloak, str],
) -> None:
    fake, url = keycloak
    env = live_env(url, KEYCLOAK_ADMIN_USERNAME="ops-auditor", KEYCLOAK_ADMIN_PASSWORD="pw-999")
    del env["KEYCLOAK_ADMIN_CLIENT_SECRET"]
    with pytest.raises(KeycloakUnavailable) as raised:
        check_keycloak_hardening(env)
    assert fake.token_form["grant_type"] == ["password"]
    assert fake.token_form["username"] == ["ops-auditor"]
    assert "pw-999" not in str(raised.value)


def test_missing_admin_credentials_is_an_issue_not_a_crash() -> None:
    env = {**GOOD_ENV}
    report = check_keycloak_hardening(env)
    assert report.issue_codes == {"realm_not_readable"}


def test_cli_exits_3_when_the_admin_api_refuses_and_hides_the_secret(
    keycloak: tuple[FakeKeycloak, str],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = keycloak
    for key, value in live_env(url, KEYCLOAK_ADMIN_CLIENT_SECRET="nope-secret").items():
        monkeypatch.setenv(key, value)
    code, out, err = cli("check_keycloak_hardening", "--json")
    assert code == 3
    assert out == ""
    assert err.startswith(f"error: Keycloak admin API at {url}/: reading the realm failed:")
    assert "nope-secret" not in err


def test_cli_passes_against_the_live_hardened_realm(
    keycloak: tuple[FakeKeycloak, str],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = keycloak
    for key, value in live_env(url).items():
        monkeypatch.setenv(key, value)
    code, out, _ = cli("check_keycloak_hardening")
    assert code == 0
    assert out.splitlines() == [
        f"keycloak (admin API {url}/): hardened, 0 issue(s), 1 warning(s)",
        f"  warning [admin_api_plain_http]: the admin API is reached over plain HTTP: {url}",
    ]
    assert ADMIN_SECRET not in out


def test_settings_never_show_secrets_in_their_repr() -> None:
    env = live_env(
        "https://sso.wallet-ops.example.com",
        KEYCLOAK_ADMIN_USERNAME="auditor",
        KEYCLOAK_ADMIN_PASSWORD="pw-should-not-leak",
    )
    report = HardeningReport()
    settings = parse_settings(env, report)
    assert settings.admin is not None
    assert settings.secrets == ("app-client-secret-value", ADMIN_SECRET)
    shown = repr(settings)
    assert "app-client-secret-value" not in shown
    assert ADMIN_SECRET not in shown
    assert report.issues == []
    assert settings.admin.username is None  # a client secret wins over a password grant
