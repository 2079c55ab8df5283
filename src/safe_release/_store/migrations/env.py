"""Alembic environment for safe_release's own tables.

It only ever runs on the connection the SDK hands it (``config.attributes``),
inside the SDK's schema, with the SDK's own version table, so an ERP's Alembic
history in the same database is never read or written.
"""

from __future__ import annotations

from alembic import context

from safe_release._store._tables import VERSION_TABLE

connection = context.config.attributes["connection"]
schema = context.config.attributes.get("schema")

context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    version_table_schema=schema,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
