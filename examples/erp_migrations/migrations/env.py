"""Alembic environment of the example ERP (batch mode so SQLite ALTERs work)."""

import os

from alembic import context
from sqlalchemy import Connection, create_engine

config = context.config


def run(connection: Connection) -> None:
    """Run the migrations on ``connection`` in one transaction."""
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Use the caller's connection (tests, tools) or open one from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = os.environ.get("ERP_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    main()
