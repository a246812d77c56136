"""Runs triggered from a page go through Airflow's own REST API with the login's own token:
Airflow authorises the login for the DAG, validates the form's params and records the login
as the run's triggering user, exactly as if they had pressed Trigger in the grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from airflow.configuration import conf

from wallet_ops_airflow.operations_center.login import Login

TIMEOUT_SECONDS = 10
EXECUTION_PATH = "/execution"


def own_base_url() -> str:
    """The api-server as the deployment reaches it from inside: the address the workers use
    for the execution API (``[core] execution_api_server_url``, e.g.
    ``http://airflow-apiserver:8080/execution/``) without its ``/execution/`` path, else
    ``[api] base_url`` (the public address), else its port on this host."""
    execution = conf.get("core", "execution_api_server_url", fallback="") or ""
    if execution.rstrip("/").endswith(EXECUTION_PATH):
        return execution.rstrip("/").removesuffix(EXECUTION_PATH)
    configured = conf.get("api", "base_url", fallback="") or ""
    return configured.rstrip("/") or f"http://127.0.0.1:{conf.getint('api', 'port')}"


class TriggerRefused(Exception):
    """Airflow did not create the run; the message is Airflow's own reason."""


@dataclass(frozen=True)
class AirflowApi:
    """Airflow's REST API at ``base_url`` (the api-server's own address)."""

    base_url: str
    transport: httpx.BaseTransport | None = None

    def trigger(self, login: Login, dag_id: str, conf: dict[str, Any]) -> str:
        """Start ``dag_id`` with ``conf`` as ``login``; the new run's id."""
        with httpx.Client(
            base_url=self.base_url, transport=self.transport, timeout=TIMEOUT_SECONDS
        ) as client:
            response = client.post(
                f"/api/v2/dags/{dag_id}/dagRuns",
                json={"logical_date": None, "conf": conf},
                headers={"Authorization": f"Bearer {login.token}"},
            )
        if response.status_code >= 400:
            raise TriggerRefused(f"Airflow refused to start {dag_id}: {_reason(response)}")
        return str(response.json()["dag_run_id"])


def _reason(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return f"{response.status_code} {detail}"[:500]
