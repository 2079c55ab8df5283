"""Restoring table checkpoints of one database together, in one transaction.

A release that checkpointed ``orders`` and ``order_lines`` cannot put them back one
table at a time when its job both deleted an order (with its lines) and inserted
one: re-inserting the deleted lines needs their order back first, and deleting the
new order needs its new lines gone first. Restored alone, each table's restore
would break a foreign key whichever comes first.

So the table checkpoints of a release that share a database (`batch_records`: not
split by config checkpoints or tables of other databases between them) are restored
in one transaction (`restore_jobs`):

- foreign keys are checked at the commit where the database allows it: SQLite's
  ``PRAGMA defer_foreign_keys``, PostgreSQL's ``SET CONSTRAINTS ALL DEFERRED`` (for
  constraints declared ``DEFERRABLE``);
- otherwise each table's statements (delete the rows added, update the rows
  changed, insert the rows deleted) run one at a time, each in a savepoint, pass
  after pass: a statement the database refuses for now (a row it needs is not back
  yet) is rolled back to its savepoint and tried again in the next pass, after the
  others. A pass in which every refused statement is refused again and nothing else
  changed ends the restore with that refusal, and nothing is restored. After the
  first pass without a refusal, one more when rows were deleted (a cascade may have
  removed rows of a table whose statements had already run);
- on PostgreSQL the tables with a change log are locked all at once, or the restore
  waits holding none of them (`_lock_all`): taken one by one, the locks could
  deadlock with the application writing the same tables in another order.

One table alone keeps its cheapest path (`Restore.run`). On SQLite each snapshot
file is attached under its own schema name (at most `_snapfile.MAX_ATTACHED` at a
time: more are restored in several transactions, in order).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError, OperationalError

from safe_release._checkpoints import _snapfile, _snapshot
from safe_release._checkpoints._apply import Applier, Restore, missing, tampered
from safe_release._store import write_tx
from safe_release.exceptions import CheckpointError, RestoreBlockedError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from concurrent.futures import Future
    from pathlib import Path

    from sqlalchemy import Connection, Engine, Row, Table

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState

__all__ = ["RestoreJob", "batch_records", "restore_jobs"]

# passes over the statements of several tables before giving up (each pass that
# makes progress may unblock others; a cascade may need one more)
_MAX_PASSES = 8
# how long a restore of several tables waits for their locks (PostgreSQL), seconds
_LOCK_WAIT_S = 60.0
RESTORE_LOCK_WAIT_S = 60.0
"""Seconds a restore waits for a row or table lock before `RestoreBlockedError`."""
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class RestoreJob:
    """One table checkpoint's restore: what `restore_jobs` needs of it.

    ``snapshot(schema)``: the snapshot's table, in ``schema`` (an attached file's
    name) or where the checkpoint keeps it (None). ``path``: the SQLite snapshot
    file, or None when the snapshot is a table in the database.
    """

    engine: Engine
    description: str
    applier: Applier
    state: JsonState
    ctx: CheckpointContext
    path: Path | None
    snapshot: Callable[[str | None], Table]


def restore_jobs(jobs: Sequence[RestoreJob]) -> list[str]:
    """Restore ``jobs`` (one database) in one transaction; what each did, in order."""
    for job in jobs:
        if job.path is not None and not job.path.is_file():
            missing(job.description, job.path.name)
    done: list[str] = []
    files = [j for j in jobs if j.path is not None]
    if len(files) <= _snapfile.MAX_ATTACHED:
        return _restore_or_settle(jobs)
    for start in range(0, len(jobs), _snapfile.MAX_ATTACHED):  # SQLite's attach limit
        done += _restore_or_settle(jobs[start : start + _snapfile.MAX_ATTACHED])
    return done


class _Refused(Exception):  # noqa: N818 - a signal, caught below
    """One table's cheapest order was refused by the database: settle it instead."""


def _restore_or_settle(jobs: Sequence[RestoreJob]) -> list[str]:
    """One table in its cheapest order, else (or several tables) statement by statement.

    A table whose rows refer to each other (a category and its parent) may need its
    delete after its update where the cheapest order deletes first: the refused
    transaction is rolled back and the restore runs again, settling (no savepoint
    slows the cheapest order down).
    """
    try:
        if len(jobs) > 1:
            return _restore(jobs, settle=True)
        try:
            return _restore(jobs, settle=False)
        except _Refused:
            return _restore(jobs, settle=True)
    except StoreError as exc:
        if not _waited_for_a_lock(exc):
            raise
        names = ", ".join(j.description for j in jobs)
        msg = (
            f"restoring {names} waited as long as it may (PostgreSQL: "
            f"{RESTORE_LOCK_WAIT_S:g} s; SQLite: the engine's busy timeout) for a lock "
            "another transaction holds, and gave up; nothing was restored. Often it is "
            "the job's own session, still holding uncommitted changes: roll it back or "
            "close it "
            "before the exception leaves the release (or pass it as release(..., "
            "sessions=[session])), then run 'safe-release recover' (store.recover())"
        )
        raise RestoreBlockedError(msg) from exc


def _waited_for_a_lock(exc: StoreError) -> bool:
    """Whether the store error is a lock wait that ran out (PostgreSQL or SQLite)."""
    cause = getattr(exc.__cause__, "orig", None)
    if getattr(cause, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(cause)


def _restore(jobs: Sequence[RestoreJob], *, settle: bool) -> list[str]:
    doing = "restoring " + ", ".join(j.description for j in jobs)
    aliases = {i: _snapfile.alias(i) for i, j in enumerate(jobs) if j.path is not None}
    if not aliases:
        with write_tx(jobs[0].engine, doing) as conn:
            return _apply(conn, jobs, aliases, settle=settle)
    files = {aliases[i]: j.path for i, j in enumerate(jobs) if j.path is not None}
    with _snapfile.attached_all(jobs[0].engine, files, doing) as conn:
        for name in files:
            _snapfile.lock_file(conn, name)  # from here on no SQLite writer can change it
        # the bytes are hashed in threads while the statements run; nothing is
        # committed before the hashes are compared (a difference rolls it all back)
        hashes = {i: _snapfile.hashing(jobs[i].path) for i in aliases}  # type: ignore[arg-type]
        try:
            done = _apply(conn, jobs, aliases, settle=settle)
        except Exception:
            _compare_hashes(jobs, hashes)  # a mangled file may fail the SQL
            raise
        _compare_hashes(jobs, hashes)
        return done


def _compare_hashes(jobs: Sequence[RestoreJob], hashes: dict[int, Future[str]]) -> None:
    for i, hashed in hashes.items():
        job = jobs[i]
        if hashed.result() != job.state.get("hash"):
            name = job.path.name if job.path is not None else "?"
            tampered(job.description, name, "its bytes differ from the capture's")


def _apply(
    conn: Connection, jobs: Sequence[RestoreJob], aliases: dict[int, str], *, settle: bool
) -> list[str]:
    """Prepare every table, run their statements, drop their change logs."""
    if conn.dialect.name == "postgresql":  # never wait without bound on the job's locks
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(RESTORE_LOCK_WAIT_S * 1000)}")
    if settle:
        _defer_foreign_keys(conn)
        if conn.dialect.name == "postgresql":
            _lock_all(conn, [j.applier.table for j in jobs if j.state.get("log") is not None])
    restores = [
        j.applier.prepare(conn, j.snapshot(aliases.get(i)), j.state, j.ctx, check=j.path is None)
        for i, j in enumerate(jobs)
    ]
    if settle:
        _settle(conn, restores)
    else:
        try:
            restores[0].run(conn)
        except IntegrityError as exc:
            raise _Refused from exc
    for restore in restores:
        restore.finish(conn)
    return [r.detail() for r in restores]


def _defer_foreign_keys(conn: Connection) -> None:
    """Check foreign keys at the commit, where the database can (see the module doc)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # until this commit
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")


def _lock_all(conn: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL: lock every table with a change log at once, or wait holding none.

    Each restore locks its table (no write may slip past its dropped log). Taken one
    after the other, while the job's application still writes, the locks could
    deadlock with a transaction that writes the same tables in another order; so all
    are asked for in one ``LOCK … NOWAIT`` in a savepoint, and while one is taken the
    savepoint is rolled back (releasing the others) and the request tried again, up to
    `_LOCK_WAIT_S`.
    """
    if not tables:
        return
    names = ", ".join(sorted({_snapshot.quoted(conn, t) for t in tables}))
    deadline, delay = time.monotonic() + _LOCK_WAIT_S, 0.02
    while not _try_lock(conn, names, last=time.monotonic() + delay > deadline):
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _try_lock(conn: Connection, names: str, *, last: bool) -> bool:
    """One ``LOCK … NOWAIT`` of ``names`` in a savepoint: taken, or not (raised if ``last``)."""
    try:
        with conn.begin_nested():
            _snapshot.run(conn, f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
    except OperationalError as exc:
        if last or getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return False
    return True


def _settle(conn: Connection, restores: Sequence[Restore]) -> None:
    """Pass over every table's statements until none is refused.

    A statement refused by the database (a foreign key or unique row not there yet
    or not gone yet) is rolled back to its savepoint and tried again next pass; a
    pass in which refusals remain and nothing changed ends it with the refusal.
    After the first pass with no refusal, one more pass when rows were deleted: a
    cascade may have removed or changed rows of a table whose statements ran
    before. Not until nothing changes: a trigger that stamps every updated row would
    keep changing them.
    """
    confirmed = False
    refused: IntegrityError | None = None
    for _ in range(_MAX_PASSES):
        progress, deleted, refused = 0, 0, None
        for restore in restores:
            for statement in restore.statements(conn):
                rows, error = _attempt(conn, restore, statement)
                progress += rows
                deleted += rows if statement == "deleted" else 0
                refused = error or refused
        if refused is None and (confirmed or not deleted):
            return
        if refused is None:
            confirmed = True
        elif progress == 0:
            raise refused
    if refused is not None:
        raise refused
    msg = (
        f"the restore of {len(restores)} tables did not settle in {_MAX_PASSES} passes; "
        "nothing was restored"
    )
    raise CheckpointError(msg)


def _attempt(
    conn: Connection, restore: Restore, statement: str
) -> tuple[int, IntegrityError | None]:
    """Run one statement: (rows, None), or (0, the database's refusal).

    In a savepoint on PostgreSQL (an error aborts its whole transaction otherwise);
    SQLite backs a refused statement out by itself, and a savepoint would copy every
    page the statement writes to a sub-journal.
    """
    try:
        if conn.dialect.name == "sqlite":
            return restore.step(conn, statement), None
        with conn.begin_nested():
            return restore.step(conn, statement), None
    except IntegrityError as exc:
        return 0, exc


def batch_records(rows: list[Row[Any]]) -> list[list[Row[Any]]]:
    """``rows`` in order, the table checkpoints of one database put together.

    A batch stands where its first record stood. Config checkpoints (in the store,
    apart from the ERP's rows) and table checkpoints of other databases do not split
    it; a custom checkpoint (its code may read the tables) ends every batch open.
    """
    batches: list[list[Row[Any]]] = []
    open_batches: dict[str, list[Row[Any]]] = {}
    for row in rows:
        database = _database(row)
        if database is not None and database in open_batches:
            open_batches[database].append(row)
            continue
        batch = [row]
        batches.append(batch)
        if database is not None:
            open_batches[database] = batch
        elif row.kind != "config":
            open_batches = {}
    return batches


def _database(row: Row[Any]) -> str | None:
    """The database of a table checkpoint's record that is to be restored, else None."""
    if row.kind != "table" or row.status == "capturing":
        return None
    try:
        state = json.loads(row.state)
    except ValueError:
        return None
    database = state.get("database") if isinstance(state, dict) else None
    return database if isinstance(database, str) else None
