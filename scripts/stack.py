"""The local stack on the embedded PostgreSQL: two databases, two logins, one Airflow setup.

``make demo``, ``make airflow`` and the runtime tests share it: ``local_environment`` is the one
definition of the local platform's settings (databases, currencies, Keycloak, isolation), and
it stores the shell-relevant ones under ``var/`` so the CLI in a plain shell agrees with them
(``ops_domain.config.process_environment``). The embedded server trusts local socket logins,
so the separation is done with privileges, as on a real server: the role ``airflow`` owns the
metadata database ``airflow``, the role ``ops`` owns the business database ``ops`` (it
migrates and seeds, as ``ops_migrator`` does in compose), the DAGs and the CLI work as the
application role ``ops_app`` and seal the audit log as ``ops_sealer`` (``grant_ops_logins``,
after the migrations), and the audit export database ``ops_audit`` belongs to a login of its
own that may not open ``ops``. CONNECT on each database is revoked from PUBLIC, so the ops
logins cannot even open the Airflow metadata database (the strict ``db_isolation`` check
proves it).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ops_domain.app_role import (
    DEFAULT_APP_ROLE,
    DEFAULT_SEALER_ROLE,
    grant_app_role,
    grant_sealer_role,
)
from ops_domain.config import PROJECT_ROOT, write_local_settings
from ops_domain.db import create_ops_engine
from ops_domain.embedded import embedded_server_url
from scripts.platform_services import KEYCLOAK_SETTINGS

AIRFLOW_ROLE = "airflow"
OPS_ROLE = "ops"
AUDIT_ROLE = "ops_audit"
# database -> owning role
DATABASES = {"airflow": AIRFLOW_ROLE, "ops": OPS_ROLE, "ops_audit": AUDIT_ROLE}
# logins of the ops database besides its owner, granted by grant_ops_logins
OPS_LOGINS = (DEFAULT_APP_ROLE, DEFAULT_SEALER_ROLE)
OPS_POOL = ("ops_db", 4, "Concurrent writers to the ops database")
DEMO_CURRENCIES = "USD,EUR,IDR"
# What a CLI in a plain shell needs to agree with the stack (its database is the embedded
# default, so OPS_DATABASE_URL stays out).
OWNER_URL_ENV = "OPS_OWNER_DATABASE_URL"  # the stack's own: migrations and seeding
SHELL_SETTINGS = ("OPS_ENABLED_CURRENCIES", "OPS_AUDIT_DATABASE_URL", "OPS_AIRFLOW_METADATA_URL")


@dataclass(frozen=True)
class StackUrls:
    """Where each login connects (Unix socket URLs of the embedded server)."""

    airflow_metadata: str
    ops: str  # the application role: DAGs, CLI, exporter
    ops_owner: str  # migrations, RBAC, demo data, grants
    ops_sealer: str
    ops_audit: str


def login_url(server_url: str, role: str, database: str) -> str:
    return (
        make_url(server_url)
        .set(username=role, password=None, database=database)
        .render_as_string(hide_password=False)
    )


def prepare_databases(var_dir: Path, *, fresh: Collection[str] = ()) -> StackUrls:
    """Create the roles and their databases, dropping the ``fresh`` ones first; idempotent."""
    server_url = embedded_server_url(var_dir)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        for role in sorted({*DATABASES.values(), *OPS_LOGINS}):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            if exists.first() is None:
                conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        for database, owner in DATABASES.items():
            if database in fresh:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            )
            if found.first() is None:
                conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{owner}"'))
            conn.execute(text(f'ALTER DATABASE "{database}" OWNER TO "{owner}"'))
            conn.execute(text(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database}" FROM PUBLIC'))
            conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{owner}"'))
    admin.dispose()
    return StackUrls(
        airflow_metadata=login_url(server_url, AIRFLOW_ROLE, "airflow"),
        ops=login_url(server_url, DEFAULT_APP_ROLE, "ops"),
        ops_owner=login_url(server_url, OPS_ROLE, "ops"),
        ops_sealer=login_url(server_url, DEFAULT_SEALER_ROLE, "ops"),
        ops_audit=login_url(server_url, AUDIT_ROLE, "ops_audit"),
    )


def grant_ops_logins(owner_url: str) -> None:
    """As the owner, once the schema is migrated: the application and sealing roles get
    exactly their privileges (idempotent; rerun after every migration)."""
    owner = create_ops_engine(owner_url, pool_size=1)
    try:
        grant_app_role(owner, DEFAULT_APP_ROLE)
        grant_sealer_role(owner, DEFAULT_SEALER_ROLE)
    finally:
        owner.dispose()


def airflow_home(var_dir: Path) -> Path:
    return var_dir / "airflow"


def logs_dir(var_dir: Path) -> Path:
    return var_dir / "logs"


def jwt_secret(home: Path) -> str:
    """One random secret per AIRFLOW_HOME, shared by every component started from it."""
    path = home / "jwt_secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def stack_environment(var_dir: Path, urls: StackUrls) -> dict[str, str]:
    """Everything Airflow, the DAGs and the ops CLI need to run on the local stack."""
    home = airflow_home(var_dir)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": urls.airflow_metadata,
        "OPS_AIRFLOW_METADATA_URL": urls.airflow_metadata,  # tasks cannot read the one above
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs_dir(var_dir) / "airflow"),
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret(home),
        "AIRFLOW_CONN_OPS_DB": urls.ops,
        "OPS_DATABASE_URL": urls.ops,
        OWNER_URL_ENV: urls.ops_owner,
        "OPS_SEALER_DATABASE_URL": urls.ops_sealer,
        "OPS_AUDIT_DATABASE_URL": urls.ops_audit,
        "OPS_VAR_DIR": str(var_dir),
        "OPS_ENABLED_CURRENCIES": os.environ.get("OPS_ENABLED_CURRENCIES") or DEMO_CURRENCIES,
        **KEYCLOAK_SETTINGS,
        "GX_ANALYTICS_ENABLED": "False",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
    }


def local_environment(var_dir: Path, *, fresh: Collection[str] = ()) -> dict[str, str]:
    """Prepare the databases and return the local platform's settings; store the ones a shell
    needs in ``var/`` (read back by ``process_environment`` when no database is configured)."""
    env = stack_environment(var_dir, prepare_databases(var_dir, fresh=fresh))
    shell = {name: env[name] for name in SHELL_SETTINGS} | dict(KEYCLOAK_SETTINGS)
    write_local_settings(var_dir, shell)
    return env
