"""Release check 5: the Keycloak realm and our OIDC settings are hardened (SPEC 5.5).

Reads the ``KEYCLOAK_*`` settings (``Settings.keycloak``, raw) and the realm from a realm export
file or the live admin API, and reports ``{ok, issues, warnings}``. A malformed or missing
setting is an issue, never a crash. Only an admin API that cannot be read raises
(``KeycloakUnavailable``): the gate then records ``error``, which fails closed.

OTP rule for privileged roles (see docs/observability.md): in the browser flow the application
client's users go through, every Keycloak role mapped to a privileged ops role must meet either
an ``auth-otp-form`` execution that is REQUIRED for everybody, or a CONDITIONAL subflow whose
conditions are all REQUIRED, non-negated ``conditional-user-role`` conditions on roles that the
privileged role holds (itself or through composites) and which contains a REQUIRED
``auth-otp-form``. Every subflow on the way must be REQUIRED or ALTERNATIVE. Keycloak's default
``conditional-user-configured`` ("OTP only for users who set it up") never counts. The
``CONFIGURE_TOTP`` required action must be enabled so privileged users can enrol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.errors import InvalidInput
from ops_domain.findings import FindingsReport
from ops_domain.rbac.matrix import ROLES
from ops_domain.readiness.keycloak_realm import (
    AdminCredentials,
    FlowStep,
    RealmState,
    read_realm_export,
    read_realm_from_admin_api,
)

CHECK_NAME = "keycloak_hardening"
PRIVILEGED_OPS_ROLES = ("super_admin", "admin", "finance", "risk", "operation")
REQUIRED_SCOPES = ("openid", "profile", "email")
MAX_ACCESS_TOKEN_LIFESPAN_SECONDS = 300
OTP_FORM = "auth-otp-form"
ROLE_CONDITION = "conditional-user-role"
ENABLED_PATH = frozenset({"REQUIRED", "ALTERNATIVE"})
REQUIRED_SETTINGS = (
    "KEYCLOAK_BASE_URL",
    "KEYCLOAK_REALM",
    "KEYCLOAK_CLIENT_ID",
    "KEYCLOAK_REDIRECT_URI",
    "KEYCLOAK_POST_LOGOUT_REDIRECT_URI",
    "KEYCLOAK_SCOPES",
    "KEYCLOAK_ROLE_GROUP_MAP",
)
MAP_ENTRY = re.compile(r"^([^:\s]+)\s*:\s*([A-Za-z_-]+)$")
# (setting, longest value before a warning, finding code): the original back office's limits
TIMING_LIMITS = (
    ("KEYCLOAK_INTROSPECTION_TIMEOUT", 5, "introspection_timeout"),
    ("KEYCLOAK_SESSION_CHECK_INTERVAL", 300, "session_check_interval"),
)


@dataclass
class HardeningReport(FindingsReport):
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "source": self.source}


@dataclass(frozen=True)
class KeycloakSettings:
    """Our OIDC settings plus how to reach the admin API; secrets are kept out of repr."""

    base_url: str | None
    realm: str | None
    client_id: str | None
    redirect_uri: str | None
    post_logout_redirect_uri: str | None
    scopes: tuple[str, ...]
    role_map: tuple[tuple[str, str], ...]
    realm_export: Path | None
    admin: AdminCredentials | None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def privileged_keycloak_roles(self) -> list[str]:
        return sorted({kc for kc, ops in self.role_map if ops in PRIVILEGED_OPS_ROLES})

    @property
    def secrets(self) -> tuple[str, ...]:
        admin_secrets = self.admin.secrets if self.admin else ()
        return tuple(s for s in (self.client_secret, *admin_secrets) if s)


def parse_settings(env: Mapping[str, str], report: HardeningReport) -> KeycloakSettings:
    """Read the ``KEYCLOAK_*`` settings; every missing or malformed one becomes an issue."""

    def get(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    for name in REQUIRED_SETTINGS:
        if get(name) is None:
            report.issue("setting_missing", f"{name} is not set")
    base_url = get("KEYCLOAK_BASE_URL")
    if base_url is not None and not _is_https_url(base_url):
        report.issue("base_url_not_https", f"KEYCLOAK_BASE_URL must be an https:// URL: {base_url}")
    for name, code in (
        ("KEYCLOAK_REDIRECT_URI", "redirect_uri_not_exact_https"),
        ("KEYCLOAK_POST_LOGOUT_REDIRECT_URI", "post_logout_redirect_uri_not_exact_https"),
    ):
        value = get(name)
        if value is not None and not _is_exact_https_uri(value):
            report.issue(code, f"{name} must be an exact https:// URI without wildcards: {value}")
    scopes = tuple(s for s in re.split(r"[\s,]+", get("KEYCLOAK_SCOPES") or "") if s)
    missing_scopes = [s for s in REQUIRED_SCOPES if s not in scopes]
    if get("KEYCLOAK_SCOPES") is not None and missing_scopes:
        report.issue("scopes_missing", f"KEYCLOAK_SCOPES lacks {' '.join(missing_scopes)}")
    role_map = _parse_role_map(get("KEYCLOAK_ROLE_GROUP_MAP"), report)
    _check_timings(get, report)
    export = get("KEYCLOAK_REALM_EXPORT")
    return KeycloakSettings(
        base_url=base_url,
        realm=get("KEYCLOAK_REALM"),
        client_id=get("KEYCLOAK_CLIENT_ID"),
        redirect_uri=get("KEYCLOAK_REDIRECT_URI"),
        post_logout_redirect_uri=get("KEYCLOAK_POST_LOGOUT_REDIRECT_URI"),
        scopes=scopes,
        role_map=role_map,
        realm_export=Path(export) if export else None,
        admin=_admin_credentials(get, base_url, report),
        client_secret=get("KEYCLOAK_CLIENT_SECRET"),
    )


def _parse_role_map(raw: str | None, report: HardeningReport) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for entry in (part.strip() for part in (raw or "").split(",")):
        if not entry:
            continue
        match = MAP_ENTRY.match(entry)
        # the ops role as people write it: any case, hyphens for underscores
        ops_role = match.group(2).lower().replace("-", "_") if match else None
        if match is None:
            report.issue(
                "role_map_malformed",
                f"KEYCLOAK_ROLE_GROUP_MAP entry {entry!r} is not keycloak_role:ops_role",
            )
        elif ops_role not in ROLES:
            report.issue(
                "role_map_unknown_ops_role",
                f"KEYCLOAK_ROLE_GROUP_MAP maps {match.group(1)} to unknown ops role "
                f"{match.group(2)!r}",
            )
        else:
            pairs.append((match.group(1), ops_role))
    if raw:
        mapped = {ops for _, ops in pairs}
        for role in PRIVILEGED_OPS_ROLES:
            if role not in mapped:
                report.issue(
                    "privileged_role_unmapped",
                    f"privileged ops role {role} has no Keycloak role in KEYCLOAK_ROLE_GROUP_MAP",
                )
    return tuple(pairs)


def _check_timings(get: Callable[[str], str | None], report: HardeningReport) -> None:
    """Optional timing settings: too slow a token introspection or too rare a session check
    is a warning (a revoked login lingers), a malformed value an issue."""
    for name, limit, code in TIMING_LIMITS:
        raw = get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds < float("inf"):
            report.issue(f"{code}_malformed", f"{name} must be a positive number of seconds: {raw}")
        elif seconds > limit:
            report.warn(f"{code}_long", f"{name} is {raw} s, more than {limit} s")


def _admin_credentials(
    get: Callable[[str], str | None], base_url: str | None, report: HardeningReport
) -> AdminCredentials | None:
    server_url = get("KEYCLOAK_ADMIN_URL") or base_url
    if server_url is None or not _is_absolute_http_url(server_url):
        return None
    if server_url.startswith("http://"):
        report.warn(
            "admin_api_plain_http", f"the admin API is reached over plain HTTP: {server_url}"
        )
    secret, username, password = (
        get("KEYCLOAK_ADMIN_CLIENT_SECRET"),
        get("KEYCLOAK_ADMIN_USERNAME"),
        get("KEYCLOAK_ADMIN_PASSWORD"),
    )
    if not secret and not (username and password):
        return None
    return AdminCredentials(
        server_url=server_url.rstrip("/") + "/",
        auth_realm=get("KEYCLOAK_ADMIN_REALM") or get("KEYCLOAK_REALM") or "master",
        client_id=get("KEYCLOAK_ADMIN_CLIENT_ID") or "admin-cli",
        client_secret=secret,
        username=None if secret else username,
        password=None if secret else password,
        verify=get("KEYCLOAK_CA_BUNDLE") or True,
    )


def _split(url: str) -> Any:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port only raises when read
    except ValueError:
        return None
    return parts


def _is_absolute_http_url(url: str) -> bool:
    parts = _split(url)
    return parts is not None and parts.scheme in {"http", "https"} and bool(parts.hostname)


def _is_https_url(url: str) -> bool:
    parts = _split(url)
    return parts is not None and parts.scheme == "https" and bool(parts.hostname)


def _is_exact_https_uri(uri: str) -> bool:
    parts = _split(uri)
    return _is_https_url(uri) and "*" not in uri and parts is not None and not parts.fragment


# --- the realm checks --------------------------------------------------------------------------


def check_realm(settings: KeycloakSettings, state: RealmState, report: HardeningReport) -> None:
    """Apply every realm-side rule of SPEC 5.5 to ``state``."""
    realm = state.realm
    if settings.realm and realm.get("realm") != settings.realm:
        report.issue(
            "realm_mismatch",
            f"realm is {realm.get('realm')!r}, KEYCLOAK_REALM is {settings.realm!r}",
        )
    if realm.get("enabled") is False:
        report.issue("realm_disabled", f"realm {realm.get('realm')} is disabled")
    _check_realm_policies(realm, report)
    client = state.client(settings.client_id)
    if settings.client_id and client is None:
        report.issue("client_missing", f"client {settings.client_id} is not in the realm")
    if client is not None:
        _check_app_client(settings, client, realm, report)
    _check_public_clients(state.clients, report)
    _check_roles(settings, state, report)
    _check_otp(settings, state, report)


def _check_realm_policies(realm: Mapping[str, Any], report: HardeningReport) -> None:
    if realm.get("bruteForceProtected") is not True:
        report.issue("brute_force_off", "brute-force detection (bruteForceProtected) is off")
    ssl = realm.get("sslRequired")
    if ssl == "external":
        report.warn("ssl_external_only", "sslRequired is 'external'; 'all' is stricter")
    elif ssl != "all":
        report.issue("ssl_not_required", f"sslRequired is {ssl!r}; it must be 'all' or 'external'")
    if realm.get("verifyEmail") is not True:
        report.issue("email_verification_off", "email verification (verifyEmail) is off")
    if realm.get("eventsEnabled") is not True:
        report.issue("events_off", "login events (eventsEnabled) are off")
    if realm.get("adminEventsEnabled") is not True:
        report.warn("admin_events_off", "admin events (adminEventsEnabled) are off")
    digits = realm.get("otpPolicyDigits")
    if isinstance(digits, int) and digits < 6:
        report.warn("otp_policy_weak", f"OTP codes have {digits} digits; use at least 6")


def _check_app_client(
    settings: KeycloakSettings,
    client: Mapping[str, Any],
    realm: Mapping[str, Any],
    report: HardeningReport,
) -> None:
    name = client.get("clientId")
    if client.get("enabled") is False:
        report.issue("client_disabled", f"client {name} is disabled")
    _check_client_uris(settings, client, report)
    _check_client_tokens(client, realm, report)


def _check_client_uris(
    settings: KeycloakSettings, client: Mapping[str, Any], report: HardeningReport
) -> None:
    name = client.get("clientId")
    redirects = list(client.get("redirectUris") or [])
    attributes = client.get("attributes") or {}
    raw_logout = attributes.get("post.logout.redirect.uris") or ""
    logout_uris = [u for u in raw_logout.split("##") if u]
    if logout_uris == ["+"]:  # Keycloak: "+" means "the valid redirect URIs"
        logout_uris = redirects
    for uri in dict.fromkeys([*redirects, *logout_uris]):
        if not _is_exact_https_uri(uri):
            report.issue(
                "client_redirect_uri_loose",
                f"client {name} accepts redirect URI {uri!r}: exact https:// URIs only",
            )
    if settings.redirect_uri and settings.redirect_uri not in redirects:
        report.issue(
            "redirect_uri_not_registered",
            f"KEYCLOAK_REDIRECT_URI is not a redirect URI of client {name}",
        )
    if settings.post_logout_redirect_uri and settings.post_logout_redirect_uri not in logout_uris:
        report.issue(
            "post_logout_redirect_uri_not_registered",
            f"KEYCLOAK_POST_LOGOUT_REDIRECT_URI is not a post-logout URI of client {name}",
        )
    if "*" in (client.get("webOrigins") or []):
        report.warn("web_origins_wildcard", f"client {name} allows any web origin")


def _check_client_tokens(
    client: Mapping[str, Any], realm: Mapping[str, Any], report: HardeningReport
) -> None:
    name = client.get("clientId")
    attributes = client.get("attributes") or {}
    if "defaultClientScopes" in client or "optionalClientScopes" in client:
        offered = {*client.get("defaultClientScopes", []), *client.get("optionalClientScopes", [])}
        missing = [s for s in REQUIRED_SCOPES[1:] if s not in offered]
        if missing:
            report.issue(
                "client_scope_missing", f"client {name} does not offer scope(s) {' '.join(missing)}"
            )
    lifespan = _int_or_none(attributes.get("access.token.lifespan"))
    if lifespan is None:
        lifespan = _int_or_none(realm.get("accessTokenLifespan"))
    if lifespan is None or lifespan > MAX_ACCESS_TOKEN_LIFESPAN_SECONDS:
        report.issue(
            "access_token_lifespan_too_long",
            f"access tokens of client {name} live {lifespan} s; at most "
            f"{MAX_ACCESS_TOKEN_LIFESPAN_SECONDS} s",
        )
    if client.get("directAccessGrantsEnabled") and not client.get("publicClient"):
        report.warn("app_client_direct_grants", f"client {name} allows password grants (no OTP)")
    if client.get("implicitFlowEnabled"):
        report.warn("implicit_flow_on", f"client {name} allows the implicit flow")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _check_public_clients(clients: list[Mapping[str, Any]], report: HardeningReport) -> None:
    for client in clients:
        if (
            client.get("enabled", True)
            and client.get("publicClient")
            and client.get("directAccessGrantsEnabled")
        ):
            report.issue(
                "direct_grants_public_client",
                f"public client {client.get('clientId')} allows direct access (password) grants",
            )


def _check_roles(settings: KeycloakSettings, state: RealmState, report: HardeningReport) -> None:
    for keycloak_role, ops_role in settings.role_map:
        if keycloak_role not in state.roles:
            report.issue(
                "keycloak_role_missing",
                f"Keycloak role {keycloak_role} (mapped to {ops_role}) is not a realm role",
            )


def _check_otp(settings: KeycloakSettings, state: RealmState, report: HardeningReport) -> None:
    actions = {a.get("alias"): a for a in state.required_actions}
    totp = actions.get("CONFIGURE_TOTP")
    if totp is None or totp.get("enabled") is False:
        report.issue("otp_enrolment_disabled", "required action CONFIGURE_TOTP is not enabled")
    if state.browser_flow is None:
        report.issue(
            "otp_not_required",
            f"browser flow {state.browser_flow_alias!r} not found: OTP cannot be proven",
        )
        return
    for_everybody, role_conditions = otp_enforcement(state.browser_flow)
    if for_everybody:
        return
    unprotected = [
        role
        for role in settings.privileged_keycloak_roles
        if not any(roles <= state.role_closure(role) for roles in role_conditions)
    ]
    if unprotected:
        report.issue(
            "otp_not_required",
            f"browser flow {state.browser_flow_alias} does not require OTP for "
            f"privileged role(s) {', '.join(unprotected)}",
        )


def otp_enforcement(flow: FlowStep) -> tuple[bool, list[frozenset[str]]]:
    """(OTP required for everybody, role sets each of which triggers a required OTP)."""
    for_everybody = False
    role_conditions: list[frozenset[str]] = []
    for step in flow.steps:
        if not step.is_flow:
            for_everybody |= step.name == OTP_FORM and step.requirement == "REQUIRED"
        elif step.requirement == "CONDITIONAL":
            roles = _role_conditioned_otp(step)
            if roles:
                role_conditions.append(roles)
        elif step.requirement in ENABLED_PATH:
            sub_everybody, sub_conditions = otp_enforcement(step)
            for_everybody |= sub_everybody
            role_conditions += sub_conditions
    return for_everybody, role_conditions


def _role_conditioned_otp(subflow: FlowStep) -> frozenset[str] | None:
    conditions = [
        s
        for s in subflow.steps
        if s.name.startswith("conditional-") and s.requirement != "DISABLED"
    ]
    has_otp = any(s.name == OTP_FORM and s.requirement == "REQUIRED" for s in subflow.steps)
    if not conditions or not has_otp:
        return None
    roles = set()
    for condition in conditions:
        role = condition.config.get("condUserRole")
        negated = str(condition.config.get("negate", "false")).lower() == "true"
        if condition.name != ROLE_CONDITION or condition.requirement != "REQUIRED" or negated:
            return None
        if not role:
            return None
        roles.add(role)
    return frozenset(roles)


# --- entry points ------------------------------------------------------------------------------


def check_keycloak_hardening(
    keycloak: Mapping[str, str], realm_export: Path | str | None = None
) -> HardeningReport:
    """Settings and realm checks of SPEC 5.5; the realm comes from ``realm_export`` (or the
    ``KEYCLOAK_REALM_EXPORT`` file) when given, else from the live admin API.

    Raises ``KeycloakUnavailable`` only when the admin API cannot be read.
    """
    report = HardeningReport()
    settings = parse_settings(keycloak, report)
    export = Path(realm_export) if realm_export else settings.realm_export
    if export is not None:
        report.source = f"realm export {export}"
        try:
            state = read_realm_export(export, settings.client_id)
        except InvalidInput as exc:
            report.issue("realm_export_unreadable", str(exc))
            return report
    elif settings.admin is None or settings.realm is None:
        report.issue(
            "realm_not_readable",
            "no realm source: give --realm-export, or KEYCLOAK_REALM plus a reachable "
            "KEYCLOAK_ADMIN_URL/KEYCLOAK_BASE_URL and admin credentials "
            "(KEYCLOAK_ADMIN_CLIENT_ID + KEYCLOAK_ADMIN_CLIENT_SECRET, or "
            "KEYCLOAK_ADMIN_USERNAME + KEYCLOAK_ADMIN_PASSWORD)",
        )
        return report
    else:
        state = read_realm_from_admin_api(settings.admin, settings.realm, settings.client_id)
        report.source = state.source
    check_realm(settings, state, report)
    return report


def keycloak_check(evaluation: Evaluation) -> CheckResult:
    """The gate's form over the configured ``KEYCLOAK_*`` settings."""
    return check_keycloak_hardening_result(evaluation.settings.keycloak)


def check_keycloak_hardening_result(
    keycloak: Mapping[str, str], realm_export: Path | str | None = None
) -> CheckResult:
    """``pass`` when there is no issue, ``fail`` otherwise; raises ``KeycloakUnavailable``
    when the admin API cannot be read (the gate records ``error``)."""
    report = check_keycloak_hardening(keycloak, realm_export)
    summary = (
        f"Keycloak hardened ({len(report.warnings)} warning(s))"
        if report.ok
        else f"{len(report.issues)} hardening issue(s): "
        + "; ".join(dict.fromkeys(f.code for f in report.issues))
    )
    return CheckResult(CHECK_NAME, "pass" if report.ok else "fail", summary[:300], report.to_dict())
