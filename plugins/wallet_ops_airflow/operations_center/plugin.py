"""The Airflow plugin: the Operations Center app in the api-server under ``/ops``, and each of
its pages in Airflow's navigation (menu "Operations Center", shown inside the UI)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from wallet_ops_airflow.operations_center.address import URL_PREFIX
from wallet_ops_airflow.operations_center.application import create_app
from wallet_ops_airflow.operations_center.pages import PAGES

MENU = "Operations Center"


class OperationsCenterPlugin(AirflowPlugin):
    name = "operations_center"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": MENU}]
    external_views = [
        {
            "name": page.title,
            "href": f"{URL_PREFIX}/{page.slug}",
            "url_route": f"ops-{page.slug}",
            "category": MENU,
            "destination": "nav",
        }
        for page in PAGES
    ]
