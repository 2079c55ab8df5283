"""Engines: URL resolution, SQLite tuning, and the write transaction."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from safe_release.exceptions import StoreConfigurationError, StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "DEFAULT_URL",
    "ENV_URL",
    "check_schema_name",
    "connection_tx",
    "create_store_engine",
    "read_tx",
    "resolve_url",
    "safe_url",
    "store_error",
    "tune_foreign_sqlite",
    "write_tx",
]

ENV_URL = "SAFE_RELEASE_URL"
DEFAULT_URL = "sqlite:///safe_release.db"
_BUSY_TIMEOUT_S = 30.0
_SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def resolve_url(url: str | None) -> str:
    """The URL argument, else ``$SAFE_RELEASE_URL``, else the default SQLite file."""
    if url:
        return url
    return os.environ.get(ENV_URL) or DEFAULT_URL


_SECRET_QUERY = re.compile(r"pass|secret|token|key$", re.IGNORECASE)


def safe_url(url: URL | Engine) -> str:
    """The URL with any password masked (in user info and query), for reprs and messages."""
    if isinstance(url, Engine):
        url = url.url
    hidden = {k: "***" for k in url.query if _SECRET_QUERY.search(k)}
    if hidden:
        url = url.update_query_dict(hidden)
    return url.render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        msg = (
            "the store URL could not be parsed; give an SQLAlchemy URL such as "
            "'sqlite:///safe_release.db' or 'postgresql+psycopg://user@host/db'"
        )
        raise StoreConfigurationError(msg) from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: str) -> Engine:
    """Create an engine tuned for the SDK: WAL and a busy timeout on SQLite."""
    parsed = _parse(url)
    kwargs: dict[str, Any] = {}
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in {None, "", ":memory:"} or parsed.query.get("mode") == "memory":
            msg = (
                "an in-memory SQLite store is private to one connection, so other threads "
                "would see an empty store; use a file (sqlite:///path/to/store.db), e.g. in "
                "a temporary directory for tests"
            )
            raise StoreConfigurationError(msg)
        kwargs["connect_args"] = {"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False}
    elif backend == "postgresql":
        kwargs["pool_pre_ping"] = True
    else:
        msg = (
            f"the store backend {backend!r} is not supported; use SQLite "
            "('sqlite:///path.db') or PostgreSQL ('postgresql+psycopg://…')"
        )
        raise StoreConfigurationError(msg)
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        msg = (
            f"the database driver for {parsed.drivername!r} is not installed; "
            "for PostgreSQL run: pip install 'safe-release[postgres]'"
        )
        raise StoreConfigurationError(msg) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def tune_foreign_sqlite(engine: Engine) -> None:
    """Make an ERP's own SQLite engine safe for the SDK's several-process use.

    WAL is a property of the database file (set once); the busy timeout is set on
    every new connection. Nothing else about the ERP's engine is changed.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_sr_tuned", False):
        return

    def busy_timeout(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    event.listen(engine, "connect", busy_timeout)
    engine.pool.dispose()  # so pooled connections pick the timeout up
    with engine.connect() as conn:
        if engine.url.database not in {None, "", ":memory:"}:
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")
    engine._sr_tuned = True  # type: ignore[attr-defined]  # noqa: SLF001


def check_schema_name(schema: str | None, engine: Engine) -> str | None:
    """Validate the ``schema=`` option against the backend."""
    if schema is None:
        return None
    if engine.dialect.name != "postgresql":
        msg = (
            f"schema={schema!r} is only supported on PostgreSQL; on SQLite give the "
            "store its own file instead"
        )
        raise StoreConfigurationError(msg)
    if not _SCHEMA_RE.fullmatch(schema):
        msg = (
            f"schema={schema!r} is not a plain identifier; use letters, digits and "
            "underscores, starting with a letter or underscore (at most 63)"
        )
        raise StoreConfigurationError(msg)
    return schema


def store_error(doing: str, engine: Engine, exc: DBAPIError) -> StoreError:
    """A `StoreError` for a database failure: what failed, why, what to do; no secrets."""
    reason = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    if isinstance(exc, (OperationalError, InterfaceError)):
        advice = (
            "check that the database is reachable, not locked by a long transaction, and "
            "that the URL and credentials are right, then retry"
        )
    else:
        lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        first = lines[0][:200] if lines else reason
        password = engine.url.password
        if password:
            first = first.replace(str(password), "***")
        advice = f"the database refused it: {first}"
    return StoreError(f"{doing} failed on {safe_url(engine)} ({reason}); {advice}")


@contextmanager
def read_tx(engine: Engine, doing: str = "reading the store") -> Iterator[Connection]:
    """A connection for reads; database failures become `StoreError`."""
    try:
        with engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        raise store_error(doing, engine, exc) from exc


@contextmanager
def connection_tx(conn: Connection) -> Iterator[Connection]:
    """One write transaction on ``conn``: committed at the end, rolled back on any error.

    ``BEGIN IMMEDIATE`` on SQLite (writers queue on the busy timeout instead of
    deadlocking on a lock upgrade); on PostgreSQL a READ COMMITTED transaction even
    if the ERP's engine is in AUTOCOMMIT (the SDK's writes need row locks and
    all-or-nothing).
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execution_options(isolation_level="READ COMMITTED")
        conn.begin()
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def write_tx(engine: Engine, doing: str = "writing to the store") -> Iterator[Connection]:
    """A transaction that holds the write lock from its first statement.

    On SQLite it starts with ``BEGIN IMMEDIATE`` so that two writers queue on the
    busy timeout instead of deadlocking when a read lock is upgraded; on
    PostgreSQL it is an ordinary transaction (rows are locked with
    ``SELECT … FOR UPDATE`` by the callers). Any failure rolls the whole
    transaction back; database failures become `StoreError`.
    """
    try:
        with engine.connect() as conn, connection_tx(conn):
            yield conn
    except DBAPIError as exc:
        raise store_error(doing, engine, exc) from exc
