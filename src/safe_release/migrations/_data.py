"""Per-table, per-column checksums of a database's rows, and where two differ.

On PostgreSQL one query per table has the server render every column as one
string: each value quoted as a literal (``quote_nullable(value::text)``, so
NULL and ``'NULL'`` are kept apart), joined in key order with a unit
separator; rows never cross the network one by one. On SQLite (in-process,
where a fetch is cheaper than SQL functions per value) the rows are fetched
in key order through the driver and kept as one tuple per column. Either way a
column's checksum is that string or tuple: two snapshots compare with one
comparison per column. Only a column that differs is taken apart, paired with
the key column's values, to say how many rows changed and show one (when a
rendered value itself holds the separator, only "values differ" is said).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy import Connection

__all__ = [
    "DataDifference",
    "TableData",
    "TableShape",
    "compare_data",
    "read_keyed",
    "read_table",
    "read_tables",
    "show_key",
    "show_value",
    "table_shape",
]

_SEP = "\x1f"


@dataclass(frozen=True)
class TableShape:
    """A table's columns and primary key (empty when it has none)."""

    columns: tuple[str, ...]
    key: tuple[str, ...]


@dataclass(frozen=True)
class TableData:
    """One table's rows: their count and their values.

    PostgreSQL: each column rendered as one string (``rendered``). SQLite: the
    fetched rows themselves (``raw``), turned into columns only when needed.
    """

    rows: int
    key: tuple[str, ...]
    rendered: Mapping[str, str] | None = None
    names: tuple[str, ...] = ()
    raw: list[tuple[Any, ...]] | None = None

    @cached_property
    def columns(self) -> Mapping[str, str | tuple[Any, ...]]:
        """Each column's checksum: its rendered string, or the tuple of its values."""
        if self.rendered is not None:
            return self.rendered
        rows = self.raw or []
        if not rows:
            return dict.fromkeys(self.names, ())
        return dict(zip(self.names, zip(*rows, strict=True), strict=True))

    def same_as(self, other: TableData) -> bool:
        """Whether every column both tables have holds the same values in the same order."""
        if self.rows != other.rows:
            return False
        if self.raw is not None and other.raw is not None and self.names == other.names:
            return self.raw == other.raw
        return all(
            other.columns.get(c) == v for c, v in self.columns.items() if c in other.columns
        )

    def values(self, column: str) -> list[Any] | None:
        """The column's values in row order (None when they cannot be split)."""
        joined = self.columns[column]
        if isinstance(joined, tuple):
            return list(joined)
        values = joined.split(_SEP) if self.rows else []
        return values if len(values) == self.rows else None

    def keys(self) -> list[tuple[Any, ...]] | None:
        """Each row's key, rendered (None when a key value holds the separator)."""
        parts = [self.values(k) for k in self.key]
        if any(p is None for p in parts):
            return None
        return list(zip(*parts, strict=True))


@dataclass(frozen=True)
class DataDifference:
    """Values of ``column`` (None: whole rows) of ``table`` that are not what they were."""

    table: str
    column: str | None
    example: str

    def describe(self) -> str:
        """One line for a report."""
        what = f"{self.table}.{self.column}" if self.column else self.table
        return f"{what}: {self.example}"


def _quoted(conn: Connection, name: str) -> str:
    prep = conn.dialect.identifier_preparer
    schema, _, table = name.rpartition(".")
    return f"{prep.quote_schema(schema)}.{prep.quote(table)}" if schema else prep.quote(table)


def table_shape(conn: Connection, name: str) -> TableShape:
    """Columns and primary key of ``name``, from the catalog."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"PRAGMA table_info({_quoted(conn, name)})").fetchall()
        columns = tuple(r[1] for r in rows)
        key = tuple(r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5]))
        return TableShape(columns, key)
    found = conn.execute(
        text(
            "SELECT a.attname, coalesce(array_position(i.indkey::int2[], a.attnum) + 1, 0) "
            "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid "
            "AND i.indisprimary WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        {"t": _quoted(conn, name)},
    ).fetchall()
    columns = tuple(r[0] for r in found)
    key = tuple(r[0] for r in sorted((r for r in found if r[1]), key=lambda r: r[1]))
    return TableShape(columns, key)


def _render(conn: Connection, column: str, order: str) -> str:
    col = conn.dialect.identifier_preparer.quote(column)
    if conn.dialect.name == "sqlite":
        return f"coalesce(group_concat(quote({col}), char(31)), '')"
    return f"coalesce(string_agg(quote_nullable({col}::text), chr(31) ORDER BY {order}), '')"


def read_table(conn: Connection, name: str, shape: TableShape) -> TableData:
    """Every column of ``name`` (see the module docstring)."""
    if conn.dialect.name == "sqlite":
        return _read_sqlite(conn, name, shape)
    prep = conn.dialect.identifier_preparer
    if shape.key:
        order = ", ".join(prep.quote(k) for k in shape.key)
    else:  # no primary key: the whole row orders (and identifies) it
        order = (
            "CAST(_t AS text)"
            if conn.dialect.name == "postgresql"
            else ", ".join(prep.quote(c) for c in shape.columns)
        )
    parts = ", ".join(_render(conn, c, order) for c in shape.columns)
    source = f"{_quoted(conn, name)} AS _t"
    row = conn.exec_driver_sql(f"SELECT count(*), {parts} FROM {source}").one()  # noqa: S608
    return TableData(
        row[0],
        shape.key or shape.columns,
        dict(zip(shape.columns, row[1:], strict=True)),
        shape.columns,
    )


def _read_sqlite(conn: Connection, name: str, shape: TableShape) -> TableData:
    """SQLite: the rows through the driver (its quote() per value costs more than a fetch)."""
    prep = conn.dialect.identifier_preparer
    order = ", ".join(prep.quote(k) for k in shape.key or shape.columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            f"SELECT {', '.join(prep.quote(c) for c in shape.columns)} "  # noqa: S608
            f"FROM {_quoted(conn, name)} ORDER BY {order}"
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return TableData(
        len(rows),
        shape.key or shape.columns,
        names=shape.columns,
        raw=cast("list[tuple[Any, ...]]", rows),
    )


def read_keyed(
    conn: Connection, name: str, shape: TableShape, keys: list[tuple[Any, ...]]
) -> TableData:
    """SQLite: only the rows with these primary-key values (the driver's own values)."""
    prep = conn.dialect.identifier_preparer
    columns = ", ".join(prep.quote(c) for c in shape.columns)
    target = ", ".join(prep.quote(k) for k in shape.key)
    rows_sql = ", ".join("(" + ", ".join("?" for _ in shape.key) + ")" for _ in keys)
    sql = (
        f"SELECT {columns} FROM {_quoted(conn, name)} "  # noqa: S608 - identifiers
        f"WHERE ({target}) IN (VALUES {rows_sql})"
    )
    params = tuple(v for k in keys for v in k)
    rows = conn.exec_driver_sql(sql, params).all() if keys else []
    return TableData(len(rows), shape.key, names=shape.columns, raw=[tuple(r) for r in rows])


def read_tables(
    conn: Connection, names: Iterable[str], shapes: dict[str, TableShape]
) -> dict[str, TableData]:
    """Read every table in ``names``; ``shapes`` caches their columns and keys."""
    out = {}
    for name in names:
        if name not in shapes:
            shapes[name] = table_shape(conn, name)
        out[name] = read_table(conn, name, shapes[name])
    return out


def compare_data(
    before: Mapping[str, TableData], after: Mapping[str, TableData], tables: Iterable[str]
) -> list[DataDifference]:
    """What changed in ``tables`` (present in both) between two snapshots."""
    out = []
    for name in tables:
        old, new = before.get(name), after.get(name)
        if old is None or new is None or old.same_as(new):
            continue
        out += _table_differences(name, old, new)
    return out


def _table_differences(name: str, old: TableData, new: TableData) -> list[DataDifference]:
    old_keys, new_keys = old.keys(), new.keys()
    if old_keys is None or new_keys is None or old.key != new.key:
        return _coarse(name, old, new)
    old_rows = {k: i for i, k in enumerate(old_keys)}
    new_rows = {k: i for i, k in enumerate(new_keys)}
    out = []
    gone = [k for k in old_rows if k not in new_rows]
    if gone:
        out.append(
            DataDifference(
                name, None, f"{len(gone)} of {old.rows} rows missing, e.g. key {show_key(gone[0])}"
            )
        )
    added = [k for k in new_rows if k not in old_rows]
    if added:
        out.append(
            DataDifference(
                name, None, f"{len(added)} rows appeared, e.g. key {show_key(added[0])}"
            )
        )
    for column in old.columns:
        if column in new.columns and old.columns[column] != new.columns[column]:
            out += _column_difference(name, column, old, new, (old_rows, new_rows))
    return out


def _column_difference(
    name: str,
    column: str,
    old: TableData,
    new: TableData,
    rows: tuple[dict[tuple[Any, ...], int], dict[tuple[Any, ...], int]],
) -> list[DataDifference]:
    before, after = old.values(column), new.values(column)
    if before is None or after is None:
        return [DataDifference(name, column, "values differ")]
    old_rows, new_rows = rows
    changed = [
        (k, before[i], after[new_rows[k]])
        for k, i in old_rows.items()
        if k in new_rows and before[i] != after[new_rows[k]]
    ]
    if not changed:
        return []
    key, was, now = changed[0]
    return [
        DataDifference(
            name,
            column,
            f"{len(changed)} of {old.rows} values changed, "
            f"e.g. key {show_key(key)}: {show_value(was)} -> "
            f"{show_value(now)}",
        )
    ]


def _coarse(name: str, old: TableData, new: TableData) -> list[DataDifference]:
    out = []
    if old.rows != new.rows:
        out.append(DataDifference(name, None, f"{old.rows} rows became {new.rows}"))
    out += [
        DataDifference(name, c, "values differ")
        for c in old.columns
        if c in new.columns and old.columns[c] != new.columns[c]
    ]
    return out


def show_key(key: tuple[Any, ...]) -> str:
    """A row key for a message: values as SQL literals would show them, unquoted."""
    return ", ".join(_unquoted(v) if isinstance(v, str) else repr(v) for v in key)


def show_value(value: Any) -> str:
    """A value for a message, shortened."""
    shown: str = value if isinstance(value, str) else repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."  # noqa: PLR2004 - display width


def _unquoted(value: str) -> str:
    """PostgreSQL renders '100050' for 100050; show it as the value."""
    if len(value) > 1 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value
