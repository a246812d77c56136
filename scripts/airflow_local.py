"""``make airflow``: ``airflow standalone`` over the embedded PostgreSQL, UI on 127.0.0.1:8080
(``AIRFLOW__API__PORT`` picks another port).

The metadata database is ``airflow`` (login ``airflow``), the ``ops_db`` connection points at
the business database ``ops`` (login ``ops``), the DAGs and plugins of this repository are
loaded and the example DAGs are off: the same setup ``make demo`` runs its DAGs on, so the
demo's runs are in the UI. The UI login is the simple auth manager's ``admin`` user, whose
password is generated once and kept in ``var/airflow/``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from ops_domain.config import Settings
from scripts.airflow_runs import migrate_metadata
from scripts.stack import airflow_home, logs_dir, prepare_databases, stack_environment

UI_HOST = "127.0.0.1"
DEFAULT_UI_PORT = "8080"
ADMIN = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


def admin_password(home: Path) -> str:
    """The UI password of ``admin``: generated on first use, then reused."""
    path = home / PASSWORDS_FILE
    if path.exists():
        return json.loads(path.read_text())[ADMIN]
    home.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({ADMIN: password}) + "\n")
    path.chmod(0o600)
    return password


def standalone_environment(var_dir: Path) -> dict[str, str]:
    urls = prepare_databases(var_dir, fresh=())
    return {
        **os.environ,
        **stack_environment(var_dir, urls),
        "AIRFLOW__API__HOST": UI_HOST,
        "AIRFLOW__API__PORT": os.environ.get("AIRFLOW__API__PORT") or DEFAULT_UI_PORT,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
    }


def main() -> int:
    var_dir = Settings.from_env().var_dir.resolve()
    env = standalone_environment(var_dir)
    setup_log = logs_dir(var_dir) / "airflow-setup.log"
    setup_log.parent.mkdir(parents=True, exist_ok=True)
    print(f"==> airflow db migrate and the ops_db pool (output in {setup_log})", flush=True)
    migrate_metadata(env, setup_log)
    password = admin_password(airflow_home(var_dir))
    print(
        f"==> Airflow UI: http://{UI_HOST}:{env['AIRFLOW__API__PORT']}"
        f"  login: {ADMIN} / {password}\n"
        "    metadata DB airflow, ops_db -> ops, on the embedded PostgreSQL; Ctrl-C stops it",
        flush=True,
    )
    os.execvpe("airflow", ["airflow", "standalone"], env)  # noqa: S606 (fixed argv)
    return 1


if __name__ == "__main__":
    sys.exit(main())
