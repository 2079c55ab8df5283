"""``table_checkpoint``: rows of any table of the ERP's database, copied server-side."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BINARY,
    VARBINARY,
    BindParameter,
    Boolean,
    ColumnElement,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import CompileError, DBAPIError, IntegrityError, NoSuchTableError, SAWarning
from sqlalchemy.sql.visitors import iterate

from safe_release._checkpoints import _rowhash, _snapfile, _snapshot
from safe_release._checkpoints._apply import Applier
from safe_release._checkpoints._columns import (
    ColumnKinds,
    column_kinds,
    keys_without_equality,
)
from safe_release._checkpoints._together import RestoreJob, restore_jobs
from safe_release._checkpoints._tracking import ChangeLog
from safe_release._store import read_tx, safe_url, store_error, write_tx
from safe_release.exceptions import (
    CheckpointError,
    InvalidArgumentError,
    SnapshotTamperedError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from sqlalchemy import Connection
    from sqlalchemy.sql.expression import FromClause

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState

__all__ = ["TableCheckpoint", "database_identity", "restore_tables", "table_checkpoint"]

_BINARY = (LargeBinary, BINARY, VARBINARY)


def database_identity(engine: Engine) -> str:
    """The database a table lives in, as recorded in a checkpoint (no password)."""
    return safe_url(engine)


def table_checkpoint(
    engine: Engine,
    table: Table | type[Any] | str,
    *,
    where: str | ColumnElement[bool] | None = None,
    key: str | Sequence[str] | None = None,
) -> TableCheckpoint:
    """Checkpoint the rows of ``table`` (those matching ``where``) in ``engine``'s database.

    ``table`` is an SQLAlchemy ``Table``, an ORM model class, or a name (``"prices"``
    or ``"schema.prices"``) reflected from the database. ``where`` limits the
    checkpoint to some rows (an SQL string or an SQLAlchemy expression). ``key``
    names the columns that identify a row (default: the primary key; required for a
    table without one). Capture copies the rows into a snapshot table in the same
    database; restore puts back, in one transaction, only the rows that differ.
    """
    if not isinstance(engine, Engine):
        msg = f"table_checkpoint() needs an SQLAlchemy Engine, not {type(engine).__name__}"
        raise InvalidArgumentError(msg)
    resolved = _resolve(engine, table)
    return TableCheckpoint(engine, resolved, where=where, key=_key(resolved, key))


def _resolve(engine: Engine, table: object) -> Table:
    if isinstance(table, Table):
        return table
    inner = getattr(table, "__table__", None)
    if isinstance(inner, Table):
        return inner
    if not isinstance(table, str) or not table.strip():
        msg = (
            f"table_checkpoint() takes a Table, an ORM model class or a table name, not {table!r}"
        )
        raise InvalidArgumentError(msg)
    schema, _, name = table.rpartition(".")
    try:
        with warnings.catch_warnings():
            # a type SQLAlchemy does not know (xml, point, an extension's) is reflected
            # as NullType: the checkpoint copies and compares by the database's own types
            warnings.filterwarnings("ignore", "Did not recognize type", SAWarning)
            return Table(name, MetaData(), schema=schema or None, autoload_with=engine)
    except NoSuchTableError:
        msg = (
            f"table {table!r} does not exist in {safe_url(engine)}; check the name (and "
            "the schema, as 'schema.table'), or create the table first"
        )
        raise InvalidArgumentError(msg) from None
    except DBAPIError as exc:
        doing = f"reading the definition of table {table!r}"
        raise store_error(doing, engine, exc) from exc


def _key(table: Table, key: str | Sequence[str] | None) -> list[str]:
    names = (
        [c.name for c in table.primary_key.columns]
        if key is None
        else ([key] if isinstance(key, str) else list(key))
    )
    if not names:
        msg = (
            f"table {table.name!r} has no primary key; give key= the columns that "
            "identify a row, e.g. key=('sku', 'store')"
        )
        raise InvalidArgumentError(msg)
    unknown = [n for n in names if n not in table.c]
    if unknown:
        msg = (
            f"key= names columns {unknown} that table {table.name!r} does not have; "
            f"its columns are {[c.name for c in table.columns]}"
        )
        raise InvalidArgumentError(msg)
    return names


def _where_sql(where: str | ColumnElement[bool] | None, engine: Engine) -> str | None:
    """``where`` as the SQL recorded with the snapshot, shown by ``describe()`` and run.

    An expression is written with its values inline, as the database reads it (a
    ``%`` that the dialect doubles for its driver is single again). One SQLAlchemy
    cannot write so (a ``bytes`` value: its literal would be text, or fail) is
    refused: a recovery rebuilds the checkpoint from this text, and the live
    checkpoint runs the same text, so both select the same rows.
    """
    if where is None:
        return None
    sql = where if isinstance(where, str) else _expression_sql(where, engine)
    if not sql.strip() or "\x00" in sql:
        shown = "an empty string" if not sql.strip() else "a NUL character (\\x00)"
        msg = (
            f"where= contains {shown}; give an SQL condition such as \"store = 'US'\" "
            "(a bytes value as an SQL literal, e.g. X'00FF' or '\\x00ff'::bytea)"
        )
        raise InvalidArgumentError(msg)
    return sql


def _expression_sql(where: ColumnElement[bool], engine: Engine) -> str:
    binary = any(
        isinstance(b, BindParameter)
        and (isinstance(b.value, (bytes, bytearray, memoryview)) or isinstance(b.type, _BINARY))
        for b in iterate(where)
    )
    try:
        sql = (
            None
            if binary
            else str(where.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        )
    except CompileError:
        sql = None
    if sql is None:
        msg = (
            "where= is an SQLAlchemy expression with a value that cannot be written "
            "as SQL text (a bytes value, or a type without a literal form); the "
            "checkpoint records its where as SQL, so write it as an SQL string, e.g. "
            "where=\"blob = '\\x00ff'::bytea\" (PostgreSQL) or "
            "where=\"blob = X'00FF'\" (SQLite)"
        )
        raise InvalidArgumentError(msg)
    # every value is inline, so each % in the text is one the dialect doubled
    doubled = engine.dialect.identifier_preparer.quote("%") != '"%"'
    return sql.replace("%%", "%") if doubled else sql


def _where_clause(sql: str) -> ColumnElement[bool]:
    """The recorded SQL as a condition, taken as it is and parenthesized.

    As it is: a ``:word`` in a string literal is not a bind parameter (``text()``
    would take it for one). Parenthesized: ``a OR b`` stays one term next to the
    restore's own conditions; the newline ends a trailing ``--`` comment.
    """
    return literal_column(f"({sql}\n)", Boolean)


class TableCheckpoint:
    """The rows of one table (optionally a ``where`` subset); see `table_checkpoint`."""

    kind = "table"

    def __init__(
        self,
        engine: Engine,
        table: Table,
        *,
        where: str | ColumnElement[bool] | None,
        key: Sequence[str],
    ) -> None:
        if where is not None and not isinstance(where, (str, ColumnElement)):
            hint = (
                " (decode bytes first, or write the value as an SQL literal)"
                if isinstance(where, (bytes, bytearray, memoryview))
                else ""
            )
            msg = (
                f"where= must be an SQL string or an SQLAlchemy expression, not "
                f"{type(where).__name__}{hint}"
            )
            raise InvalidArgumentError(msg)
        self._engine, self._table, self._key = engine, table, list(key)
        self._where_sql = _where_sql(where, engine)
        self._where = None if self._where_sql is None else _where_clause(self._where_sql)

    @property
    def table(self) -> Table:
        """The checkpointed table."""
        return self._table

    @property
    def engine(self) -> Engine:
        """The engine of the table's database."""
        return self._engine

    @property
    def qualified_name(self) -> str:
        """``schema.table`` or ``table``."""
        t = self._table
        return f"{t.schema}.{t.name}" if t.schema else t.name

    def describe(self) -> str:
        """``table prices`` or ``table prices where store = 'US'``."""
        scope = f" where {self._where_sql}" if self._where_sql else ""
        return f"table {self.qualified_name}{scope}"

    def __repr__(self) -> str:
        return f"<TableCheckpoint {self.describe()!r}>"

    # -- capture ----------------------------------------------------------------------

    def capture(self, ctx: CheckpointContext) -> JsonState:
        """Copy the rows into ``sr_snap_<release>_<seq>``, start the change log, record hash.

        On an SQLite file the snapshot goes to its own file beside the database
        (hashed by its bytes); elsewhere to a table beside the source (hashed by
        the database). One transaction: log, triggers and copy, or nothing.
        """
        name = _snapshot.snapshot_name(ctx.release_id, ctx.seq)
        log = ChangeLog(self._table, self._key, ctx.release_id, ctx.seq)
        path = _snapfile.snapshot_path(self._engine, self._table, name)
        doing = f"capturing {self.describe()}"
        exact: JsonState | None = None
        if path is None:
            with write_tx(self._engine, doing) as conn:
                columns, kinds = self._captured_columns(conn)
                tracked = log.create(conn)
                snap = _snapshot.snapshot_table(self._table, name, columns)
                if _snapshot.pg_row_hashed(conn):
                    exact = _rowhash.forms(kinds, columns)
                    hashing = (_snapshot.pg_seed(conn, ctx), _rowhash.recorded_forms(conn, exact))
                    self._fill(conn, snap, hashing)
                    count, total = _rowhash.totals(conn, snap)
                    digest = _rowhash.digest(count, total)
                else:
                    self._fill(conn, snap)
                    count, digest = _snapshot.snapshot_hash(conn, snap, ctx)
        else:
            path.unlink(missing_ok=True)  # left by a capture of this step that crashed
            try:
                with _snapfile.attached(self._engine, path, doing, create=True) as conn:
                    columns, _ = self._captured_columns(conn)
                    tracked = log.create(conn)
                    snap = _snapshot.snapshot_table(self._table, name, columns, _snapfile.ALIAS)
                    count = self._fill(conn, snap, keyed=True)
                digest = _snapfile.seal(path)  # durable before the capture returns
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        return {
            "database": database_identity(self._engine),
            "table": self._table.name,
            "schema": self._table.schema,
            "snapshot": name,
            "columns": list(columns),
            "key": list(self._key),
            "where": self._where_sql,
            "rows": count,
            "hash": digest,
            "file": None if path is None else path.name,
            "log": log.name if tracked else None,
            **({"exact": exact} if exact is not None else {}),
        }

    def _captured_columns(self, conn: Connection) -> tuple[list[str], ColumnKinds]:
        """The columns the snapshot holds: all but those the database generates; kinds."""
        kinds = column_kinds(conn, self._table)
        generated = kinds.generated
        if generated & set(self._key):
            msg = (
                f"the key columns {sorted(generated & set(self._key))} of "
                f"{self.describe()} are generated by the database; give key= columns "
                "the table stores"
            )
            raise CheckpointError(msg)
        for name, typ in keys_without_equality(conn, self._table, self._key).items():
            msg = (
                f"the key column {name!r} of {self.describe()} is of type {typ}, which has "
                "no equality operator: a restore could not match its rows with the "
                "snapshot's; give key= columns that have one (the primary key)"
            )
            raise CheckpointError(msg)
        return [c.name for c in self._table.columns if c.name not in generated], kinds

    def _fill(
        self,
        conn: Connection,
        snap: Table,
        hashing: tuple[str, Mapping[str, str | None]] | None = None,
        *,
        keyed: bool = False,
    ) -> int:
        """Create and fill the snapshot, check its keys, index it; the number of rows.

        ``hashing``: also store each row's keyed hash in ``sr_h`` (PostgreSQL,
        `_rowhash`): the SQL that reads the seed (`_snapshot.pg_seed`) and the columns
        hashed by their exact form (`_rowhash.recorded_forms`).
        ``keyed``: an SQLite snapshot file, created ``WITHOUT ROWID`` keyed by the key
        (`_snapshot.create_keyed`) and filled in key order; its primary key is the
        check (a NULL or repeated key fails the copy, and is then reported).
        """
        columns = [c.name for c in snap.columns]
        rows = select(*(self._table.c[c] for c in columns))
        if self._where is not None:
            rows = rows.where(self._where)
        counted = {"preserve_rowcount": True}
        if keyed:
            _snapshot.create_keyed(conn, self._table, snap, self._key)
            ordered = rows.order_by(*(self._table.c[k] for k in self._key))
            try:
                count = conn.execute(
                    snap.insert().from_select(columns, ordered), execution_options=counted
                ).rowcount
            except IntegrityError:
                self._check_keys(conn, rows.subquery("sr_rows"), every=True)
                raise
            return int(count)
        _snapshot.create_empty(conn, self._table, snap)
        if hashing is None:
            count = conn.execute(
                snap.insert().from_select(columns, rows), execution_options=counted
            ).rowcount
        else:
            target = _rowhash.add_column(conn, snap)
            with _snapshot.pg_pinned(conn):
                hashed = _rowhash.hashed_rows(conn, snap, rows, *hashing)
                count = conn.execute(
                    target.insert().from_select([*columns, _rowhash.COLUMN], hashed),
                    execution_options=counted,
                ).rowcount
        self._check_keys(conn, snap)
        _snapshot.add_key(conn, snap, self._key)
        return int(count)

    def _check_keys(self, conn: Connection, snap: FromClause, *, every: bool = False) -> None:
        """No row of ``snap`` has a NULL key, no two share one (`CheckpointError`).

        ``every``: look for NULLs in every key column (SQLite lets a primary key
        column that is not an INTEGER PRIMARY KEY hold NULL), not only the nullable
        ones outside the primary key.
        """
        keys = [snap.c[k] for k in self._key]
        nullable = [
            k
            for k in self._key
            if every or (self._table.c[k].nullable and not self._table.c[k].primary_key)
        ]
        if nullable:
            nulls = conn.execute(
                select(func.count())
                .select_from(snap)
                .where(or_(*(snap.c[n].is_(None) for n in nullable)))
            ).scalar_one()
            if nulls:
                msg = (
                    f"{nulls} rows of {self.describe()} have NULL in the key columns "
                    f"{nullable}; give key= columns that are never NULL"
                )
                raise CheckpointError(msg)
        pk = [c.name for c in self._table.primary_key.columns]
        if every or sorted(pk) != sorted(self._key):
            dup = conn.execute(
                select(*keys).group_by(*keys).having(func.count() > 1).limit(1)
            ).first()
            if dup is not None:
                msg = (
                    f"key= {self._key} does not identify the rows of {self.describe()}: "
                    "several rows share one key; give key= a unique set of columns"
                )
                raise CheckpointError(msg)

    # -- restore ------------------------------------------------------------------------

    def restore(self, state: JsonState, ctx: CheckpointContext) -> str:
        """Put back, in one transaction, the rows that differ from the snapshot.

        Only the keys in the change log are compared when the log is complete;
        otherwise the whole table. Triggers and log are dropped in the same
        transaction (a second restore compares the whole table: still a no-op).
        A release restores its table checkpoints of one database together
        (`restore_tables`).
        """
        return restore_jobs([self.restore_job(state, ctx)])[0]

    def restore_job(self, state: JsonState, ctx: CheckpointContext) -> RestoreJob:
        """This checkpoint's part in a restore of several tables (`restore_tables`).

        Checks first that ``state`` is this release's and step's snapshot, and where
        its file is.
        """
        self._check_name(state, ctx)
        return RestoreJob(
            self._engine,
            self.describe(),
            self._applier(),
            state,
            ctx,
            self._file(state),
            lambda schema: self._plan(state, schema),
        )

    def verify(self, state: JsonState, ctx: CheckpointContext) -> tuple[bool, str]:
        """Compare the table with the snapshot now: (equal?, what differs)."""
        del ctx
        path = self._file(state)
        if path is None:
            with read_tx(self._engine, f"verifying {self.describe()}") as conn:
                return self._compare(conn, self._plan(state))
        if not path.is_file():
            return False, f"snapshot file {path.name} is gone"
        with _snapfile.attached(
            self._engine, path, f"verifying {self.describe()}", create=False
        ) as conn:
            return self._compare(conn, self._plan(state, _snapfile.ALIAS))

    def _compare(self, conn: Connection, snap: Table) -> tuple[bool, str]:
        if not _snapshot.exists(conn, snap):
            return False, f"snapshot table {snap.name} is gone"
        # every captured column compared (none left out as generated), each exactly
        exact = ColumnKinds(exact=column_kinds(conn, self._table).exact)
        diff = self._applier().diff(snap, None, exact)
        changed = conn.execute(diff.count_changed()).scalar_one()
        extra = conn.execute(diff.count_extra()).scalar_one()
        missing = conn.execute(diff.count_missing()).scalar_one()
        ok = changed == extra == missing == 0
        detail = f"{changed} differ, {missing} missing, {extra} extra"
        return ok, ("equal to the checkpoint" if ok else detail)

    def _applier(self) -> Applier:
        return Applier(
            self._table, self._key, self._where, self._engine.dialect.name, self.describe()
        )

    # -- finish and discard ---------------------------------------------------------------

    def finish(self, state: JsonState, ctx: CheckpointContext) -> None:
        """Drop the change log and its triggers; keep the snapshot (retention).

        Called when the release succeeded or was restored; safe to call twice.
        """
        if state.get("log") is None:
            return
        log = ChangeLog(self._table, self._key, ctx.release_id, ctx.seq)
        with write_tx(self._engine, f"dropping the change log of {self.describe()}") as conn:
            log.drop(conn)

    def abandon(self, ctx: CheckpointContext) -> None:
        """Drop whatever a capture of this release and step left, recorded or not.

        For a capture the process died in: the triggers (first: a trigger without its
        log would break the ERP's writes), the change log, and the snapshot. Safe to
        call when nothing is there.
        """
        name = _snapshot.snapshot_name(ctx.release_id, ctx.seq)
        log = ChangeLog(self._table, self._key, ctx.release_id, ctx.seq)
        path = _snapfile.snapshot_path(self._engine, self._table, name)
        with write_tx(
            self._engine, f"dropping an interrupted capture of {self.describe()}"
        ) as conn:
            log.drop(conn)
            if path is None:
                columns = [c.name for c in self._table.columns]
                _snapshot.drop(conn, _snapshot.snapshot_table(self._table, name, columns))
        if path is not None:
            path.unlink(missing_ok=True)

    def discard(self, state: JsonState, ctx: CheckpointContext) -> None:
        """Drop the change log and the snapshot (table or file) (retention)."""
        self.finish(state, ctx)
        path = self._file(state)
        if path is not None:
            path.unlink(missing_ok=True)
            return
        with write_tx(self._engine, f"dropping the snapshot of {self.describe()}") as conn:
            _snapshot.drop(conn, self._plan(state))

    # -- the recorded state ---------------------------------------------------------------

    def _check_name(self, state: JsonState, ctx: CheckpointContext) -> None:
        """The snapshot must be this release's and step's (its name says so)."""
        expected = _snapshot.snapshot_name(ctx.release_id, ctx.seq)
        if state.get("snapshot") != expected:
            msg = (
                f"the recorded snapshot of {self.describe()} is {state.get('snapshot')!r}, "
                f"not this release's {expected!r}: the record was copied from another "
                "release; nothing was restored"
            )
            raise SnapshotTamperedError(msg)

    def _file(self, state: JsonState) -> Path | None:
        name = state.get("file")
        if name is None:
            return None
        path = _snapfile.snapshot_path(self._engine, self._table, str(state.get("snapshot")))
        if path is None or path.name != name:
            msg = (
                f"the snapshot file {name!r} of {self.describe()} is not beside this "
                f"engine's database ({safe_url(self._engine)}); restore with an engine on "
                "the database the checkpoint was captured in"
            )
            raise CheckpointError(msg)
        return path

    def _plan(self, state: JsonState, schema: str | None = None) -> Table:
        try:
            name, columns, key = str(state["snapshot"]), state["columns"], state["key"]
        except KeyError as exc:
            msg = (
                f"the recorded state of {self.describe()} lacks {exc}; it was not "
                "written by a table checkpoint"
            )
            raise SnapshotTamperedError(msg) from None
        if not isinstance(columns, list) or not isinstance(key, list) or key != self._key:
            msg = (
                f"the recorded state of {self.describe()} does not match this checkpoint "
                f"(key {key!r}, columns {columns!r}); restore it with the checkpoint "
                "that captured it"
            )
            raise CheckpointError(msg)
        missing = [str(c) for c in columns if str(c) not in self._table.c]
        if missing:
            msg = (
                f"table {self.qualified_name} no longer has the columns {missing} the "
                "snapshot holds; restore the schema first (alembic checkpoint), then retry"
            )
            raise CheckpointError(msg)
        return _snapshot.snapshot_table(self._table, name, [str(c) for c in columns], schema)


def restore_tables(
    items: Sequence[tuple[TableCheckpoint, JsonState, CheckpointContext]],
) -> list[str]:
    """Restore table checkpoints of one database in one transaction (see `_together`).

    What each restore did, in the order given. A snapshot that is missing or was
    altered, or rows the database refuses, restore nothing at all.
    """
    return restore_jobs([cp.restore_job(state, ctx) for cp, state, ctx in items])
