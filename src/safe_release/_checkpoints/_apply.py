"""Putting a table's snapshot back: the SQL side of `TableCheckpoint.restore`.

One `Applier` per checkpoint: `prepare` checks the snapshot (or leaves the per-row
check to the copy) and takes the change log into account; the `Restore` it returns
deletes, updates and inserts only what differs, choosing the cheapest order the keys
allow (`Restore.run`), or one statement at a time when several tables are restored
together (`Restore.step`, see `_together`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from safe_release._checkpoints import _rowhash, _snapshot
from safe_release._checkpoints._columns import ColumnKinds, column_kinds
from safe_release._checkpoints._diff import Diff
from safe_release._checkpoints._tracking import ChangeLog
from safe_release.exceptions import SnapshotMissingError, SnapshotTamperedError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import ColumnElement, Connection, Table

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState

__all__ = ["Applier", "Restore", "as_int", "as_list", "as_str", "missing", "tampered"]

# above this share of the snapshot's rows in the change log, one pass over the whole
# table is cheaper than looking each logged key up
_LOGGED_MAX = 0.25
# for this one transaction: the hash joins of a whole-table diff stay in memory
_PG_WORK_MEM = "64MB"


@dataclass(frozen=True)
class Applier:
    """What a restore needs of its checkpoint: table, key, scope, dialect, description."""

    table: Table
    key: list[str]
    where: ColumnElement[bool] | None
    dialect: str
    description: str

    def apply(
        self,
        conn: Connection,
        snap: Table,
        state: JsonState,
        ctx: CheckpointContext,
        *,
        check: bool,
    ) -> str:
        """Verify (``check``: the in-database snapshot), then delete, update, insert.

        One table alone: `prepare`, its statements in the cheapest order
        (`Restore.run`), then the change log dropped (`Restore.finish`).
        """
        restore = self.prepare(conn, snap, state, ctx, check=check)
        restore.run(conn)
        restore.finish(conn)
        return restore.detail()

    def prepare(
        self,
        conn: Connection,
        snap: Table,
        state: JsonState,
        ctx: CheckpointContext,
        *,
        check: bool,
    ) -> Restore:
        """Everything before the first row is written; the restore, ready to run.

        On PostgreSQL the table is locked first when there is a log (no write may
        slip past the dropped log), then the snapshot is checked: only the rows the
        restore applies need their hash checked when the log is used (`_rowhash`).
        An empty table (every row deleted) gets every snapshot row in one
        ``INSERT … SELECT``, with nothing to compare (`Restore.refill`), checked as
        it is copied.
        """
        log, logged = ChangeLog(self.table, self.key, ctx.release_id, ctx.seq), None
        size: int | None = None
        kinds = column_kinds(conn, self.table)
        if conn.dialect.name == "postgresql":  # whole-table joins in memory, not in batches
            lock = (
                f"; LOCK TABLE {_snapshot.quoted(conn, self.table)} IN ACCESS EXCLUSIVE MODE"
                if state.get("log") is not None
                else ""
            )
            _snapshot.run(conn, f"SET LOCAL work_mem = '{_PG_WORK_MEM}'{lock}")
        if check and not _snapshot.exists(conn, snap):
            missing(self.description, snap.name)
        empty = not conn.execute(self.diff(snap, None).any_row()).scalar_one()
        if state.get("log") is not None:
            if not empty:  # counted up to the limit only: a larger log is not used
                limit = int(_LOGGED_MAX * as_int(state.get("rows")))
                # the captured columns, and the generated ones a capture leaves out
                columns = {str(c) for c in as_list(state, "columns")} | kinds.generated
                size = log.complete(conn, sorted(columns), limit)
                logged, size = (
                    (log.table, size) if size is not None and size <= limit else (None, None)
                )
            log.drop_triggers(conn)  # the restore's own writes are not logged
        diff = self.diff(snap, logged, kinds)
        if not empty and check:
            self.check_snapshot(conn, snap, state, ctx, logged)
        pk = sorted(c.name for c in self.table.primary_key.columns)
        # the key is the primary key and the table's one unique set of columns: the
        # update cannot collide with a row the delete would remove (no other unique
        # column or exclusion constraint), so it may run first and its count can spare
        # the rest
        first = not empty and pk == sorted(self.key) and log.key_only_unique(conn)
        return Restore(
            self, diff, state, ctx, log, check=check, empty=empty, size=size, update_first=first
        )

    def diff(self, snap: Table, logged: Table | None, kinds: ColumnKinds | None = None) -> Diff:
        """The statements that compare and apply ``snap`` (``logged``: only those keys).

        ``kinds``: the table's generated and ``ALWAYS`` identity columns, and those
        compared by their exact form (`_columns`); without, every column is compared
        with its type's equality (enough to find keys and count rows).
        """
        return Diff(
            self.table,
            snap,
            self.key,
            where=self.where,
            dialect=self.dialect,
            logged=logged,
            kinds=kinds,
        )

    def check_snapshot(
        self,
        conn: Connection,
        snap: Table,
        state: JsonState,
        ctx: CheckpointContext,
        logged: Table | None,
        *,
        rows: bool = True,
    ) -> None:
        """The snapshot's rows are as captured (those the restore applies, see `_rowhash`).

        ``rows=False``: per-row hashes are not checked here (the caller checks them
        as it copies); count and sum still are.
        """
        recorded = as_str(state.get("hash"))
        if recorded is not None and _snapshot.pg_row_hashed(conn, recorded):
            seed = _snapshot.pg_seed(conn, ctx)
            exact = _rowhash.recorded_forms(conn, state.get("exact"))
            count, total, bad = _rowhash.verify(
                conn, snap, seed, logged, self.key, exact=exact, rows=rows
            )
            if bad:
                tampered(
                    self.description,
                    snap.name,
                    f"{bad} of the rows this restore would put back differ from their capture",
                )
            digest = _rowhash.digest(count, total, recorded[: len(_rowhash.KIND)])
        else:
            count, digest = _snapshot.snapshot_hash(conn, snap, ctx, recorded)
        if count != state.get("rows") or digest != recorded:
            tampered(
                self.description,
                snap.name,
                f"{count} rows now, {state.get('rows')} recorded, or their content changed",
            )


@dataclass
class Restore:
    """One table's restore in a transaction: checked, ready for its statements.

    `run`: the statements of one table restored alone, in the cheapest order. `step`:
    one statement at a time, for a restore of several tables together (`_together`).
    """

    applier: Applier
    diff: Diff
    state: JsonState
    ctx: CheckpointContext
    log: ChangeLog
    check: bool
    empty: bool  # no row at all: refilled in one verified INSERT … SELECT
    size: int | None  # the logged keys, when the log is used
    update_first: bool
    counts: dict[str, int] = field(
        default_factory=lambda: {"changed": 0, "inserted": 0, "deleted": 0}
    )

    def detail(self) -> str:
        """``N changed, N inserted, N deleted``."""
        c = self.counts
        return f"{c['changed']} changed, {c['inserted']} inserted, {c['deleted']} deleted"

    def run(self, conn: Connection) -> None:
        """Every statement this table needs, the counts sparing those they can."""
        if self.empty:
            self.refill(conn)
        elif self.update_first:
            self._changes_counted(conn)
        else:
            for statement in ("deleted", "changed", "inserted"):
                if (
                    statement != "inserted"
                    or self.diff.logged is not None
                    or not self._none_missing(conn)
                ):
                    self.step(conn, statement)

    def statements(self, conn: Connection) -> tuple[str, ...]:
        """The statements of one pass over this table, in the order it needs them.

        A table found empty that has rows by now (another checkpoint of it, with
        another scope, refilled it) is compared as usual, its snapshot checked first.
        """
        if self.empty and conn.execute(self.diff.any_row()).scalar_one():
            self.empty = False
            if self.check:
                self.applier.check_snapshot(conn, self.diff.snap, self.state, self.ctx, None)
        if self.empty:
            return ("refill",)
        if self.update_first:
            return ("changed", "deleted", "inserted")
        return ("deleted", "changed", "inserted")

    def step(self, conn: Connection, statement: str) -> int:
        """Run one statement (``refill``, ``deleted``, ``changed``, ``inserted``); rows."""
        if statement == "refill":
            return self.refill(conn)
        count = {"preserve_rowcount": True}
        if statement == "deleted":
            done = conn.execute(self.diff.delete_extra(), execution_options=count).rowcount
        elif statement == "changed":
            upd = self.diff.update_changed()
            with _identities_settable(conn, self.applier.table, self.diff.identities):
                done = 0 if upd is None else conn.execute(upd, execution_options=count).rowcount
        else:
            done = conn.execute(self.diff.insert_missing(), execution_options=count).rowcount
        self.counts[statement] += done
        return int(done)

    def finish(self, conn: Connection) -> None:
        """Drop the change log (its triggers went in `Applier.prepare`)."""
        if self.state.get("log") is not None:
            self.log.drop_table(conn)

    def _changes_counted(self, conn: Connection) -> None:
        """Update first; delete and insert only where the counts leave room for them.

        With the log (``size`` keys): every logged key updated means each is in
        the table and in the snapshot, so nothing is extra or missing. Without: every
        row of the table updated means none is extra (``where`` None).
        """
        changed = self.step(conn, "changed")
        diff = self.diff
        if diff.logged is not None and changed == self.size:
            return
        if (
            diff.logged is not None
            or diff.where is not None
            or changed != conn.execute(diff.count_in_scope()).scalar_one()
        ):
            self.step(conn, "deleted")
        if diff.logged is not None or not self._none_missing(conn):
            self.step(conn, "inserted")

    def refill(self, conn: Connection) -> int:
        """The table is empty: insert every snapshot row, verified (one pass on PostgreSQL).

        With per-row hashes the count and sum are checked first, and each row's
        hash as it is copied: a row that fails is not inserted, and fewer rows
        than recorded refuses the restore (the transaction is rolled back).
        """
        diff, state, applier = self.diff, self.state, self.applier
        hashed = self.check and _snapshot.pg_row_hashed(conn, as_str(state.get("hash")))
        if self.check:
            applier.check_snapshot(conn, diff.snap, state, self.ctx, None, rows=not hashed)
        if hashed:
            inserted = _rowhash.insert_verified(
                conn,
                applier.table,
                diff.snap,
                _snapshot.pg_seed(conn, self.ctx),
                _rowhash.recorded_forms(conn, state.get("exact")),
                names=diff.inserted,
                overriding=diff.overriding,
            )
            if inserted != state.get("rows"):
                bad = as_int(state.get("rows")) - inserted
                tampered(
                    applier.description,
                    diff.snap.name,
                    f"{bad} of the rows this restore would put back differ from their capture",
                )
        else:
            inserted = conn.execute(
                diff.insert_all(), execution_options={"preserve_rowcount": True}
            ).rowcount
        self.counts["inserted"] += inserted
        self.empty = False  # a later pass (several tables) compares as usual
        return int(inserted)

    def _none_missing(self, conn: Connection) -> bool:
        """After the extra rows are deleted: no snapshot key is gone from the table.

        Every row left in scope has a snapshot key, and the primary key makes them
        distinct: as many rows in scope as in the snapshot means all are there (one
        count instead of an anti-join over the whole snapshot).
        """
        pk = sorted(c.name for c in self.applier.table.primary_key.columns)
        if pk != sorted(self.applier.key):
            return False
        count = conn.execute(self.diff.count_in_scope()).scalar_one()
        return bool(count == self.state.get("rows"))


@contextmanager
def _identities_settable(conn: Connection, table: Table, names: list[str]) -> Iterator[None]:
    """PostgreSQL: ``names`` (ALWAYS identities) made GENERATED BY DEFAULT for the block.

    An UPDATE may then put a row's captured identity back in place: deleting and
    re-inserting it would fire delete triggers and cascade to the rows that refer to
    it. The change is part of the restore's transaction (rolled back with it).
    """
    if not names:
        yield
        return
    target = _snapshot.quoted(conn, table)
    quote = conn.dialect.identifier_preparer.quote
    for name in names:
        _snapshot.run(
            conn, f"ALTER TABLE {target} ALTER COLUMN {quote(name)} SET GENERATED BY DEFAULT"
        )
    yield
    for name in names:
        _snapshot.run(
            conn, f"ALTER TABLE {target} ALTER COLUMN {quote(name)} SET GENERATED ALWAYS"
        )


def missing(description: str, name: str) -> NoReturn:
    """The snapshot ``name`` is gone: SnapshotMissingError saying what to do."""
    msg = (
        f"the snapshot {name} of {description} is gone (dropped or pruned); "
        "nothing was restored. Restore the rows from a backup"
    )
    raise SnapshotMissingError(msg)


def tampered(description: str, name: str, how: str) -> NoReturn:
    """The snapshot ``name`` changed since the capture: SnapshotTamperedError."""
    msg = (
        f"the snapshot {name} of {description} was altered since the capture "
        f"({how}); nothing was restored. Find out who changed it; restore the rows "
        "from a backup"
    )
    raise SnapshotTamperedError(msg)


def as_list(state: JsonState, name: str) -> list[Any]:
    value = state.get(name)
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int:
    return value if isinstance(value, int) else 0
