"""The set-based statements that compare a table with its snapshot and put it back.

Only rows that differ are touched: ``DELETE`` rows in scope whose key is not in
the snapshot (inserted since), ``UPDATE … FROM`` rows whose values differ
(NULL-safe: ``IS DISTINCT FROM`` on PostgreSQL, ``IS NOT`` on SQLite), and
``INSERT … SELECT`` snapshot rows whose key is gone (deleted since).

With a change log (``logged``, see `_tracking`), each statement is limited to the
keys written since the capture, so that a restore reads and writes what the job
touched instead of comparing the whole table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Text,
    and_,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.dml import Insert

from safe_release._checkpoints._columns import ColumnKinds

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.dml import Delete, Update
    from sqlalchemy.sql.selectable import Select

__all__ = ["Diff"]


class _Overriding(Insert):
    """``INSERT … OVERRIDING SYSTEM VALUE``: PostgreSQL takes the given identity values.

    For a table with a ``GENERATED ALWAYS`` identity column, which refuses an explicit
    value otherwise (SQLAlchemy has no spelling of the clause).
    """

    inherit_cache = True


@compiles(_Overriding, "postgresql")
def _compile_overriding(element: _Overriding, compiler: SQLCompiler, **kw: Any) -> str:
    visit: Callable[..., str] = compiler.visit_insert  # the usual INSERT, then the clause
    sql = visit(element, **kw)
    prep = compiler.preparer
    chosen = element._select_names or ()  # noqa: SLF001 - the names given to from_select()
    # each column as the compiler writes it (a column may be quoted where its name
    # would not need it: quote=True)
    names = ", ".join(prep.format_column(element.table.c[str(c)]) for c in chosen)
    head = f"INSERT INTO {prep.format_table(element.table)} ({names}) "
    if not names or not sql.startswith(head):
        msg = f"cannot place OVERRIDING SYSTEM VALUE in {sql[:200]!r}"
        raise CompileError(msg)
    return f"{head}OVERRIDING SYSTEM VALUE {sql[len(head):]}"


class Diff:
    """Statements for one (table, snapshot, key, scope) quadruple."""

    def __init__(
        self,
        table: Table,
        snap: Table,
        key: Sequence[str],
        *,
        where: ColumnElement[bool] | None,
        dialect: str,
        logged: Table | None = None,
        kinds: ColumnKinds | None = None,
    ) -> None:
        self.table, self.snap, self.dialect = table, snap, dialect
        self.logged = logged
        self.key = list(key)
        kinds = kinds or ColumnKinds()
        # written back: not a column the database generates (`_columns`; a snapshot
        # recorded by an earlier version may hold one)
        self.inserted = [c.name for c in snap.columns if c.name not in kinds.generated]
        # compared and set by the update: not the key, not an ALWAYS identity (an UPDATE
        # cannot set it: a row whose identity changed is deleted and inserted back)
        self.values = [n for n in self.inserted if n not in self.key and n not in kinds.always]
        self.reinserted = [n for n in self.inserted if n in kinds.always and n not in self.key]
        self.overriding = any(n in kinds.always for n in self.inserted)
        self.where = where

    # -- predicates ---------------------------------------------------------------

    def _same_key(self, a: Table | Any, b: Table | Any) -> ColumnElement[bool]:
        return and_(*(a.c[k] == b.c[k] for k in self.key))

    def _differs(self) -> ColumnElement[bool]:
        return or_(*(self._distinct(name) for name in self.values))

    def _distinct(self, name: str) -> ColumnElement[bool]:
        live, kept = self.table.c[name], self.snap.c[name]
        col_type = live.type
        if (self.dialect == "postgresql" and isinstance(col_type, sqltypes.JSON)
                and not isinstance(col_type, JSONB)):
            # json has no equality operator; its text is what was stored, so compare that
            return cast(live, Text).is_distinct_from(cast(kept, Text))
        return live.is_distinct_from(kept)

    def _not_in_snapshot(self) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            # NOT IN looks each key up in the snapshot's key (its primary key in a
            # snapshot file, WITHOUT ROWID; a unique index in the database), or
            # builds the keys into one ephemeral index where it has none
            live = tuple_(*(self.table.c[k] for k in self.key)) if len(self.key) > 1 \
                else self.table.c[self.key[0]]
            kept = select(*(self.snap.c[k] for k in self.key))
            return live.not_in(kept)
        return ~exists().where(self._same_key(self.snap, self.table))

    def _scoped(self, clause: ColumnElement[bool]) -> ColumnElement[bool]:
        return clause if self.where is None else and_(self.where, clause)

    def _keys_of(self, t: Table | Any) -> ColumnElement[Any]:
        return tuple_(*(t.c[k] for k in self.key)) if len(self.key) > 1 else t.c[self.key[0]]

    def _logged(self, t: Table | Any) -> ColumnElement[bool]:
        """The row's key was written since the capture (true for all without a log)."""
        if self.logged is None:
            return true()
        return self._keys_of(t).in_(select(*(self.logged.c[k] for k in self.key)))

    # -- writes -----------------------------------------------------------------------

    def delete_extra(self) -> Delete:
        """Rows in scope that the snapshot does not have (inserted since the capture).

        And rows whose ``ALWAYS`` identity differs from the snapshot's (`reinserted`):
        `insert_missing` then puts them back with the captured one.
        """
        gone = self._not_in_snapshot()
        if self.reinserted:
            moved = exists().where(self._same_key(self.snap, self.table),
                                   or_(*(self._distinct(n) for n in self.reinserted)))
            gone = or_(gone, moved)
        return delete(self.table).where(self._scoped(and_(self._logged(self.table), gone)))

    def update_changed(self) -> Update | None:
        """Rows whose values differ from the snapshot's (None: only key columns)."""
        if not self.values:
            return None
        values = {name: self.snap.c[name] for name in self.values}
        return update(self.table).values(values).where(
            self._logged(self.table), self._same_key(self.table, self.snap), self._differs())

    def insert_all(self) -> Insert:
        """Every snapshot row (the table is empty: nothing to compare with)."""
        rows = select(*(self.snap.c[n] for n in self.inserted))
        return self._insert().from_select(self.inserted, rows)

    def insert_missing(self) -> Insert:
        """Snapshot rows whose key is gone from the table (deleted since the capture)."""
        current = self.table.alias("sr_current")
        rows = select(*(self.snap.c[n] for n in self.inserted)).where(
            self._logged(self.snap), ~exists().where(self._same_key(current, self.snap)))
        return self._insert().from_select(self.inserted, rows)

    def _insert(self) -> Insert:
        return _Overriding(self.table) if self.overriding else insert(self.table)

    # -- reads --------------------------------------------------------------------------

    def count_changed(self) -> Select[Any]:
        """How many rows differ from the snapshot."""
        if not self.values:
            return select(func.count()).where(false())
        return select(func.count()).select_from(self.table).join(
            self.snap, self._same_key(self.table, self.snap)).where(self._differs())

    def any_row(self) -> Select[Any]:
        """Whether the table has any row at all (in scope or not)."""
        return select(exists().select_from(self.table))

    def count_in_scope(self) -> Select[Any]:
        """How many rows are in scope."""
        query = select(func.count()).select_from(self.table)
        return query if self.where is None else query.where(self.where)

    def count_extra(self) -> Select[Any]:
        """How many rows in scope the snapshot does not have."""
        return select(func.count()).select_from(self.table).where(
            self._scoped(self._not_in_snapshot()))

    def count_missing(self) -> Select[Any]:
        """How many snapshot rows are gone from the table."""
        current = self.table.alias("sr_current")
        return select(func.count()).select_from(self.snap).where(
            ~exists().where(self._same_key(current, self.snap)))

