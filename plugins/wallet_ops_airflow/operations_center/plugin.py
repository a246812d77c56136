"""The Airflow plugin: the Operations Center app in the api-server under ``/ops``, and each of
its pages as an entry of Airflow's navigation bar (shown inside the UI)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from wallet_ops_airflow.operations_center.address import URL_PREFIX
from wallet_ops_airflow.operations_center.application import create_app
from wallet_ops_airflow.operations_center.pages import PAGES

NAME = "Operations Center"


class OperationsCenterPlugin(AirflowPlugin):
    name = "operations_center"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": NAME}]
    external_views = [
        {
            "name": page.title,
            "href": f"{URL_PREFIX}/{page.slug}",
            "url_route": f"ops-{page.slug}",
            "destination": "nav",
            "nav_top_level": True,  # one click: an entry of Airflow's own navigation bar
            "icon": f"{URL_PREFIX}/static/icons/{page.slug}.svg",
        }
        for page in PAGES
    ]
