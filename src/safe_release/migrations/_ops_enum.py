"""Redefining a PostgreSQL ENUM type's labels: new type, swap the columns, drop the old.

PostgreSQL cannot remove a label from an ENUM, so the type is rebuilt under a
temporary name, every column using it is converted through ``text``, the old
type is dropped and the new one renamed to the old name. Column defaults that
mention the type are dropped first and put back afterwards.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

_USAGES = sa.text(
    "SELECT table_schema, table_name, column_name, column_default "
    "FROM information_schema.columns "
    "WHERE udt_name = :name AND udt_schema = COALESCE(:schema, current_schema()) "
    "ORDER BY table_schema, table_name, ordinal_position"
)


def usages(conn: sa.Connection, name: str, schema: str | None) -> list[list[Any]]:
    """``[table_schema, table, column, default]`` of every column of the ENUM type."""
    return [list(r) for r in conn.execute(_USAGES, {"name": name, "schema": schema})]


def _qualified(conn: sa.Connection, name: str, schema: str | None) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def swap(
    conn: sa.Connection, name: str, schema: str | None, labels: list[str], cols: list[list[Any]]
) -> None:
    """Give ENUM type ``name`` exactly ``labels``, converting the columns ``cols``."""
    quote = conn.dialect.identifier_preparer.quote
    tmp = f"{name}__sr_new"
    sa.Enum(name=tmp, schema=schema).drop(conn, checkfirst=True)
    sa.Enum(*labels, name=tmp, schema=schema).create(conn)
    tmp_q = _qualified(conn, tmp, schema)
    for table_schema, table, column, default in cols:
        target = f"{quote(table_schema)}.{quote(table)}"
        if default is not None:
            conn.exec_driver_sql(f"ALTER TABLE {target} ALTER COLUMN {quote(column)} DROP DEFAULT")
        conn.exec_driver_sql(
            f"ALTER TABLE {target} ALTER COLUMN {quote(column)} "
            f"TYPE {tmp_q} USING {quote(column)}::text::{tmp_q}"
        )
    conn.exec_driver_sql(f"DROP TYPE {_qualified(conn, name, schema)}")
    conn.exec_driver_sql(f"ALTER TYPE {tmp_q} RENAME TO {quote(name)}")
    for table_schema, table, column, default in cols:
        if default is not None:
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(table_schema)}.{quote(table)} "
                f"ALTER COLUMN {quote(column)} SET DEFAULT {default}"
            )
