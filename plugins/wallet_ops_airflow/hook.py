"""The ops business database as an Airflow hook: Connection ``ops_db`` -> SQLAlchemy engine."""

from __future__ import annotations

from airflow.exceptions import AirflowNotFoundException
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import BaseHook
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.db import create_ops_engine, normalise_driver, resolve_database_url

OPS_DB_CONN_ID = "ops_db"


class OpsDatabaseHook(BaseHook):
    """Engine for the ops database.

    The Airflow Connection ``ops_db`` (e.g. ``AIRFLOW_CONN_OPS_DB``) wins; without one, the
    domain's own resolution applies (``OPS_DATABASE_URL``, else the embedded server), so the
    DAGs and the CLI always reach the same database.
    """

    conn_name_attr = "ops_db_conn_id"
    default_conn_name = OPS_DB_CONN_ID
    conn_type = "postgres"
    hook_name = "Wallet ops database"

    def __init__(self, ops_db_conn_id: str = OPS_DB_CONN_ID, settings: Settings | None = None):
        super().__init__()
        self.ops_db_conn_id = ops_db_conn_id
        self.settings = settings or Settings.from_env()

    def database_url(self) -> str:
        postgres = PostgresHook(postgres_conn_id=self.ops_db_conn_id)
        try:
            return connection_url(postgres)
        except AirflowNotFoundException:
            self.log.info("no %r connection; using the ops default database", self.ops_db_conn_id)
            return resolve_database_url(self.settings)

    def get_engine(self) -> Engine:
        return create_ops_engine(self.database_url(), pool_size=2)

    def get_conn(self) -> Engine:
        return self.get_engine()


def connection_url(postgres: PostgresHook) -> str:
    """The provider's SQLAlchemy URL of the Connection, with the extras its own ``get_conn``
    hands to the driver (the ``host`` socket directory, ``sslmode``, ...) as query parameters
    (``sqlalchemy_url`` alone keeps only the ``sqlalchemy_query`` extra), on our driver."""
    extras = {
        name: str(value)
        for name, value in postgres.connection.extra_dejson.items()
        if name not in postgres.ignored_extra_options
    }
    url = postgres.sqlalchemy_url.update_query_dict(extras)
    return normalise_driver(url.render_as_string(hide_password=False))
