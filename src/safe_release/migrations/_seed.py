"""Rows valid for a table as the database has it now, generated from its reflected schema.

Each row gets a fresh index from one counter, so seeded and probe rows never
collide on a key or a unique column. Values follow the column's type (length,
precision, ENUM labels, SQLite ``IN (...)`` check constraints), foreign keys
point at rows the referenced table already has, and one value in ten of a
nullable column is NULL so NULLs round-trip too. Integer keys start far above
1 so a revision's own inserts (a sequence starting at 1) never meet them.
A user's ``rows={"table": fn}`` hook returns values (by row index) that
override the generated ones. A table that cannot be seeded is reported, not
fatal: it is inserted inside a savepoint, so the migration's transaction goes on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Column, Connection

__all__ = ["Seeder", "reflect"]

_KEY_BASE = 100_000
_SMALL_BASE = 10_000
_IN_LIST = re.compile(
    r"^\s*\(?\s*\"?(\w+)\"?\s+IN\s*\((.*)\)\s*\)?\s*$", re.IGNORECASE | re.DOTALL
)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def reflect(
    conn: Connection, name: str, metadata: MetaData | None = None, *, resolve_fks: bool = True
) -> Table:
    """Reflect table ``name`` (``schema.table`` for a non-default PostgreSQL schema)."""
    schema, _, table = name.rpartition(".")
    return Table(
        table,
        metadata if metadata is not None else MetaData(),
        autoload_with=conn,
        schema=schema or None,
        resolve_fks=resolve_fks,
    )


def _choices(conn: Connection, table: Table) -> dict[str, list[Any]]:
    """Values allowed by ``col IN ('a', 'b')`` check constraints (non-native enums)."""
    out: dict[str, list[Any]] = {}
    try:
        checks = inspect(conn).get_check_constraints(table.name, schema=table.schema)
    except NotImplementedError:  # pragma: no cover - every supported dialect has it
        return out
    for check in checks:
        match = _IN_LIST.match(str(check["sqltext"]))
        if match and match.group(1) in table.c:
            values = [v.replace("''", "'") for v in _QUOTED.findall(match.group(2))]
            if values:
                out[match.group(1)] = values
    return out


Maker = Callable[[int], Any]


def _integer(col: Column[Any]) -> Maker:
    if "SMALL" in type(col.type).__name__.upper():
        return lambda i: _SMALL_BASE + i % 20_000
    return lambda i: _KEY_BASE + i


def _text(col: Column[Any]) -> Maker:
    # mixed case, so a data migration that folds case (upper(), lower()) changes values
    suffixes = (f"-{col.name.lower()}", f"-{col.name.upper()}")
    length = getattr(col.type, "length", None) or None
    return lambda i: f"{i}{suffixes[i % 2]}"[:length]


def _numeric(col: Column[Any]) -> Maker:
    precision = getattr(col.type, "precision", None) or 12
    scale = getattr(col.type, "scale", None) or 0
    modulus = 10 ** max(min(precision - scale, 6), 0)
    shift = -min(scale, 2)
    exact = getattr(col.type, "asdecimal", True)

    def make(i: int) -> Decimal | float:
        value = Decimal(i % modulus) + (Decimal(i % 100).scaleb(shift) if scale else 0)
        return value if exact else float(value)

    return make


def _timestamp(col: Column[Any]) -> Maker:
    start = datetime(
        2020, 1, 1, tzinfo=timezone.utc if getattr(col.type, "timezone", False) else None
    )
    return lambda i: start + timedelta(minutes=i, microseconds=i % 1000)


def _bytes(col: Column[Any]) -> Maker:
    suffix = f"-{col.name}".encode()
    return lambda i: str(i).encode() + suffix


def _json(col: Column[Any]) -> Maker:
    name = col.name
    return lambda i: {"i": i, "column": name}


_BY_PYTHON_TYPE: dict[type, Callable[[Column[Any]], Maker]] = {
    bool: lambda _c: lambda i: i % 2 == 0,
    int: _integer,
    float: lambda _c: lambda i: i + 0.25,
    Decimal: _numeric,
    str: _text,
    bytes: _bytes,
    datetime: _timestamp,
    date: lambda _c: lambda i: date(2020, 1, 1) + timedelta(days=i % 5000),
    time: lambda _c: lambda i: time(i % 24, i % 60, i % 60),
    timedelta: lambda _c: lambda i: timedelta(seconds=i),
    dict: _json,
    uuid.UUID: lambda _c: lambda i: uuid.UUID(int=i + 1),
    list: lambda _c: lambda _i: [],
}


def _python_type(col: Column[Any]) -> type:
    try:
        return col.type.python_type
    except NotImplementedError:
        return str


@dataclass
class Seeder:
    """Generates and inserts rows; remembers which tables it could not seed."""

    rows_per_table: int
    hooks: Mapping[str, Callable[[int], Mapping[str, Any]]] = field(default_factory=dict)
    counter: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    choices: dict[int, tuple[Table, dict[str, list[Any]]]] = field(default_factory=dict)

    def seed(self, conn: Connection, names: Iterable[str]) -> list[str]:
        """Insert ``rows_per_table`` rows into each table (parents first); the seeded names."""
        metadata = MetaData()
        tables = {name: reflect(conn, name, metadata, resolve_fks=False) for name in names}
        return [
            name
            for name in _parents_first(tables)
            if self.insert(conn, name, tables[name], self.rows_per_table) is not None
        ]

    def insert(
        self,
        conn: Connection,
        name: str,
        table: Table,
        n: int,
    ) -> list[dict[str, Any]] | None:
        """Insert ``n`` generated rows in a savepoint; None (and a problem noted) on failure."""
        try:
            rows = self.rows(conn, name, table, n)
            with conn.begin_nested():
                _insert(conn, table, rows)
        except SQLAlchemyError as exc:
            detail = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
            self.problems.append((name, detail))
            return None
        return rows

    def rows(self, conn: Connection, name: str, table: Table, n: int) -> list[dict[str, Any]]:
        """``n`` rows for ``table`` (with the user's hook applied)."""
        if id(table) not in self.choices:  # the table is kept, so its id is not reused
            self.choices[id(table)] = (table, _choices(conn, table))
        choices = self.choices[id(table)][1]
        refs = self._referenced(conn, table)
        hook = self.hooks.get(name) or self.hooks.get(table.name)
        makers = [(c.name, _maker(c, choices, refs)) for c in table.columns if not c.computed]
        start, self.counter = self.counter, self.counter + n
        out = [{column: make(i) for column, make in makers} for i in range(start, start + n)]
        if hook is not None:
            for i, row in enumerate(out, start):
                row.update(_hooked(hook, name, i))
        return out

    def _referenced(self, conn: Connection, table: Table) -> dict[str, list[Any]]:
        """Values each foreign key column can take: keys its target table already has."""
        out: dict[str, list[Any]] = {}
        for fk in table.foreign_keys:
            target_table, _, target_column = fk.target_fullname.rpartition(".")
            if _python_type(fk.parent) in (int, str):  # driver values bind as they are
                prep = conn.dialect.identifier_preparer
                schema, _, bare = target_table.rpartition(".")
                source = (
                    f"{prep.quote_schema(schema)}.{prep.quote(bare)}"
                    if schema
                    else prep.quote(bare)
                )
                out[fk.parent.name] = list(
                    conn.exec_driver_sql(
                        f"SELECT {prep.quote(target_column)} FROM {source} LIMIT 1000"  # noqa: S608
                    ).scalars()
                )
                continue
            if target_table not in table.metadata.tables:
                reflect(conn, target_table, table.metadata, resolve_fks=False)
            target = table.metadata.tables[target_table].c[target_column]
            out[fk.parent.name] = list(conn.execute(select(target).limit(1000)).scalars())
        return out


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows: on SQLite one driver-level executemany, values bound as Core would."""
    if conn.dialect.name != "sqlite" or not rows:
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])
    binders = [
        table.c[n].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for n in names
    ]
    data = [
        tuple(
            v if bind is None or v is None else bind(v)
            for v, bind in zip((r[n] for n in names), binders, strict=True)
        )
        for r in rows
    ]
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in names)})",
        data,
    )


def _hooked(hook: Callable[[int], Mapping[str, Any]], name: str, i: int) -> Mapping[str, Any]:
    """The user's values for row ``i``; a failing or wrong hook is the caller's error."""
    try:
        values = hook(i)
    except Exception as exc:
        msg = f"rows[{name!r}]({i}) raised {type(exc).__name__}: {exc}"
        raise InvalidArgumentError(msg) from exc
    if not isinstance(values, Mapping):
        msg = f"rows[{name!r}]({i}) must return a mapping of column values, not {values!r}"
        raise InvalidArgumentError(msg)
    return values


def _parents_first(tables: Mapping[str, Table]) -> list[str]:
    """Table names ordered so a table comes after the tables its foreign keys point at."""
    by_key = {t.key: n for n, t in tables.items()}
    order: list[str] = []

    def visit(name: str, path: frozenset[str]) -> None:
        if name in order or name in path:
            return  # done, or a cycle (its foreign keys get NULL or existing rows)
        for fk in tables[name].foreign_keys:
            parent = by_key.get(fk.target_fullname.rpartition(".")[0])
            if parent is not None:
                visit(parent, path | {name})
        order.append(name)

    for name in sorted(tables):
        visit(name, frozenset())
    return order


def _maker(
    col: Column[Any], choices: Mapping[str, list[Any]], refs: Mapping[str, list[Any]]
) -> Callable[[int], Any]:
    """The value of ``col`` for row index ``i``."""
    if col.name in refs:
        values = refs[col.name]
        return (lambda i: values[i % len(values)]) if values else (lambda _i: None)
    allowed = choices.get(col.name) or getattr(col.type, "enums", None)
    if allowed:
        base: Callable[[int], Any] = lambda i: allowed[i % len(allowed)]  # noqa: E731
    else:
        base = _BY_PYTHON_TYPE.get(_python_type(col), _text)(col)
    if col.nullable and not col.primary_key:
        return lambda i: None if i % 10 == 9 else base(i)  # noqa: PLR2004 - one in ten
    return base
