"""Keycloak hardening check (SPEC 5.5) against realm exports in Keycloak's own export format."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops_domain.readiness.keycloak import (
    check_keycloak_hardening,
    check_keycloak_hardening_result,
)

FIXTURES = Path(__file__).parent / "fixtures" / "keycloak"
HARDENED = FIXTURES / "realm-hardened.json"
WEAK = FIXTURES / "realm-weak.json"
DEPLOYED = Path(__file__).parent.parent / "deploy" / "keycloak" / "realm.json"
APP = "wallet-ops-airflow"
ROLE_MAP = (
    "ops-super-admin:super_admin,ops-admin:admin,ops-finance:finance,ops-risk:risk,"
    "ops-operation:operation,ops-treasury:treasury,ops-customer-service:customer_service,"
    "ops-sales:sales"
)
GOOD_ENV = {
    "KEYCLOAK_BASE_URL": "https://sso.wallet-ops.example.com",
    "KEYCLOAK_REALM": "wallet-ops",
    "KEYCLOAK_CLIENT_ID": APP,
    "KEYCLOAK_CLIENT_SECRET": "app-client-secret-value",
    "KEYCLOAK_REDIRECT_URI": "https://airflow.wallet-ops.example.com/auth/login_callback",
    "KEYCLOAK_POST_LOGOUT_REDIRECT_URI": "https://airflow.wallet-ops.example.com/auth/logout_callback",
    "KEYCLOAK_SCOPES": "openid profile email",
    "KEYCLOAK_ROLE_GROUP_MAP": ROLE_MAP,
}


def hardened_export() -> dict[str, Any]:
    return json.loads(HARDENED.read_text())


def client_of(export: dict[str, Any], client_id: str = APP) -> dict[str, Any]:
    return next(c for c in export["clients"] if c["clientId"] == client_id)


def flow_of(export: dict[str, Any], alias: str) -> dict[str, Any]:
    return next(f for f in export["authenticationFlows"] if f["alias"] == alias)


def run_on(
    tmp_path: Path, export: dict[str, Any], env: dict[str, str] | None = None
) -> tuple[set[str], dict[str, Any]]:
    path = tmp_path / "realm-export.json"
    path.write_text(json.dumps(export))
    report = check_keycloak_hardening(env or GOOD_ENV, realm_export=path)
    return report.issue_codes, report.to_dict()


def test_the_deployed_realm_is_the_hardened_fixture_and_passes() -> None:
    assert HARDENED.resolve() == DEPLOYED.resolve()
    report = check_keycloak_hardening(GOOD_ENV, realm_export=DEPLOYED)
    assert report.to_dict() == {
        "ok": True,
        "source": f"realm export {DEPLOYED}",
        "issues": [],
        "warnings": [],
    }


def test_weak_realm_reports_every_weakness_with_its_code() -> None:
    report = check_keycloak_hardening(GOOD_ENV, realm_export=WEAK)
    assert not report.ok
    assert sorted(f.code for f in report.issues) == sorted(
        [
            "brute_force_off",
            "ssl_not_required",
            "email_verification_off",
            "events_off",
            "client_redirect_uri_loose",
            "redirect_uri_not_registered",
            "post_logout_redirect_uri_not_registered",
            "access_token_lifespan_too_long",
            "direct_grants_public_client",
            "direct_grants_public_client",
            "keycloak_role_missing",
            "otp_enrolment_disabled",
            "otp_not_required",
        ]
    )
    messages = {f.message for f in report.issues}
    assert "public client admin-cli allows direct access (password) grants" in messages
    assert (
        "browser flow browser does not require OTP for privileged role(s) ops-admin, "
        "ops-finance, ops-operation, ops-risk, ops-super-admin" in messages
    )
    assert {f.code for f in report.warnings} == {"admin_events_off", "web_origins_wildcard"}


def _set_realm(key: str, value: Any) -> Callable[[dict[str, Any], dict[str, str]], None]:
    def mutate(export: dict[str, Any], env: dict[str, str]) -> None:
        export[key] = value

    return mutate


def _set_env(key: str, value: str) -> Callable[[dict[str, Any], dict[str, str]], None]:
    def mutate(export: dict[str, Any], env: dict[str, str]) -> None:
        env[key] = value

    return mutate


def _wildcard_redirect(export: dict[str, Any], env: dict[str, str]) -> None:
    client_of(export)["redirectUris"].append("https://airflow.wallet-ops.example.com/*")


def _unmapped_privileged_role(export: dict[str, Any], env: dict[str, str]) -> None:
    env["KEYCLOAK_ROLE_GROUP_MAP"] = ROLE_MAP.replace("ops-finance:finance,", "")


def _no_otp(export: dict[str, Any], env: dict[str, str]) -> None:
    export["browserFlow"] = "browser"  # Keycloak's default: OTP only for users who set it up


def _public_client_direct_grants(export: dict[str, Any], env: dict[str, str]) -> None:
    client_of(export, "admin-cli")["directAccessGrantsEnabled"] = True


def _client_token_lifespan(export: dict[str, Any], env: dict[str, str]) -> None:
    client_of(export)["attributes"]["access.token.lifespan"] = "3600"


def _realm_token_lifespan(export: dict[str, Any], env: dict[str, str]) -> None:
    export["accessTokenLifespan"] = 3600
    del client_of(export)["attributes"]["access.token.lifespan"]


def _client_without_email_scope(export: dict[str, Any], env: dict[str, str]) -> None:
    client_of(export)["defaultClientScopes"].remove("email")


def _logout_wildcard(export: dict[str, Any], env: dict[str, str]) -> None:
    client_of(export)["attributes"]["post.logout.redirect.uris"] += "##https://*.example.com/*"


def _client_missing(export: dict[str, Any], env: dict[str, str]) -> None:
    export["clients"] = [c for c in export["clients"] if c["clientId"] != APP]


@pytest.mark.parametrize(
    ("mutation", "expected_issue"),
    [
        pytest.param(
            _set_env("KEYCLOAK_BASE_URL", "http://sso.wallet-ops.example.com"),
            "base_url_not_https",
            id="http-base-url",
        ),
        pytest.param(_wildcard_redirect, "client_redirect_uri_loose", id="wildcard-redirect"),
        pytest.param(_logout_wildcard, "client_redirect_uri_loose", id="wildcard-logout-uri"),
        pytest.param(
            _set_env("KEYCLOAK_REDIRECT_URI", "https://airflow.wallet-ops.example.com/*"),
            {"redirect_uri_not_exact_https", "redirect_uri_not_registered"},
            id="wildcard-redirect-setting",
        ),
        pytest.param(
            _set_env("KEYCLOAK_SCOPES", "openid profile"), "scopes_missing", id="missing-scope"
        ),
        pytest.param(_client_without_email_scope, "client_scope_missing", id="client-scope"),
        pytest.param(_unmapped_privileged_role, "privileged_role_unmapped", id="unmapped-role"),
        pytest.param(_set_realm("bruteForceProtected", False), "brute_force_off", id="brute-off"),
        pytest.param(_set_realm("sslRequired", "none"), "ssl_not_required", id="ssl-none"),
        pytest.param(_set_realm("verifyEmail", False), "email_verification_off", id="no-verify"),
        pytest.param(_no_otp, "otp_not_required", id="no-otp"),
        pytest.param(_realm_token_lifespan, "access_token_lifespan_too_long", id="realm-3600"),
        pytest.param(_client_token_lifespan, "access_token_lifespan_too_long", id="client-3600"),
        pytest.param(
            _public_client_direct_grants, "direct_grants_public_client", id="public-direct-grant"
        ),
        pytest.param(_set_realm("eventsEnabled", False), "events_off", id="events-off"),
        pytest.param(_set_realm("realm", "other"), "realm_mismatch", id="realm-mismatch"),
        pytest.param(_client_missing, "client_missing", id="client-missing"),
    ],
)
def test_each_weakness_of_a_hardened_realm_is_reported_as_exactly_its_issues(
    tmp_path: Path,
    mutation: Callable[[dict[str, Any], dict[str, str]], None],
    expected_issue: str | set[str],
) -> None:
    export, env = hardened_export(), dict(GOOD_ENV)
    mutation(export, env)
    codes, _ = run_on(tmp_path, export, env)
    assert codes == ({expected_issue} if isinstance(expected_issue, str) else expected_issue)


def test_ssl_required_for_external_requests_only_is_a_warning(tmp_path: Path) -> None:
    export = hardened_export()
    export["sslRequired"] = "external"
    codes, report = run_on(tmp_path, export)
    assert codes == set()
    assert [w["code"] for w in report["warnings"]] == ["ssl_external_only"]


@pytest.mark.parametrize(
    ("env_change", "expected"),
    [
        pytest.param(
            {"KEYCLOAK_BASE_URL": "sso.example.com"}, {"base_url_not_https"}, id="no-scheme"
        ),
        pytest.param(
            {"KEYCLOAK_BASE_URL": "https://sso.example.com:notaport"},
            {"base_url_not_https"},
            id="bad-port",
        ),
        pytest.param({"KEYCLOAK_BASE_URL": "https://[::1"}, {"base_url_not_https"}, id="bad-host"),
        pytest.param(
            {"KEYCLOAK_ROLE_GROUP_MAP": ROLE_MAP + ",justaname"},
            {"role_map_malformed"},
            id="map-entry-without-colon",
        ),
        pytest.param(
            {"KEYCLOAK_ROLE_GROUP_MAP": ROLE_MAP + ",ops-boss:boss"},
            {"role_map_unknown_ops_role"},
            id="map-to-unknown-ops-role",
        ),
        pytest.param(
            {"KEYCLOAK_ROLE_GROUP_MAP": "::,:admin"},
            {"role_map_malformed", "privileged_role_unmapped"},
            id="map-garbage",
        ),
        pytest.param(
            {"KEYCLOAK_POST_LOGOUT_REDIRECT_URI": "not a uri"},
            {"post_logout_redirect_uri_not_exact_https", "post_logout_redirect_uri_not_registered"},
            id="logout-uri-garbage",
        ),
        pytest.param({"KEYCLOAK_CLIENT_ID": ""}, {"setting_missing"}, id="client-id-missing"),
    ],
)
def test_malformed_settings_are_issues_not_exceptions(
    tmp_path: Path, env_change: dict[str, str], expected: set[str]
) -> None:
    codes, _ = run_on(tmp_path, hardened_export(), {**GOOD_ENV, **env_change})
    assert codes == expected


def test_no_settings_at_all_lists_each_missing_variable_and_no_source() -> None:
    report = check_keycloak_hardening({})
    missing = sorted(f.message for f in report.issues if f.code == "setting_missing")
    assert missing == sorted(
        f"{name} is not set"
        for name in (
            "KEYCLOAK_BASE_URL",
            "KEYCLOAK_REALM",
            "KEYCLOAK_CLIENT_ID",
            "KEYCLOAK_REDIRECT_URI",
            "KEYCLOAK_POST_LOGOUT_REDIRECT_URI",
            "KEYCLOAK_SCOPES",
            "KEYCLOAK_ROLE_GROUP_MAP",
        )
    )
    assert report.issue_codes == {"setting_missing", "realm_not_readable"}


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"clients": []}'], ids=["broken", "list", "no-realm-key"]
)
def test_an_unreadable_realm_export_is_an_issue(tmp_path: Path, content: str) -> None:
    path = tmp_path / "realm.json"
    path.write_text(content)
    report = check_keycloak_hardening(GOOD_ENV, realm_export=path)
    assert report.issue_codes == {"realm_export_unreadable"}


def test_a_missing_realm_export_file_is_an_issue(tmp_path: Path) -> None:
    report = check_keycloak_hardening(GOOD_ENV, realm_export=tmp_path / "absent.json")
    assert report.issue_codes == {"realm_export_unreadable"}
    assert "cannot be read" in report.issues[0].message


def test_realm_export_can_come_from_the_environment() -> None:
    report = check_keycloak_hardening({**GOOD_ENV, "KEYCLOAK_REALM_EXPORT": str(WEAK)})
    assert "brute_force_off" in report.issue_codes


# --- the OTP rule ------------------------------------------------------------------------------


def _otp_subflow(export: dict[str, Any]) -> dict[str, Any]:
    return flow_of(export, "wallet-ops privileged OTP")


def _condition_config(export: dict[str, Any]) -> dict[str, str]:
    return next(
        c for c in export["authenticatorConfig"] if c["alias"] == "ops-privileged condition"
    )["config"]


def test_otp_condition_on_a_role_the_privileged_roles_include_by_composite_covers_them(
    tmp_path: Path,
) -> None:
    export = hardened_export()
    finance = next(r for r in export["roles"]["realm"] if r["name"] == "ops-finance")
    assert finance["composites"] == {"realm": ["ops-privileged"]}
    finance["composite"] = False
    del finance["composites"]
    codes, report = run_on(tmp_path, export)
    assert codes == {"otp_not_required"}
    assert report["issues"][0]["message"].endswith("privileged role(s) ops-finance")


def test_otp_for_everybody_satisfies_the_rule_without_role_conditions(tmp_path: Path) -> None:
    export = hardened_export()
    forms = flow_of(export, "wallet-ops browser forms")
    forms["authenticationExecutions"][1] = {
        "authenticator": "auth-otp-form",
        "authenticatorFlow": False,
        "requirement": "REQUIRED",
        "priority": 20,
        "autheticatorFlow": False,
        "userSetupAllowed": False,
    }
    codes, _ = run_on(tmp_path, export)
    assert codes == set()


@pytest.mark.parametrize(
    "weaken",
    [
        pytest.param(lambda e: _condition_config(e).update(negate="true"), id="negated-condition"),
        pytest.param(
            lambda e: _otp_subflow(e)["authenticationExecutions"][1].update(
                requirement="ALTERNATIVE"
            ),
            id="otp-form-alternative",
        ),
        pytest.param(
            lambda e: _otp_subflow(e)["authenticationExecutions"].append(
                {
                    "authenticator": "conditional-user-configured",
                    "authenticatorFlow": False,
                    "requirement": "REQUIRED",
                    "priority": 15,
                    "autheticatorFlow": False,
                    "userSetupAllowed": False,
                }
            ),
            id="only-if-user-configured-otp",
        ),
        pytest.param(
            lambda e: flow_of(e, "wallet-ops browser forms")["authenticationExecutions"][1].update(
                requirement="DISABLED"
            ),
            id="otp-subflow-disabled",
        ),
        pytest.param(
            lambda e: _condition_config(e).update(condUserRole="offline_access"),
            id="condition-on-unrelated-role",
        ),
    ],
)
def test_otp_that_a_privileged_user_can_skip_does_not_count(
    tmp_path: Path, weaken: Callable[[dict[str, Any]], None]
) -> None:
    export = hardened_export()
    weaken(export)
    codes, _ = run_on(tmp_path, export)
    assert codes == {"otp_not_required"}


def test_a_client_browser_flow_override_is_the_flow_that_is_judged(tmp_path: Path) -> None:
    export = hardened_export()
    client_of(export)["authenticationFlowBindingOverrides"] = {
        "browser": flow_of(export, "browser")["id"]
    }
    codes, report = run_on(tmp_path, export)
    assert codes == {"otp_not_required"}
    assert "browser flow browser does not require OTP" in report["issues"][0]["message"]


def test_otp_enrolment_must_be_enabled(tmp_path: Path) -> None:
    export = hardened_export()
    for action in export["requiredActions"]:
        if action["alias"] == "CONFIGURE_TOTP":
            action["enabled"] = False
    codes, _ = run_on(tmp_path, export)
    assert codes == {"otp_enrolment_disabled"}


def test_a_missing_browser_flow_cannot_prove_otp(tmp_path: Path) -> None:
    export = hardened_export()
    export["browserFlow"] = "does-not-exist"
    codes, _ = run_on(tmp_path, export)
    assert codes == {"otp_not_required"}


def test_a_flow_cycle_in_an_export_does_not_hang_the_check(tmp_path: Path) -> None:
    export = hardened_export()
    otp = _otp_subflow(export)
    otp["authenticationExecutions"].append(
        copy.deepcopy(flow_of(export, "wallet-ops browser")["authenticationExecutions"][3])
    )
    codes, _ = run_on(tmp_path, export)
    assert codes == set()


# --- gate result and CLI -----------------------------------------------------------------------


def test_gate_result_passes_for_the_hardened_realm_and_fails_for_the_weak_one() -> None:
    passed = check_keycloak_hardening_result(GOOD_ENV, realm_export=HARDENED)
    assert (passed.name, passed.status) == ("keycloak_hardening", "pass")
    failed = check_keycloak_hardening_result(GOOD_ENV, realm_export=WEAK)
    assert failed.status == "fail"
    assert failed.summary.startswith(
        "13 hardening issue(s): brute_force_off; ssl_not_required; email_verification_off;"
    )
    assert failed.details["ok"] is False


def test_cli_exits_1_with_issues_and_0_when_hardened(
    cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in GOOD_ENV.items():
        monkeypatch.setenv(key, value)
    code, out, _ = cli("check_keycloak_hardening", "--realm-export", str(HARDENED))
    assert code == 0
    assert out.startswith(f"keycloak (realm export {HARDENED}): hardened, 0 issue(s), 0 warning(s)")
    code, out, _ = cli("check_keycloak_hardening", "--realm-export", str(WEAK), "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert {"code": "events_off", "message": "login events (eventsEnabled) are off"} in payload[
        "issues"
    ]
    assert "app-client-secret-value" not in out


def test_cli_reports_malformed_settings_without_crashing(
    cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in GOOD_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KEYCLOAK_BASE_URL", "ftp://[broken")
    monkeypatch.setenv("KEYCLOAK_ROLE_GROUP_MAP", "a:b:c")
    code, out, err = cli("check_keycloak_hardening")
    assert code == 2  # no realm source to check: bad input
    assert err == ""
    assert "issue [base_url_not_https]: KEYCLOAK_BASE_URL must be an https:// URL" in out
    assert "issue [role_map_malformed]" in out


def test_cli_exits_2_when_the_realm_export_is_missing(
    cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in GOOD_ENV.items():
        monkeypatch.setenv(key, value)
    missing = tmp_path / "nonexistent.json"
    code, out, _ = cli("check_keycloak_hardening", "--realm-export", str(missing), "--json")
    assert code == 2
    assert [issue["code"] for issue in json.loads(out)["issues"]] == ["realm_export_unreadable"]


def test_the_role_map_tolerates_spaces_case_and_hyphens_in_ops_roles(tmp_path: Path) -> None:
    relaxed = (
        "ops-super-admin : Super-Admin, ops-admin: admin ,ops-finance:FINANCE,ops-risk:risk,"
        " ops-operation :operation,ops-treasury:treasury,ops-customer-service:customer-service,"
        "ops-sales: Sales"
    )
    codes, report = run_on(
        tmp_path, hardened_export(), {**GOOD_ENV, "KEYCLOAK_ROLE_GROUP_MAP": relaxed}
    )
    assert codes == set()
    assert report["ok"] is True


@pytest.mark.parametrize(
    ("setting", "value", "warning"),
    [
        ("KEYCLOAK_INTROSPECTION_TIMEOUT", "8", "introspection_timeout_long"),
        ("KEYCLOAK_SESSION_CHECK_INTERVAL", "600", "session_check_interval_long"),
    ],
)
def test_slow_introspection_and_rare_session_checks_are_warnings(
    tmp_path: Path, setting: str, value: str, warning: str
) -> None:
    codes, report = run_on(tmp_path, hardened_export(), {**GOOD_ENV, setting: value})
    assert codes == set()
    assert [w["code"] for w in report["warnings"]] == [warning]


def test_within_limits_timing_settings_warn_nothing_and_garbage_is_an_issue(
    tmp_path: Path,
) -> None:
    calm = {"KEYCLOAK_INTROSPECTION_TIMEOUT": "5", "KEYCLOAK_SESSION_CHECK_INTERVAL": "300"}
    codes, report = run_on(tmp_path, hardened_export(), {**GOOD_ENV, **calm})
    assert (codes, report["warnings"]) == (set(), [])
    codes, _ = run_on(
        tmp_path, hardened_export(), {**GOOD_ENV, "KEYCLOAK_INTROSPECTION_TIMEOUT": "soon"}
    )
    assert codes == {"introspection_timeout_malformed"}
