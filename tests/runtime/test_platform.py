"""The platform ``make airflow`` starts: every component healthy, every DAG parsed, one login
per person of the cast, and nothing answered without a valid token."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from scripts.airflow_platform import DAG_IDS, Platform
from scripts.airflow_rest import AirflowClient, RestRefused


def test_every_component_is_healthy_and_every_dag_is_listed(
    platform: Platform, client: Callable[[str], AirflowClient]
) -> None:
    health = client("oscar").get("/api/v2/monitor/health")
    listed = client("rita").get("/api/v2/dags", limit=100)

    assert {name: part["status"] for name, part in health.items()} == dict.fromkeys(
        ("metadatabase", "scheduler", "triggerer", "dag_processor"), "healthy"
    )
    assert {dag["dag_id"] for dag in listed["dags"]} == DAG_IDS
    assert platform.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"{platform.base_url}/execution/"
    )


def test_every_person_of_the_cast_logs_in_with_their_own_password(platform: Platform) -> None:
    for login in platform.logins.roles:
        AirflowClient(platform.base_url, login, platform.logins.passwords[login]).close()
    with pytest.raises(RestRefused) as wrong:
        AirflowClient(platform.base_url, "oscar", platform.logins.passwords["rita"])
    assert wrong.value.status == 401


def test_the_api_refuses_a_request_without_a_valid_token(platform: Platform) -> None:
    forged = httpx.get(
        f"{platform.base_url}/api/v2/dags", headers={"Authorization": "Bearer not-a-token"}
    )
    anonymous = httpx.get(f"{platform.base_url}/api/v2/dags")

    assert forged.status_code in {401, 403}
    assert anonymous.status_code in {401, 403}


def test_manual_dags_are_unpaused_and_scheduled_ones_wait_for_a_person(
    client: Callable[[str], AirflowClient],
) -> None:
    dags = client("oscar").get("/api/v2/dags", limit=100)["dags"]
    paused = {dag["dag_id"]: dag["is_paused"] for dag in dags if dag["timetable_summary"]}
    manual = {dag["dag_id"]: dag["is_paused"] for dag in dags if not dag["timetable_summary"]}

    assert {"release_readiness", "emergency_freeze_payouts"} <= set(manual)
    assert set(manual.values()) == {False}
    assert paused["settlement_automation"] is True  # unpaused only by its own test, later
