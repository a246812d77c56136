"""Airflow itself loads the Operations Center: its plugin loader finds it in the plugins
folder, the api-server mounts the app under /ops, and Airflow's navigation lists each page."""

from __future__ import annotations

import sys

import pytest
from fastapi.testclient import TestClient

from tests.airflow.operations_center.conftest import mint_token

PAGES = ("readiness", "decisions", "payouts", "rollback", "charts")


def test_airflows_api_server_mounts_the_pages_and_lists_them_in_its_navigation(
    airflow_db: dict[str, str],
) -> None:
    from airflow.api_fastapi.app import create_app, purge_cached_app

    try:
        api_server = TestClient(create_app("core"), follow_redirects=False)
        page = api_server.get("/ops/readiness")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/auth/login?next=")
        token = mint_token("admin", "admin")
        plugins = api_server.get(
            "/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}
        ).json()["plugins"]
    finally:
        purge_cached_app()
    (center,) = [p for p in plugins if p["name"] == "operations_center"]
    assert [app["url_prefix"] for app in center["fastapi_apps"]] == ["/ops"]
    views = center["external_views"]
    assert [view["href"] for view in views] == [f"/ops/{page}" for page in PAGES]
    assert all(view["url_route"] and view["destination"] == "nav" for view in views)
    assert all(view["nav_top_level"] for view in views)  # not folded into a Plugins menu
    icons = [api_server.get(view["icon"]) for view in views]
    assert [(icon.status_code, icon.headers["content-type"]) for icon in icons] == [
        (200, "image/svg+xml")
    ] * len(PAGES)


def test_the_plugin_loader_reads_only_the_plugin_entry_file() -> None:
    from airflow import plugins_manager

    plugins, errors = plugins_manager._get_plugins()
    assert not errors
    assert [p.name for p in plugins] == ["operations_center"]
    assert "operations_center_plugin" in sys.modules
    assert not {"hook", "jobs", "identity", "plugin", "application"} & set(sys.modules)


def test_runs_are_triggered_on_the_api_server_as_the_deployment_reaches_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wallet_ops_airflow.operations_center.airflow_api import own_base_url

    monkeypatch.setenv(
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://airflow-apiserver:8080/execution/"
    )
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    assert own_base_url() == "http://airflow-apiserver:8080"
    monkeypatch.delenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL")
    assert own_base_url() == "https://airflow.example.com"
