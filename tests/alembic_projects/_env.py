"""The env.py every sample project runs: Alembic's recipe (a given connection, else the URL).

``bad_env`` is the exception: it ignores the connection it is given.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations on config.attributes['connection'], else sqlalchemy.url."""
    config = context.config
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


if __name__ == "__main__":
    run()
