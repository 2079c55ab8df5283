"""SQLite snapshots in their own file beside the database, hashed by their bytes.

``<database>.sr-snap-<release>_<seq>`` is attached to the capture's connection,
the snapshot table is created in it ``WITHOUT ROWID``, keyed by the checkpoint's
key, and filled server-side in key order (``INSERT … SELECT … ORDER BY``),
and after the commit and ``DETACH`` the SHA-256 of the file's bytes is the
content hash: a few milliseconds for a 100,000-row table, where hashing the rows
through SQL would take the time of the copy itself. A restore attaches the file
again and, once its transaction holds the file's lock (so no SQLite writer can
change it any more), hashes the bytes and compares them with the recorded hash
before a row is read.

A new file is created by the SDK before SQLite attaches it (`create_file`):
exclusively (never through a name someone else put there), mode 0600 from the
start, then given the database file's permission bits (plus the owner's read and
write): as readable as the database it copies rows of, never more. (Left to
SQLite it would be 0644 under the usual umask, even beside a 0600 database.)

Not attachable (in-memory database, URI filename, a table in an attached
schema): the caller keeps the snapshot in the database instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safe_release._store import connection_tx, store_error
from safe_release.exceptions import CheckpointError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from sqlalchemy import Connection, Engine, Table

__all__ = [
    "ALIAS",
    "MAX_ATTACHED",
    "alias",
    "attached",
    "attached_all",
    "create_file",
    "file_hash",
    "hashing",
    "lock_file",
    "seal",
    "snapshot_path",
]

ALIAS = "sr_snapfile"
# the files attached together at most (SQLite's default limit is 10 per connection)
MAX_ATTACHED = 8
_READ = 1 << 20
# the page cache of a connection while it captures or restores (KiB; SQLite default 2,000)
_CACHE_KIB = 65_536
# and how much of the database it reads through mmap (bytes; SQLite default 0): a page
# read is then a memory access, not a read() into the cache. Not the snapshot file: one
# truncated by someone else while mapped would crash the process (SIGBUS), not fail
_MMAP_BYTES = 1 << 30


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


def create_file(path: Path, database: Path) -> None:
    """Create the empty snapshot file ``path``, as private as ``database`` (see above).

    ``O_EXCL`` (and ``O_NOFOLLOW``): a file or link already there is an error, not
    reused. The file is 0600 (or narrower, by the umask) from its creation, then
    gets the database's permission bits plus the owner's read and write.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
        try:
            mode = stat.S_IMODE(database.stat().st_mode) & 0o666
            if hasattr(os, "fchmod"):  # not on Windows, where the mode bits mean little
                os.fchmod(fd, mode | 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        msg = (
            f"cannot create the snapshot file {path.name} beside the database "
            f"({exc.strerror}); check that the database's directory is writable and "
            "that nothing else uses that name, then retry"
        )
        raise CheckpointError(msg) from exc


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
    file is detached. For the block, the connection's page cache is raised to
    `_CACHE_KIB` (and put back after): a capture's rows (a ``WITHOUT ROWID`` table
    keyed by the checkpoint's key, see `_snapshot.create_keyed`) are sorted in memory
    rather than through temporary files where no index gives the key order, and a
    restore's written pages are not spilled to the log before its commit. The
    database (not the snapshot file) is read through mmap (`_MMAP_BYTES`, put back
    after too): the scattered pages of a small restore cost no system call each.

    ``create``: a new file, written without a rollback journal and without a sync
    at commit (``journal_mode = OFF``, ``synchronous = OFF``). That is safe because
    the file is nobody's until the capture has returned: a capture that fails or
    crashes leaves a file no record names, which is deleted (the capture unlinks it
    on an error, and the next capture of the step before it starts). The caller
    makes it durable with `seal` (one ``fsync`` of the file and of its directory)
    before the capture returns, so before the release records it and before the
    release's body runs.
    """
    with attached_all(engine, {ALIAS: path}, doing, create=create) as conn:
        yield conn


def alias(n: int) -> str:
    """The schema name of the ``n``-th file attached together (0: `ALIAS`)."""
    return ALIAS if n == 0 else f"{ALIAS}_{n}"


@contextmanager
def attached_all(
    engine: Engine, files: Mapping[str, Path], doing: str, *, create: bool = False
) -> Iterator[Connection]:
    """`attached`, with each of ``files`` attached under its schema name (`alias`).

    For a restore of several tables in one transaction (`_together`); SQLite attaches
    at most `MAX_ATTACHED` files to a connection. ``create``: the files are new, made
    by `create_file` before they are attached.
    """
    if create:
        database = Path(str(engine.url.database))
        for path in files.values():
            create_file(path, database)
    try:
        with engine.connect() as conn:
            names: list[str] = []
            cache = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
            mapped = conn.exec_driver_sql("PRAGMA main.mmap_size").scalar()
            try:
                for name, path in files.items():
                    conn.exec_driver_sql(f"ATTACH DATABASE ? AS {name}", (os.fspath(path),))
                    names.append(name)
                    if create:
                        conn.exec_driver_sql(f"PRAGMA {name}.journal_mode = OFF")
                        conn.exec_driver_sql(f"PRAGMA {name}.synchronous = OFF")
                conn.exec_driver_sql(f"PRAGMA main.cache_size = -{_CACHE_KIB}")
                conn.exec_driver_sql(f"PRAGMA main.mmap_size = {_MMAP_BYTES}")
                with connection_tx(conn):
                    yield conn
            finally:
                _detach(conn, names, cache, mapped)
    except DBAPIError as exc:
        raise store_error(doing, engine, exc) from exc


def seal(path: Path) -> str:
    """Make a new snapshot file durable and return its hash (`file_hash`).

    The file's ``fsync`` (then its directory's, for the new name) runs in a thread
    while the bytes are hashed, so the capture pays for the longer of the two.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sr-snap-sync") as pool:
        synced = pool.submit(_fsync, path)
        digest = file_hash(path)
        synced.result()
    return digest


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):  # a directory cannot be opened on some systems
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def hashing(path: Path) -> Future[str]:
    """`file_hash` of ``path``, computed in a thread (the caller runs its SQL meanwhile).

    The thread's pool is shut down when the hash is done; the caller must wait for
    the result before it commits.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sr-snap-hash")
    try:
        return pool.submit(file_hash, path)
    finally:
        pool.shutdown(wait=False)


def _detach(conn: Connection, names: list[str], cache: object, mapped: object) -> None:
    try:
        conn.rollback()  # nothing is pending after a commit; DETACH needs no transaction
        for name in names:
            conn.exec_driver_sql(f"DETACH DATABASE {name}")
        conn.exec_driver_sql(f"PRAGMA main.cache_size = {int(str(cache))}")
        conn.exec_driver_sql(f"PRAGMA main.mmap_size = {int(str(mapped or 0))}")
        conn.commit()
    except DBAPIError:  # the connection is broken: never hand it out again, attached
        conn.invalidate()


def lock_file(conn: Connection, name: str = ALIAS) -> None:
    """Read the attached file once, so the transaction holds its lock while it is hashed."""
    conn.execute(text(f"SELECT count(*) FROM {name}.sqlite_master"))  # noqa: S608 - our alias
