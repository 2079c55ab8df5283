"""Per-table, per-column checksums of a database's rows, and where two differ.

A `TableData` reads a table once, ordered by its primary key (every column
when it has none), through the driver with no type processing, and keeps the
column values: the checksum of a column is the hash of its values in key
order, so comparing two snapshots is one comparison per column, and only a
column that differs is examined row by row to say how many values changed
and show one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy import Connection

__all__ = ["DataDifference", "TableData", "compare_data", "read_tables"]


@dataclass(frozen=True)
class TableData:
    """One table's rows as column tuples in key order, with their checksums."""

    key: tuple[str, ...]
    columns: Mapping[str, tuple[Any, ...]]
    checksums: Mapping[str, int]

    @property
    def rows(self) -> int:
        """How many rows the table had."""
        first = next(iter(self.columns.values()), ())
        return len(first)

    def keys(self) -> list[tuple[Any, ...]]:
        """Each row's key, in order."""
        return list(zip(*(self.columns[k] for k in self.key), strict=True))


@dataclass(frozen=True)
class DataDifference:
    """Values of ``column`` (None: whole rows) of ``table`` that are not what they were."""

    table: str
    column: str | None
    changed: int
    example: str

    def describe(self) -> str:
        """One line for a report."""
        what = f"{self.table}.{self.column}" if self.column else self.table
        return f"{what}: {self.example}"


def _quoted(conn: Connection, name: str) -> str:
    prep = conn.dialect.identifier_preparer
    schema, _, table = name.rpartition(".")
    return f"{prep.quote_schema(schema)}.{prep.quote(table)}" if schema else prep.quote(table)


def _primary_key(conn: Connection, name: str) -> tuple[str, ...]:
    schema, _, table = name.rpartition(".")
    pk = inspect(conn).get_pk_constraint(table, schema=schema or None)
    return tuple(pk.get("constrained_columns") or ())


def read_table(conn: Connection, name: str, key: tuple[str, ...] | None = None) -> TableData:
    """Read ``name`` whole (``key``: its primary key, looked up when not given)."""
    key = key if key is not None else _primary_key(conn, name)
    sql = f"SELECT * FROM {_quoted(conn, name)}"  # noqa: S608 - quoted identifier
    if key:
        prep = conn.dialect.identifier_preparer
        sql += f" ORDER BY {', '.join(prep.quote(k) for k in key)}"
    result = conn.exec_driver_sql(sql)
    names = tuple(result.keys())
    rows = list(result.fetchall())
    if not key:
        rows.sort(key=lambda r: tuple(_sortable(v) for v in r))
    columns = (dict(zip(names, zip(*rows, strict=True), strict=True)) if rows
               else dict.fromkeys(names, ()))
    return TableData(key or names, columns, {n: hash(v) for n, v in columns.items()})


def _sortable(value: Any) -> tuple[int, str]:
    """A sort key for any driver value (NULLs first, mixed types never compared)."""
    return (0, "") if value is None else (1, f"{type(value).__name__}:{value!r}")


def read_tables(conn: Connection, names: Iterable[str],
                keys: dict[str, tuple[str, ...]]) -> dict[str, TableData]:
    """Read every table in ``names``; ``keys`` caches primary keys by table."""
    out = {}
    for name in names:
        if name not in keys:
            keys[name] = _primary_key(conn, name)
        out[name] = read_table(conn, name, keys[name])
    return out


def compare_data(before: Mapping[str, TableData], after: Mapping[str, TableData],
                 tables: Iterable[str]) -> list[DataDifference]:
    """What changed in ``tables`` (present in both) between two snapshots."""
    out = []
    for name in tables:
        old, new = before.get(name), after.get(name)
        if old is None or new is None or old.checksums == new.checksums:
            continue
        out += _table_differences(name, old, new)
    return out


def _table_differences(name: str, old: TableData, new: TableData) -> list[DataDifference]:
    old_rows = dict(zip(old.keys(), range(old.rows), strict=True))
    new_rows = dict(zip(new.keys(), range(new.rows), strict=True))
    gone = [k for k in old_rows if k not in new_rows]
    out = []
    if gone:
        out.append(DataDifference(name, None, len(gone),
                                  f"{len(gone)} of {old.rows} rows missing, e.g. key {gone[0]}"))
    added = [k for k in new_rows if k not in old_rows]
    if added:
        out.append(DataDifference(name, None, len(added),
                                  f"{len(added)} rows appeared, e.g. key {added[0]}"))
    for column in old.columns:
        if column not in new.columns or old.checksums[column] == new.checksums.get(column):
            continue
        diff = _column_difference(name, column, old, new, old_rows, new_rows)
        if diff is not None:
            out.append(diff)
    return out


def _column_difference(  # noqa: PLR0917 - both snapshots and both row indexes
    name: str, column: str, old: TableData, new: TableData,
    old_rows: dict[tuple[Any, ...], int], new_rows: dict[tuple[Any, ...], int],
) -> DataDifference | None:
    before, after = old.columns[column], new.columns[column]
    changed = [(k, before[i], after[new_rows[k]]) for k, i in old_rows.items()
               if k in new_rows and before[i] != after[new_rows[k]]]
    if not changed:
        return None
    key, was, now = changed[0]
    return DataDifference(name, column, len(changed),
                          f"{len(changed)} of {old.rows} values changed, e.g. key {key}: "
                          f"{_short(was)} -> {_short(now)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."  # noqa: PLR2004 - display width
