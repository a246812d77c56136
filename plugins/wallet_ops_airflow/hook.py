"""The ops business database as an Airflow hook: Connection ``ops_db`` -> SQLAlchemy engine."""

from __future__ import annotations

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook, Connection
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
        try:
            connection = self.get_connection(self.ops_db_conn_id)
        except AirflowNotFoundException:
            self.log.info("no %r connection; using the ops default database", self.ops_db_conn_id)
            return resolve_database_url(self.settings)
        return connection_url(connection)

    def get_engine(self) -> Engine:
        return create_ops_engine(self.database_url(), pool_size=2)

    def get_conn(self) -> Engine:
        return self.get_engine()


def connection_url(connection: Connection) -> str:
    """The Connection's own URI (extras such as the ``host`` socket directory or ``sslmode``
    ride along as query parameters) with the driver this package uses.

    Not ``PostgresHook.sqlalchemy_url``: it passes on only the ``sqlalchemy_query`` extra, so a
    URI-style connection would lose its socket directory and its ``sslmode``.
    """
    return normalise_driver(connection.get_uri())
