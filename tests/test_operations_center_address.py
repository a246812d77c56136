"""The Operations Center addresses the local platform prints (make demo, make airflow)."""

from __future__ import annotations

from scripts.operations_center import demo_release_url, home_url


def test_the_demo_prints_its_releases_readiness_page() -> None:
    assert (
        demo_release_url("http://127.0.0.1:8080", "2026.12.06-demo")
        == "http://127.0.0.1:8080/ops/readiness?release_id=2026.12.06-demo&environment=production"
    )


def test_make_airflow_prints_the_first_page() -> None:
    assert home_url("http://127.0.0.1:8090/") == "http://127.0.0.1:8090/ops/"
