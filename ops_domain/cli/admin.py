"""Schema, RBAC and user administration: ``migrate``, ``seed_rbac``, ``users``, ``db``."""

from __future__ import annotations

import argparse
import os

from sqlalchemy import select

from ops_domain.app_role import (
    DEFAULT_APP_ROLE,
    DEFAULT_SEALER_ROLE,
    grant_app_role,
    grant_sealer_role,
)
from ops_domain.cli.runtime import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Runtime,
    actor_help,
    add_dry_run,
    add_json_flag,
    emit,
)
from ops_domain.db import describe_url, uses_embedded_default
from ops_domain.embedded import stop_embedded_server
from ops_domain.errors import InvalidInput
from ops_domain.rbac.models import Role, User, UserRole
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.rbac.users import (
    MANAGE_USERS,
    add_user,
    bootstrap_admin,
    deactivate_user,
    maker_checker_warning,
)
from ops_domain.schema import current_revision, head_revision, upgrade_to_head


def register(subparsers: argparse._SubParsersAction) -> None:
    migrate = subparsers.add_parser("migrate", help="upgrade the ops database to the code's head")
    migrate.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if the database is behind"
    )
    add_json_flag(migrate)
    migrate.set_defaults(handler=run_migrate, owner=True)

    rbac = subparsers.add_parser("seed_rbac", help="reseed the declared role/permission matrix")
    rbac.add_argument(
        "--check", action="store_true", help="report drift without changing anything (exit 1)"
    )
    add_json_flag(rbac)
    rbac.set_defaults(handler=run_seed_rbac, owner=True)

    users = subparsers.add_parser("users", help="manage users and their roles")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser(
        "add",
        help="create a user, or set an existing user's roles",
        description="Create a user or set an existing user's roles. Without --actor-username"
        " only the first administrator of a fresh install (roles admin, super_admin).",
    )
    add.add_argument("--username", required=True, help="the user to create or change")
    add.add_argument(
        "--roles",
        required=True,
        action="append",
        help="comma-separated role names; repeat the flag to add more (they accumulate)",
    )
    add.add_argument("--full-name", default="", help="display name")
    add.add_argument("--email", default="", help="contact address")
    add.add_argument("--service-account", action="store_true", help="a non-human account")
    add.add_argument(
        "--actor-username",
        help=actor_help(MANAGE_USERS, "who grants the roles")
        + "; omit only to bootstrap the first admin",
    )
    add_json_flag(add)
    add.set_defaults(handler=run_users_add, owner=True)
    deactivate = user_commands.add_parser(
        "deactivate", help="deactivate a user: it can no longer act (audited)"
    )
    deactivate.add_argument("--username", required=True, help="the user to deactivate")
    deactivate.add_argument(
        "--actor-username", required=True, help=actor_help(MANAGE_USERS, "who deactivates")
    )
    add_json_flag(deactivate)
    deactivate.set_defaults(handler=run_users_deactivate, owner=True)
    listing = user_commands.add_parser("list", help="list users and their roles")
    add_json_flag(listing)
    listing.set_defaults(handler=run_users_list)
    sync = user_commands.add_parser(
        "sync",
        help="reconcile the ops users and roles with Keycloak (KEYCLOAK_ROLE_GROUP_MAP)",
        description="Create, update the roles of, reactivate and deactivate ops users so that"
        " they match the enabled Keycloak users holding a mapped realm role (admin API:"
        " KEYCLOAK_ADMIN_*). Service accounts and the actor are never changed.",
    )
    sync.add_argument(
        "--actor-username", required=True, help=actor_help(MANAGE_USERS, "who runs the sync")
    )
    add_dry_run(sync)
    add_json_flag(sync)
    sync.set_defaults(handler=run_users_sync)

    db = subparsers.add_parser("db", help="where the ops database is; stop the embedded server")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("url", help="print the ops database URL").set_defaults(
        handler=run_db_url
    )
    db_commands.add_parser("stop", help="stop the embedded server under var/").set_defaults(
        handler=run_db_stop
    )
    for name, help_text, default, grant_role in (
        (
            "grant-app-role",
            "create the application role and grant it least privilege",
            DEFAULT_APP_ROLE,
            grant_app_role,
        ),
        (
            "grant-sealer-role",
            "create the audit sealing role: read the audit log, append to its chain",
            DEFAULT_SEALER_ROLE,
            grant_sealer_role,
        ),
    ):
        grant = db_commands.add_parser(name, help=help_text)
        grant.add_argument("--role", default=default, help=f"role name (default {default})")
        grant.add_argument("--password-env", help="environment variable holding its password")
        add_json_flag(grant)
        grant.set_defaults(handler=run_db_grant_role, grant_role=grant_role, owner=True)


def run_migrate(args: argparse.Namespace, runtime: Runtime) -> int:
    head = head_revision()
    if args.check:
        current = current_revision(runtime.engine)
        ok = current == head
        emit(
            {"current": current, "head": head, "up_to_date": ok},
            as_json=args.json,
            text=f"database at {current or 'empty'}, code head {head}: "
            + ("up to date" if ok else "BEHIND, run migrate"),
        )
        return EXIT_OK if ok else EXIT_CHECK_FAILED
    before, after = upgrade_to_head(runtime.engine)
    if uses_embedded_default(
        runtime.settings
    ):  # its logins, as the local stack and compose have them
        grant_app_role(runtime.engine, DEFAULT_APP_ROLE)
        grant_sealer_role(runtime.engine, DEFAULT_SEALER_ROLE)
    emit(
        {"before": before, "after": after, "database": describe_url(runtime.engine.url)},
        as_json=args.json,
        text=f"migrated {describe_url(runtime.engine.url)}: {before or 'empty'} -> {after}",
    )
    return EXIT_OK


def run_seed_rbac(args: argparse.Namespace, runtime: Runtime) -> int:
    report = seed_rbac(runtime.engine, check_only=args.check)
    create, add, remove = (
        ("to create", "to add", "to remove") if args.check else ("created", "added", "removed")
    )
    lines = [
        f"roles {create}: {', '.join(report.created_roles) or 'none'}",
        f"grants {add}: {_listing(report.added_grants)}",
        f"grants {remove}: {_listing(report.removed_grants)}",
    ]
    if report.unknown_roles:
        lines.append(
            f"roles not in the matrix: {', '.join(report.unknown_roles)}"
            " (never deleted by reseeding: the database does not match the matrix until"
            " their users are moved and the roles dropped)"
        )
    if report.maker_checker_users:
        lines.append(f"warning: maker+checker users: {', '.join(report.maker_checker_users)}")
    if not report.drift:
        lines.append("no changes: database matches the declared matrix")
    emit(report.to_dict(), as_json=args.json, text=lines)
    mismatch = report.drift if args.check else bool(report.unknown_roles)
    return EXIT_CHECK_FAILED if mismatch else EXIT_OK


def _listing(grants: list[str], shown: int = 8) -> str:
    if not grants:
        return "none"
    more = f" and {len(grants) - shown} more" if len(grants) > shown else ""
    return f"{len(grants)} ({', '.join(grants[:shown])}{more})"


def run_users_add(args: argparse.Namespace, runtime: Runtime) -> int:
    roles = [role.strip() for given in args.roles for role in given.split(",") if role.strip()]
    profile = {"full_name": args.full_name, "email": args.email}
    if args.actor_username is None:
        user_id = bootstrap_admin(runtime.engine, args.username, roles, **profile)
    else:
        user_id = add_user(
            runtime.engine,
            args.username,
            roles,
            actor_username=args.actor_username,
            service_account=args.service_account,
            **profile,
        )
    roles = sorted(set(roles))
    warning = maker_checker_warning(args.username, roles)
    warnings = [warning] if warning else []
    emit(
        {"user_id": user_id, "username": args.username, "roles": roles, "warnings": warnings},
        as_json=args.json,
        text=[f"user {args.username} (#{user_id}) has roles {', '.join(roles)}"]
        + [f"warning: {text}" for text in warnings],
    )
    return EXIT_OK


def run_users_deactivate(args: argparse.Namespace, runtime: Runtime) -> int:
    changed = deactivate_user(runtime.engine, args.username, actor_username=args.actor_username)
    emit(
        {"username": args.username, "active": False, "changed": changed},
        as_json=args.json,
        text=f"user {args.username} {'deactivated' if changed else 'was already inactive'}",
    )
    return EXIT_OK


def run_users_sync(args: argparse.Namespace, runtime: Runtime) -> int:
    from ops_domain.keycloak_sync import directory_from_keycloak, sync_users

    report = sync_users(
        runtime.engine,
        directory_from_keycloak(runtime.settings.keycloak),
        actor_username=args.actor_username,
        dry_run=args.dry_run,
    )
    data = report.to_dict()
    mode = " (dry run: nothing written)" if report.dry_run else ""
    lines = [f"users sync{mode}: " + ", ".join(f"{k} {v}" for k, v in data["counts"].items())]
    for change in report.changes:
        roles = f" [{', '.join(change.roles_before)}] -> [{', '.join(change.roles_after)}]"
        skipped = f" SKIPPED: {change.skipped}" if change.skipped else ""
        lines.append(f"  {change.change} {change.username}{roles}{skipped}")
    emit(data, as_json=args.json, text=lines)
    return EXIT_OK


def run_users_list(args: argparse.Namespace, runtime: Runtime) -> int:
    from ops_domain.db import transaction

    with transaction(runtime.engine) as session:
        rows = session.execute(
            select(User.username, User.is_active, Role.name)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .outerjoin(Role, Role.id == UserRole.role_id)
            .order_by(User.username, Role.name)
        ).all()
    users: dict[str, dict[str, object]] = {}
    for username, active, role in rows:
        entry = users.setdefault(username, {"username": username, "active": active, "roles": []})
        if role:
            entry["roles"].append(role)  # type: ignore[union-attr]
    listing = list(users.values())
    emit(
        listing,
        as_json=args.json,
        text=[
            f"{u['username']}{'' if u['active'] else ' (inactive)'}: {', '.join(u['roles'])}"  # type: ignore[arg-type]
            for u in listing
        ],
    )
    return EXIT_OK


def run_db_url(args: argparse.Namespace, runtime: Runtime) -> int:
    print(runtime.engine.url.render_as_string(hide_password=True))
    return EXIT_OK


def run_db_stop(args: argparse.Namespace, runtime: Runtime) -> int:
    stop_embedded_server(runtime.settings.var_dir)
    print(f"embedded server under {runtime.settings.var_dir} stopped")
    return EXIT_OK


def run_db_grant_role(args: argparse.Namespace, runtime: Runtime) -> int:
    password = None
    if args.password_env:
        # a secret named on the command line, read from the process, never from a setting
        password = os.environ.get(args.password_env)
        if not password:
            raise InvalidInput(f"environment variable {args.password_env} is not set or empty")
    grant = args.grant_role(runtime.engine, args.role, password=password)
    emit(
        grant.to_dict(),
        as_json=args.json,
        text=(
            f"role {grant.role} {'created' if grant.created else 'already existed'};"
            f" read/write on {len(grant.read_write_tables)} table(s), insert-only on"
            f" {', '.join(grant.append_only_tables)}, read-only on"
            f" {', '.join(grant.read_only_tables)}; no DELETE, TRUNCATE, ALTER or DROP"
        ),
    )
    return EXIT_OK
