"""The Keycloak realm as the hardening check sees it, read from an export file or the admin API.

Both sources produce the same ``RealmState``: the realm representation, its clients, its realm
roles with their composite children, its required actions, and the browser login flow that the
application client's users go through (the client's browser-flow override, else the realm's
``browserFlow``) as a tree of steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops_domain.errors import InvalidInput, KeycloakUnavailable

MAX_FLOW_DEPTH = 10


@dataclass(frozen=True)
class FlowStep:
    """One execution of an authentication flow: an authenticator, or a subflow with its steps."""

    name: str
    requirement: str
    is_flow: bool = False
    config: Mapping[str, str] = field(default_factory=dict)
    steps: tuple[FlowStep, ...] = ()


@dataclass(frozen=True)
class RealmState:
    realm: Mapping[str, Any]
    clients: list[Mapping[str, Any]]
    roles: dict[str, frozenset[str]]
    required_actions: list[Mapping[str, Any]]
    browser_flow_alias: str | None
    browser_flow: FlowStep | None
    source: str

    def client(self, client_id: str | None) -> Mapping[str, Any] | None:
        return next((c for c in self.clients if c.get("clientId") == client_id), None)

    def role_closure(self, role: str) -> frozenset[str]:
        """``role`` and every realm role it includes through composites (what a holder has)."""
        seen: set[str] = set()
        pending = [role]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.roles.get(current, ()))
        return frozenset(seen)


def effective_browser_flow_ref(
    realm: Mapping[str, Any], client: Mapping[str, Any] | None, flow_alias_by_id: dict[str, str]
) -> str | None:
    """The alias of the browser flow for ``client``: its override (a flow id) or the realm's."""
    overrides = (client or {}).get("authenticationFlowBindingOverrides") or {}
    override_id = overrides.get("browser")
    if override_id:
        return flow_alias_by_id.get(override_id, override_id)
    return realm.get("browserFlow")


# --- realm export file -------------------------------------------------------------------------


def read_realm_export(path: Path, client_id: str | None) -> RealmState:
    """Parse a Keycloak realm export (``kc.sh export`` / admin console "partial export")."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"realm export {path} cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidInput(f"realm export {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"realm export {path} is nested too deeply to be a realm") from None
    if not isinstance(data, dict) or "realm" not in data:
        raise InvalidInput(f"realm export {path} is not a Keycloak realm export (no 'realm' key)")
    return realm_from_export(data, client_id, source=f"realm export {path}")


def realm_from_export(data: Mapping[str, Any], client_id: str | None, *, source: str) -> RealmState:
    clients = list(data.get("clients") or [])
    flows = {flow.get("alias"): flow for flow in data.get("authenticationFlows") or []}
    configs = {
        cfg.get("alias"): cfg.get("config") or {} for cfg in data.get("authenticatorConfig") or []
    }
    alias_by_id = {flow.get("id"): alias for alias, flow in flows.items() if flow.get("id")}
    client = next((c for c in clients if c.get("clientId") == client_id), None)
    alias = effective_browser_flow_ref(data, client, alias_by_id)

    def step_of(execution: Mapping[str, Any], depth: int) -> FlowStep:
        requirement = execution.get("requirement", "DISABLED")
        if execution.get("authenticatorFlow"):
            sub_alias = execution.get("flowAlias", "")
            return FlowStep(sub_alias, requirement, True, {}, flow_steps(sub_alias, depth + 1))
        config = configs.get(execution.get("authenticatorConfig"), {})
        return FlowStep(execution.get("authenticator", ""), requirement, False, config)

    def flow_steps(flow_alias: str, depth: int) -> tuple[FlowStep, ...]:
        flow = flows.get(flow_alias)
        if flow is None or depth > MAX_FLOW_DEPTH:
            return ()
        executions = sorted(
            flow.get("authenticationExecutions") or [], key=lambda e: e.get("priority", 0)
        )
        return tuple(step_of(execution, depth) for execution in executions)

    browser = None
    if alias in flows:
        browser = FlowStep(alias, "REQUIRED", True, {}, flow_steps(alias, 0))
    return RealmState(
        realm=data,
        clients=clients,
        roles={
            role.get("name", ""): frozenset((role.get("composites") or {}).get("realm") or [])
            for role in (data.get("roles") or {}).get("realm") or []
        },
        required_actions=list(data.get("requiredActions") or []),
        browser_flow_alias=alias,
        browser_flow=browser,
        source=source,
    )


# --- live admin REST API -----------------------------------------------------------------------


@dataclass(frozen=True)
class AdminCredentials:
    """How the check signs in to the admin API; secrets stay out of repr and messages."""

    server_url: str
    auth_realm: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool | str = True
    timeout: int = 10

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client_secret, self.password) if s)


def admin_session(
    credentials: AdminCredentials, realm_name: str
) -> tuple[Any, Callable[[str, Callable[[], Any]], Any]]:
    """``python-keycloak``'s ``KeycloakAdmin`` for ``realm_name``, and ``call(what, fn)``,
    which turns any failure of ``fn`` (unreachable, refused credentials, missing rights,
    unexpected payload) into ``KeycloakUnavailable`` naming ``what``, secrets scrubbed out."""
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

    connection = KeycloakOpenIDConnection(
        server_url=credentials.server_url,
        realm_name=realm_name,
        user_realm_name=credentials.auth_realm,
        client_id=credentials.client_id,
        client_secret_key=credentials.client_secret,
        username=credentials.username,
        password=credentials.password,
        verify=credentials.verify,
        timeout=credentials.timeout,
    )
    admin = KeycloakAdmin(connection=connection)

    def call(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            reason = scrub(f"{type(exc).__name__}: {exc}", credentials.secrets)
            raise KeycloakUnavailable(
                f"Keycloak admin API at {credentials.server_url}: {what} failed: {reason}"
            ) from None

    return admin, call


def read_realm_from_admin_api(
    credentials: AdminCredentials, realm_name: str, client_id: str | None
) -> RealmState:
    """Read the realm through ``python-keycloak``'s ``KeycloakAdmin`` (view rights suffice).

    Any failure (unreachable, refused credentials, missing rights, unexpected payload) becomes
    ``KeycloakUnavailable`` naming the call that failed, with every secret scrubbed out.
    """
    admin, call = admin_session(credentials, realm_name)
    realm = call("reading the realm", lambda: admin.get_realm(realm_name))
    clients = call("listing clients", admin.get_clients)
    role_reps = call("listing realm roles", lambda: admin.get_realm_roles(False))
    roles = {}
    for role in role_reps:
        name = role.get("name", "")
        children: list[Mapping[str, Any]] = []
        if role.get("composite"):
            children = call(
                f"reading composites of role {name}",
                lambda name=name: admin.get_composite_realm_roles_of_role(name),
            )
        roles[name] = frozenset(c.get("name", "") for c in children if not c.get("clientRole"))
    required_actions = call("listing required actions", admin.get_required_actions)
    flows = call("listing authentication flows", admin.get_authentication_flows)
    alias_by_id = {flow.get("id"): flow.get("alias") for flow in flows}
    client = next((c for c in clients if c.get("clientId") == client_id), None)
    alias = effective_browser_flow_ref(realm, client, alias_by_id)
    browser = None
    if alias in alias_by_id.values():
        executions = call(
            f"reading flow {alias}", lambda: admin.get_authentication_flow_executions(alias)
        )
        browser = FlowStep(
            alias,
            "REQUIRED",
            True,
            {},
            tree_from_execution_infos(
                executions,
                lambda config_id: (
                    call(
                        f"reading authenticator config {config_id}",
                        lambda: admin.get_authenticator_config(config_id),
                    ).get("config")
                    or {}
                ),
            ),
        )
    return RealmState(
        realm=realm,
        clients=clients,
        roles=roles,
        required_actions=required_actions,
        browser_flow_alias=alias,
        browser_flow=browser,
        source=f"admin API {credentials.server_url}",
    )


def tree_from_execution_infos(
    executions: list[Mapping[str, Any]], config_of: Callable[[str], Mapping[str, str]]
) -> tuple[FlowStep, ...]:
    """Rebuild the tree from the admin API's flat, depth-first list (each entry has ``level``)."""

    def build(index: int, level: int) -> tuple[tuple[FlowStep, ...], int]:
        steps: list[FlowStep] = []
        while index < len(executions) and executions[index].get("level", 0) == level:
            info = executions[index]
            requirement = info.get("requirement", "DISABLED")
            if info.get("authenticationFlow"):
                children, index = build(index + 1, level + 1)
                steps.append(FlowStep(info.get("displayName", ""), requirement, True, {}, children))
                continue
            config_id = info.get("authenticationConfig")
            config = config_of(config_id) if config_id else {}
            steps.append(FlowStep(info.get("providerId", ""), requirement, False, config))
            index += 1
        return tuple(steps), index

    return build(0, 0)[0]


def scrub(message: str, secrets: tuple[str, ...]) -> str:
    """``message`` with every secret value replaced, first line only."""
    first_line = message.splitlines()[0] if message else ""
    for secret in secrets:
        first_line = first_line.replace(secret, "***")
    return first_line[:300]
