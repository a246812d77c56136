"""Alembic environment: the connection comes from ``ops_domain.schema``, never from a file."""

from alembic import context

from ops_domain.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
