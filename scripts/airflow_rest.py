"""A small client of Airflow's public REST API v2, as any outside client would use it.

It logs in with ``POST /auth/token`` (the simple auth manager's username and password), sends
the JWT as ``Authorization: Bearer``, triggers and unpauses DAGs, waits for runs and reads task
instances and XComs. Nothing here touches Airflow's database or imports Airflow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

RUN_DONE = frozenset({"success", "failed"})
REQUEST_SECONDS = 30.0


class RestRefused(RuntimeError):
    """The API answered with an error status; carries it and Airflow's explanation."""

    def __init__(self, method: str, path: str, status: int, detail: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class TaskOutcome:
    state: str | None
    try_number: int
    duration: float | None  # seconds


@dataclass(frozen=True)
class RunOutcome:
    """A DAG run as the API reports it once it has ended."""

    dag_id: str
    run_id: str
    state: str
    run_type: str
    triggering_user: str | None
    duration: float | None
    tasks: dict[str, TaskOutcome]  # task id, with [map index] when mapped

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def states(self) -> dict[str, str | None]:
        return {task: outcome.state for task, outcome in self.tasks.items()}

    def failed_tasks(self) -> list[str]:
        return sorted(task for task, outcome in self.tasks.items() if outcome.state == "failed")


class AirflowClient:
    """One login's session with the api-server at ``base_url``."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._http = httpx.Client(base_url=self.base_url, timeout=REQUEST_SECONDS)
        token = self._call("POST", "/auth/token", {"username": username, "password": password})
        self._http.headers["Authorization"] = f"Bearer {token['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: dict[str, Any], **params: Any) -> Any:
        return self._call("PATCH", path, body, params=params)

    def put(self, path: str) -> Any:
        return self._call("PUT", path)

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def trigger(
        self, dag_id: str, conf: dict[str, Any], *, logical_date: datetime | None = None
    ) -> str:
        """A manual run of ``dag_id`` with ``conf``; its run id."""
        body = {"conf": conf, "logical_date": logical_date.isoformat() if logical_date else None}
        return self.post(f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        """The DAG's runs, oldest logical date first (filters: ``run_type``, ``state``...)."""
        found = self.get(
            f"/api/v2/dags/{dag_id}/dagRuns", order_by="run_after", limit=100, **filters
        )
        return found["dag_runs"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 180.0) -> RunOutcome:
        """Poll until the run has ended; its outcome with every task instance."""
        deadline = time.monotonic() + timeout
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        while True:
            run = self.get(path)
            if run["state"] in RUN_DONE:
                return self._outcome(run)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(1.0)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value",
             map_index: int = -1) -> Any:  # fmt: skip
        """A task's XCom value as JSON."""
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{task_id}/xcomEntries/{key}"
        )
        return self.get(path, map_index=map_index)["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1,
                 map_index: int = -1) -> str:  # fmt: skip
        """The task's log of one try, as text."""
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{task_id}/logs/{try_number}"
        )
        content = self.get(path, map_index=map_index, full_content=True)["content"]
        return "\n".join(
            entry.get("event", "") if isinstance(entry, dict) else str(entry) for entry in content
        )

    def _outcome(self, run: dict[str, Any]) -> RunOutcome:
        instances = self.get(
            f"/api/v2/dags/{run['dag_id']}/dagRuns/{quote(run['dag_run_id'], safe='')}"
            "/taskInstances",
            limit=1000,
        )["task_instances"]
        tasks = {
            _task_key(ti): TaskOutcome(ti["state"], ti["try_number"], ti.get("duration"))
            for ti in instances
        }
        return RunOutcome(
            dag_id=run["dag_id"],
            run_id=run["dag_run_id"],
            state=run["state"],
            run_type=run["run_type"],
            triggering_user=run.get("triggering_user_name"),
            duration=run.get("duration"),
            tasks=tasks,
        )

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise RestRefused(method, path, response.status_code, detail)
        return response.json() if response.content else None

    def close(self) -> None:
        self._http.close()


def _task_key(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] if index is None or index < 0 else f"{ti['task_id']}[{index}]"
