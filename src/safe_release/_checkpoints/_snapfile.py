"""SQLite snapshots in their own file beside the database, hashed by their bytes.

``<database>.sr-snap-<release>_<seq>`` is attached to the capture's connection,
the snapshot table is created and filled in it server-side (``INSERT … SELECT``),
and after the commit and ``DETACH`` the SHA-256 of the file's bytes is the
content hash: a few milliseconds for a 100,000-row table, where hashing the rows
through SQL would take the time of the copy itself. A restore attaches the file
again and, once its transaction holds the file's lock (so no SQLite writer can
change it any more), hashes the bytes and compares them with the recorded hash
before a row is read.

Not attachable (in-memory database, URI filename, a table in an attached
schema): the caller keeps the snapshot in the database instead.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safe_release._store._engine import store_error

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection, Engine, Table

__all__ = ["ALIAS", "attached", "file_hash", "lock_file", "snapshot_path"]

ALIAS = "sr_snapfile"
_READ = 1 << 20


def snapshot_path(engine: Engine, table: Table, name: str) -> Path | None:
    """Where the file of snapshot ``name`` goes, or None if this database has no file."""
    url = engine.url
    database = url.database
    if engine.dialect.name != "sqlite" or table.schema not in {None, "main"}:
        return None
    if not database or database == ":memory:" or database.startswith("file:") or url.query:
        return None
    db = Path(database)
    if not db.is_file():
        return None
    return db.with_name(f"{db.name}.{name.replace('sr_snap_', 'sr-snap-', 1)}")


def file_hash(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_READ):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@contextmanager
def attached(engine: Engine, path: Path, doing: str, *, create: bool) -> Iterator[Connection]:
    """A connection with ``path`` attached as ``sr_snapfile``, in a write transaction.

    ``ATTACH`` cannot run inside a transaction, so it comes first; then
    ``BEGIN IMMEDIATE`` takes the write lock of the database and of the file. The
    transaction commits when the block ends (rolls back on an error), then the
    file is detached. ``create``: start a new file (journal mode DELETE, so that
    all its bytes are in the file once committed).
    """
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ALIAS}", (os.fspath(path),))
            try:
                if create:
                    conn.exec_driver_sql(f"PRAGMA {ALIAS}.journal_mode = DELETE")
                yield from _transaction(conn)
            finally:
                _detach(conn)
    except DBAPIError as exc:
        raise store_error(doing, engine, exc) from exc


def _detach(conn: Connection) -> None:
    try:
        conn.rollback()  # nothing is pending after a commit; DETACH needs no transaction
        conn.exec_driver_sql(f"DETACH DATABASE {ALIAS}")
        conn.commit()
    except DBAPIError:  # the connection is broken: never hand it out again, attached
        conn.invalidate()


def _transaction(conn: Connection) -> Iterator[Connection]:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def lock_file(conn: Connection) -> None:
    """Read the attached file once, so the transaction holds its lock while it is hashed."""
    conn.execute(text(f"SELECT count(*) FROM {ALIAS}.sqlite_master"))  # noqa: S608 - constant
