"""Engines: URL resolution, SQLite tuning, and the write transaction."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
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


def store_error(doing: str, engine: Engine | None, exc: DBAPIError) -> StoreError:
    """A `StoreError` for a database failure: what failed, why, what to do; no secrets.

    A cause the SDK recognises is named with what to do about it: on SQLite a
    missing directory, a file that cannot be created, a file that is not a
    database, a lock held too long; on PostgreSQL a database or role that does
    not exist, refused credentials, a refused connection or a host that cannot be
    reached or resolved. Anything else shows the driver's first line. The URL's
    password never appears. ``engine`` is None when the URL is not known.
    """
    url = engine.url if engine is not None else None
    where = f" on {safe_url(url)}" if url is not None else ""
    orig = exc.orig if exc.orig is not None else exc
    detail = _driver_line(orig, url)
    cause = _sqlite_cause(orig, url) if _is_sqlite(orig, url) else _postgres_cause(orig, url)
    if cause is not None:
        return StoreError(f"{doing} failed{where}: {cause}")
    reason = type(orig).__name__
    if isinstance(exc, (OperationalError, InterfaceError)):
        advice = (
            f"the driver said: {detail}; check that the database is reachable, not locked "
            "by a long transaction, and that the URL and credentials are right, then retry"
        )
    else:
        advice = f"the database refused it: {detail}"
    return StoreError(f"{doing} failed{where} ({reason}); {advice}")


_DETAIL_LIMIT = 200


def _driver_line(orig: BaseException, url: URL | None) -> str:
    """The driver's message on one line, shortened, the URL's password masked."""
    text = " ".join(str(orig).split())[:_DETAIL_LIMIT] or type(orig).__name__
    password = url.password if url is not None else None
    return text.replace(str(password), "***") if password else text


def _is_sqlite(orig: BaseException, url: URL | None) -> bool:
    if url is not None:
        return url.get_backend_name() == "sqlite"
    return type(orig).__module__.startswith("sqlite3")


def _sqlite_cause(orig: BaseException, url: URL | None) -> str | None:
    """What an SQLite error means, by its error name, and what to do."""
    name = str(getattr(orig, "sqlite_errorname", ""))
    path = Path(url.database) if url is not None and url.database else None
    if name.startswith("SQLITE_CANTOPEN"):
        return _cannot_open(path)
    if name.startswith("SQLITE_NOTADB"):
        what = str(path) if path is not None else "the file"
        return (
            f"{what} is not an SQLite database (another kind of file, or damaged); "
            "point the URL at the store's own file, or at a new path to create one"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            "the database is locked: another connection held its write lock longer than "
            f"the busy timeout ({_BUSY_TIMEOUT_S:g} s); find the long transaction (another "
            "process using the same file) and retry once it ends"
        )
    if name.startswith("SQLITE_READONLY"):
        return "the database file is read-only; make it and its directory writable by this user"
    return None


def _cannot_open(path: Path | None) -> str:
    if path is None:
        return "SQLite cannot open or create the database file; check the path in the URL"
    parent = path.parent
    if not parent.exists():
        return (
            f"the directory {parent} does not exist; create it (mkdir -p {parent}) "
            "or give a path in an existing directory"
        )
    if path.is_dir():
        return f"{path} is a directory; give the path of a file (a new one is created)"
    if not parent.is_dir():
        return f"{parent} is not a directory; give a path in an existing directory"
    return (
        f"the file {path} cannot be opened or created; check that this user may "
        f"read and write it and create files in {parent}"
    )


_PG_DATABASE = re.compile(r'database "([^"]*)" does not exist')
_PG_ROLE = re.compile(r'role "([^"]*)" does not exist')
_PG_AUTH = re.compile(r'(password authentication failed for user "[^"]*"|no pg_hba\.conf entry)')
_PG_REFUSED = re.compile(r"connection refused", re.IGNORECASE)
_PG_UNRESOLVED = re.compile(
    r"failed to resolve host|could not translate host name|name or service not known",
    re.IGNORECASE,
)
_PG_UNREACHABLE = re.compile(
    r"no route to host|network is unreachable|timed out|timeout expired", re.IGNORECASE
)


def _postgres_cause(orig: BaseException, url: URL | None) -> str | None:
    """What a PostgreSQL error means, by SQLSTATE or the driver's message, and what to do.

    A failed connection carries no SQLSTATE in psycopg (the server's FATAL line is
    in the message), so both are read.
    """
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    message = str(orig)
    server = f"{url.host}:{url.port or 5432}" if url is not None and url.host else "the server"
    database, role, auth = (p.search(message) for p in (_PG_DATABASE, _PG_ROLE, _PG_AUTH))
    if state == "3D000" or database:
        name = database.group(1) if database else (url.database if url is not None else "")
        return (
            f'database "{name}" does not exist on {server}; create it (createdb {name}) '
            "or fix the database name in the URL"
        )
    if role:
        return (
            f'role "{role.group(1)}" does not exist on {server}; create it '
            f"(CREATE ROLE {role.group(1)} LOGIN) or fix the user name in the URL"
        )
    if state in {"28000", "28P01"} or auth:
        why = auth.group(1) if auth else "authentication failed"
        return (
            f"{server} refused the login ({why}); check the user name and password in the "
            "URL (or PGPASSWORD / ~/.pgpass) and the server's pg_hba.conf"
        )
    return _network_cause(message, server) if state is None else None


def _network_cause(message: str, server: str) -> str | None:
    if _PG_REFUSED.search(message):
        return (
            f"nothing accepts connections at {server} (connection refused); check that "
            "PostgreSQL is running there and that the host and port in the URL are right"
        )
    if _PG_UNRESOLVED.search(message):
        return f"the host of {server} cannot be resolved; check the host name in the URL"
    if _PG_UNREACHABLE.search(message):
        return (
            f"{server} cannot be reached (no route, or the connection timed out); check the "
            "host and port in the URL and that no firewall is in the way"
        )
    return None


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
