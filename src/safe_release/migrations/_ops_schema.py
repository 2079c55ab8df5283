"""Definitions the archive keeps and rebuilds: columns, tables, PostgreSQL ENUM types.

A column's type is kept as the DDL the database reports (``NUMERIC(10, 2)``,
``TIMESTAMP WITH TIME ZONE``, an ENUM's name) and rebuilt through
:class:`DDLType`, so the restored column reflects exactly as the dropped one.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from safe_release.exceptions import MigrationError

# PostgreSQL's text of a serial default: the sequence as a regclass literal, in which
# a quote is doubled (a table named it's: nextval('"it''s_id_seq"'::regclass))
_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'::regclass\)$")
# one part of a qualified name as PostgreSQL writes it: "quoted" ("" inside) or bare
_NAME_PART = re.compile(r'"((?:[^"]|"")*)"|([^".]+)')


class DDLType(sa.types.UserDefinedType[Any]):
    """A column type rendered as the DDL text it was reflected as."""

    cache_ok = True

    def __init__(self, ddl: str) -> None:
        self.ddl = ddl

    def get_col_spec(self, **kw: Any) -> str:
        """The DDL text."""
        del kw
        return self.ddl


def enum_info(coltype: Any) -> dict[str, Any] | None:
    """Name, schema and labels of a named (PostgreSQL) ENUM type, else None."""
    if isinstance(coltype, sa.Enum) and coltype.name:
        return {"name": coltype.name, "schema": coltype.schema, "labels": list(coltype.enums)}
    return None


def column_info(conn: sa.Connection, col: Any, revision: str | None = None) -> dict[str, Any]:
    """The JSON definition of a reflected column."""
    try:
        ddl = col["type"].compile(dialect=conn.dialect)
    except sa_exc.CompileError as exc:
        msg = (
            f"cannot archive column {col['name']!r}: its type was not recognised when "
            "reflected; use plain Alembic operations and a hand-written downgrade for it"
        )
        raise MigrationError(msg, revision=revision) from exc
    enum = enum_info(col["type"]) if conn.dialect.name == "postgresql" else None
    return {
        "name": col["name"],
        "type": ddl,
        "nullable": bool(col["nullable"]),
        "default": col.get("default"),
        "comment": col.get("comment"),
        "enum": enum,
        "identity": bool(col.get("identity")),
    }


def build_column(
    info: dict[str, Any], *args: Any, nullable: bool | None = None, primary_key: bool = False
) -> sa.Column[Any]:
    """A Column from :func:`column_info` (``nullable`` overrides the recorded one)."""
    default = info.get("default")
    extra: list[Any] = [*args, sa.Identity()] if info.get("identity") else list(args)
    return sa.Column(
        info["name"],
        DDLType(info["type"]),
        *extra,
        nullable=info["nullable"] if nullable is None else nullable,
        server_default=_sql(default) if default is not None else None,
        comment=info.get("comment"),
        primary_key=primary_key,
        autoincrement=False,
    )


def pg_enums(conn: sa.Connection, schema: str | None) -> dict[str, list[str]]:
    """The ENUM types visible in ``schema`` (PostgreSQL; empty elsewhere)."""
    if conn.dialect.name != "postgresql":
        return {}
    insp: Any = sa.inspect(conn)
    return {e["name"]: list(e["labels"]) for e in insp.get_enums(schema=schema)}


def ensure_enums(conn: sa.Connection, infos: list[dict[str, Any]]) -> None:
    """Create the ENUM types the columns need that no longer exist (PostgreSQL)."""
    for info in infos:
        enum = info.get("enum")
        if enum is not None and conn.dialect.name == "postgresql":
            pg_enum = sa.Enum(*enum["labels"], name=enum["name"], schema=enum["schema"])
            pg_enum.create(conn, checkfirst=True)


def drop_enums(conn: sa.Connection, names: list[str], schema: str | None) -> None:
    """Drop these ENUM types if they exist (PostgreSQL)."""
    for name in names:
        sa.Enum(name=name, schema=schema).drop(conn, checkfirst=True)


def serial_sequence(info: dict[str, Any]) -> str | None:
    """The sequence a ``serial`` column's default draws from (PostgreSQL), as regclass text.

    E.g. ``orders_id_seq`` or ``"it's_id_seq"`` (quoted where the name needs it).
    """
    match = _NEXTVAL.match(info.get("default") or "")
    return match.group(1).replace("''", "'") if match else None


def sequence_of(regclass: str) -> sa.Sequence:
    """The `sa.Sequence` named by regclass text (``"s"."it's_id_seq"``, ``x_id_seq``).

    So that statements quote it themselves, never pasting the text into SQL.
    """
    parts = [
        m.group(2) if m.group(1) is None else m.group(1).replace('""', '"')
        for m in _NAME_PART.finditer(regclass)
    ]
    return sa.Sequence(parts[-1], schema=parts[-2] if len(parts) > 1 else None)


def _sql(clause: str) -> sa.ColumnElement[Any]:
    """Reflected SQL (a default, a check), taken as it is.

    A ``:word`` in it is not a bind parameter (``text()`` would take it for one: a
    table named ``a :b`` has the default ``nextval('"a :b_id_seq"'::regclass)``).
    """
    return sa.literal_column(clause)


def table_info(
    conn: sa.Connection, table: str, schema: str | None, revision: str | None
) -> dict[str, Any]:
    """The JSON definition of a table: columns, keys, indexes, constraints."""
    insp = sa.inspect(conn)
    cols = [column_info(conn, c, revision) for c in insp.get_columns(table, schema=schema)]
    pk = insp.get_pk_constraint(table, schema=schema)
    indexes = [
        {"name": i["name"], "columns": i["column_names"], "unique": bool(i["unique"])}
        for i in insp.get_indexes(table, schema=schema)
        if "duplicates_constraint" not in i and None not in i["column_names"]
    ]
    return {
        "columns": cols,
        "pk": {"name": pk.get("name"), "columns": pk["constrained_columns"]},
        "indexes": indexes,
        "uniques": [
            {"name": u["name"], "columns": u["column_names"]}
            for u in insp.get_unique_constraints(table, schema=schema)
        ],
        "fks": [fk_info(fk) for fk in insp.get_foreign_keys(table, schema=schema)],
        "checks": [
            {"name": c["name"], "sqltext": c["sqltext"]}
            for c in insp.get_check_constraints(table, schema=schema)
        ],
    }


def fk_target(fk: dict[str, Any]) -> list[str]:
    """``[schema.]table.column`` for each referred column of :func:`fk_info`."""
    prefix = f"{fk['ref_schema']}." if fk["ref_schema"] else ""
    return [f"{prefix}{fk['ref_table']}.{c}" for c in fk["ref_columns"]]


def fk_info(fk: Any) -> dict[str, Any]:
    """The JSON form of a reflected foreign key."""
    options = fk.get("options") or {}
    return {
        "name": fk.get("name"),
        "columns": fk["constrained_columns"],
        "ref_schema": fk.get("referred_schema"),
        "ref_table": fk["referred_table"],
        "ref_columns": fk["referred_columns"],
        "ondelete": options.get("ondelete"),
        "onupdate": options.get("onupdate"),
    }


def table_elements(info: dict[str, Any]) -> list[Any]:
    """Columns and constraints to recreate a table from :func:`table_info`."""
    pk_cols = set(info["pk"]["columns"])
    elements: list[Any] = [build_column(c, primary_key=False) for c in info["columns"]]
    if pk_cols:
        elements.append(sa.PrimaryKeyConstraint(*info["pk"]["columns"], name=info["pk"]["name"]))
    elements += [sa.UniqueConstraint(*u["columns"], name=u["name"]) for u in info["uniques"]]
    elements += [sa.CheckConstraint(_sql(c["sqltext"]), name=c["name"]) for c in info["checks"]]
    for fk in info["fks"]:
        elements.append(
            sa.ForeignKeyConstraint(
                fk["columns"],
                fk_target(fk),
                name=fk["name"],
                ondelete=fk["ondelete"],
                onupdate=fk["onupdate"],
            )
        )
    return elements
