"""Running the SDK's own Alembic revisions (never the ERP's)."""

from __future__ import annotations

import threading
import zlib
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from safe_release._store._engine import write_tx
from safe_release._store._tables import VERSION_TABLE
from safe_release.exceptions import UnknownSchemaRevisionError

__all__ = ["current_revision", "head_revision", "is_known", "unknown_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"
# Serialises concurrent upgrades of one PostgreSQL database across processes.
_LOCK_KEY = zlib.crc32(b"safe_release.schema")


def _config(connection: Connection | None = None, schema: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    return cfg


_ALEMBIC = threading.Lock()
"""Alembic's ``context`` and ``op`` are process-wide proxies: one upgrade at a time."""


@cache
def head_revision() -> str:
    """The newest revision shipped with this version of safe_release."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        msg = "safe_release ships no schema revisions; reinstall the package"
        raise RuntimeError(msg)
    return head


def _current(conn: Connection, schema: str | None) -> str | None:
    ctx = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "version_table_schema": schema}
    )
    return ctx.get_current_revision()


def current_revision(engine: Engine, schema: str | None) -> str | None:
    """The SDK revision the database is at (``None``: SDK tables absent)."""
    with engine.connect() as conn:
        return _current(conn, schema)


def is_known(revision: str) -> bool:
    """Whether this version of safe_release ships ``revision``."""
    script = ScriptDirectory.from_config(_config())
    return any(r.revision == revision for r in script.walk_revisions())


def upgrade(engine: Engine, schema: str | None) -> str:
    """Bring the SDK's tables to the head revision; safe to run concurrently."""
    current = current_revision(engine, schema)
    if current == head_revision():
        return current
    if current is not None and not is_known(current):
        raise unknown_revision(current)
    with write_tx(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            if schema is not None:
                quoted = engine.dialect.identifier_preparer.quote_schema(schema)
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
        with _ALEMBIC:  # taken after the database's lock: no cycle between the two
            command.upgrade(_config(conn, schema), "head")
        return _current(conn, schema) or head_revision()


def unknown_revision(current: str) -> UnknownSchemaRevisionError:
    """The error for tables written by a newer safe_release."""
    msg = (
        f"the SDK's tables are at revision {current}, which this version of safe_release "
        f"(newest revision {head_revision()}) does not know: a newer safe_release upgraded "
        "them. Install that newer safe-release; the SDK never downgrades its own tables"
    )
    return UnknownSchemaRevisionError(msg, current=current, head=head_revision())
