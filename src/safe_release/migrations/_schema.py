"""What a database's schema is, cheaply, and how two of them differ.

A schema is a `Schema`: for every table (and, on PostgreSQL, every ENUM
type) a tuple of descriptor lines. On PostgreSQL the lines come from the
catalog in one round of queries (columns with their formatted types, NOT
NULL and defaults; constraints through ``pg_get_constraintdef``; index
definitions; enum labels in order), so equal lines mean an equal schema.
On SQLite they are the ``CREATE`` statements ``sqlite_master`` keeps; when
those differ only in spelling (batch mode rewrites a table's DDL), both sides
are replayed into an in-memory database and compared as reflected columns,
keys, indexes and constraints, so a table rebuilt identically is equal.

Column order is not part of a schema: a dropped and re-added column comes back
last on every database, and neither SQLAlchemy nor Alembic depends on order.
SDK tables (``sr_*``) and the Alembic version table are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, inspect, text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy import Connection

__all__ = ["Schema", "capture_schema", "schema_differences"]

_PG_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
"""
_PG_CONSTRAINTS = """
SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
"""
_PG_INDEXES = """
SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\\_%'
"""
_PG_ENUMS = """
SELECT n.nspname, t.typname, e.enumlabel
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
ORDER BY n.nspname, t.typname, e.enumsortorder
"""
_SQLITE = """
SELECT tbl_name, type, name, sql FROM sqlite_master
WHERE tbl_name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'sr\\_%' ESCAPE '\\'
  AND sql IS NOT NULL
"""


@dataclass(frozen=True)
class Schema:
    """Descriptor lines per table (``"type enum_name"`` keys for PostgreSQL ENUMs)."""

    dialect: str
    tables: Mapping[str, tuple[str, ...]]
    ddl: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """SQLite: each table's statements as stored (``tables`` has them normalised)."""

    def changed_tables(self, other: Schema) -> set[str]:
        """Tables present in both whose descriptors differ."""
        return {
            t
            for t in self.tables.keys() & other.tables.keys()
            if self.tables[t] != other.tables[t]
        }


def _skip(name: str, version_table: str) -> bool:
    return name.startswith("sr_") or name == version_table


def _name(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def capture_schema(conn: Connection, version_table: str) -> Schema:
    """The schema ``conn`` sees now."""
    if conn.dialect.name == "postgresql":
        return Schema("postgresql", _postgres(conn, version_table))
    stored: dict[str, list[tuple[str, str]]] = {}
    for table, kind, name, sql in conn.exec_driver_sql(_SQLITE):
        if not _skip(table, version_table):
            line = f"{kind} {name}: {' '.join(sql.split())}"
            stored.setdefault(table, []).append((_QUOTED.sub(r"\1", line), line))
    pairs = {t: sorted(v) for t, v in stored.items()}
    return Schema(
        conn.dialect.name,
        {t: tuple(n for n, _ in v) for t, v in pairs.items()},
        {t: tuple(raw for _, raw in v) for t, v in pairs.items()},
    )


# "t0" and t0 are the same name (batch mode's ALTER TABLE ... RENAME quotes it)
_QUOTED = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"')


def _postgres(conn: Connection, version_table: str) -> dict[str, tuple[str, ...]]:
    lines: dict[str, list[str]] = {}

    def add(schema: str, table: str, line: str) -> None:
        if not _skip(table, version_table):
            lines.setdefault(_name(schema, table), []).append(line)

    for schema, table, col, type_, notnull, default in conn.execute(text(_PG_COLUMNS)):
        add(
            schema,
            table,
            f"column {col} {type_}{' NOT NULL' if notnull else ''}"
            f"{f' DEFAULT {default}' if default is not None else ''}",
        )
    for schema, table, name, definition in conn.execute(text(_PG_CONSTRAINTS)):
        add(schema, table, f"constraint {name} {definition}")
    for schema, table, name, definition in conn.execute(text(_PG_INDEXES)):
        add(schema, table, f"index {name} {definition.replace(f'{schema}.', '')}")
    labels: dict[str, list[str]] = {}
    for schema, name, label in conn.execute(text(_PG_ENUMS)):
        labels.setdefault(f"type {_name(schema, name)}", []).append(label)
    out = {t: tuple(sorted(v)) for t, v in lines.items()}
    out.update({t: (f"enum {', '.join(v)}",) for t, v in labels.items()})
    return out


def schema_differences(
    before: Schema, after: Schema, *, normalize: Callable[[str, str], str | None] | None = None
) -> list[str]:
    """One line per difference (empty: the schemas are equal).

    ``normalize(table, check)``: PostgreSQL's own spelling of a CHECK definition
    on ``table`` (it prints a re-created constraint differently from the original:
    an ``IN`` list comes back as ``= ANY (ARRAY[...])`` with other casts), used to
    tell a re-created constraint from a changed one.
    """
    out = [f"{_thing(t)} is missing" for t in sorted(before.tables.keys() - after.tables.keys())]
    out += [f"{_thing(t)} was added" for t in sorted(after.tables.keys() - before.tables.keys())]
    for table in sorted(before.changed_tables(after)):
        out += _table_differences(table, before, after, normalize)
    return out


def _thing(name: str) -> str:
    return name if name.startswith("type ") else f"table {name}"


def _table_differences(
    table: str, before: Schema, after: Schema, normalize: Callable[[str, str], str | None] | None
) -> list[str]:
    if before.dialect == "sqlite":
        old, new = _replayed(before.ddl[table], table), _replayed(after.ddl[table], table)
    else:
        old, new = frozenset(before.tables[table]), frozenset(after.tables[table])
        if normalize is not None:
            old, new = _same_checks(table, old, new, normalize)
    return [f"{table}: {line} is missing" for line in sorted(old - new)] + [
        f"{table}: {line} was added" for line in sorted(new - old)
    ]


_CHECK = re.compile(r"^constraint (\S+) (CHECK .*)$")


def _same_checks(
    table: str,
    old: frozenset[str],
    new: frozenset[str],
    normalize: Callable[[str, str], str | None],
) -> tuple[frozenset[str], frozenset[str]]:
    """Drop CHECK lines of the same name that mean the same once PostgreSQL re-spells them."""
    gone = {m.group(1): (line, m.group(2)) for line in old - new if (m := _CHECK.match(line))}
    came = {m.group(1): (line, m.group(2)) for line in new - old if (m := _CHECK.match(line))}
    same = set()
    for name in gone.keys() & came.keys():
        (was, was_def), (now, now_def) = gone[name], came[name]
        spelled = normalize(table, was_def)
        if spelled is not None and spelled in {now_def, normalize(table, now_def)}:
            same |= {was, now}
    return old - same, new - same


_DDL = re.compile(r"^\w+ [^:]+: ")


@lru_cache(maxsize=512)
def _replayed(lines: tuple[str, ...], table: str) -> frozenset[str]:
    """Reflect an SQLite table from its stored DDL in a private in-memory database."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            for line in sorted(lines, key=lambda s: not s.startswith("table")):
                conn.exec_driver_sql(_DDL.sub("", line, count=1))
            return frozenset(_described(inspect(conn), table))
    finally:
        engine.dispose()


def _described(insp: Any, table: str) -> set[str]:
    out = {
        f"column {c['name']} {c['type']}{'' if c['nullable'] else ' NOT NULL'}"
        f"{'' if c.get('default') is None else ' DEFAULT ' + str(c['default'])}"
        for c in insp.get_columns(table)
    }
    pk = insp.get_pk_constraint(table)
    out.add(f"primary key ({', '.join(pk['constrained_columns'])})")
    out |= {
        f"foreign key {fk.get('name') or ''}({', '.join(fk['constrained_columns'])}) "
        f"references {fk['referred_table']}({', '.join(fk['referred_columns'])})"
        f"{_fk_options(fk)}"
        for fk in insp.get_foreign_keys(table)
    }
    out |= {
        f"index {ix['name']} {'UNIQUE ' if ix['unique'] else ''}"
        f"({', '.join(str(c) for c in ix['column_names'])})"
        for ix in insp.get_indexes(table)
    }
    out |= {
        f"unique {u.get('name') or ''}({', '.join(u['column_names'])})"
        for u in insp.get_unique_constraints(table)
    }
    out |= {
        f"check {c.get('name') or ''}({' '.join(str(c['sqltext']).split())})"
        for c in insp.get_check_constraints(table)
    }
    return out


def _fk_options(fk: Mapping[str, Any]) -> str:
    options = fk.get("options") or {}
    return "".join(f" {k.upper()} {v}" for k, v in sorted(options.items()))
