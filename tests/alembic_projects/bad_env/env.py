"""A misconfigured env.py: it ignores the connection it is handed and migrates its own URL."""

import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["SAMPLE_PRODUCTION_URL"])
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
