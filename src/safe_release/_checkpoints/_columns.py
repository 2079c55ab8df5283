"""The columns a restore may not write as they are: generated ones and ``ALWAYS`` identities.

Read from the database's catalog, not from the SQLAlchemy ``Table`` (a model may not
declare a column the database generates):

- generated columns (``GENERATED ALWAYS AS (…)``, SQLAlchemy's ``Computed``) are not
  captured: the database computes them from the other columns, and it refuses an
  ``INSERT`` or ``UPDATE`` that gives them a value;
- PostgreSQL identity columns ``GENERATED ALWAYS`` are captured, and put back by an
  ``INSERT … OVERRIDING SYSTEM VALUE`` (a deleted row comes back with its own id). An
  ``UPDATE`` cannot set them: a row whose identity changed since the capture (deleted
  and inserted again under the same key) is deleted and inserted back instead.

A snapshot recorded before generated columns were left out may hold one: the restore
reads the catalog and neither writes nor compares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from safe_release._checkpoints._snapshot import quoted

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

__all__ = ["ColumnKinds", "column_kinds"]

# attgenerated is PostgreSQL 12's, attidentity 10's: an older server has neither kind
_PG_KINDS = """
SELECT attname::text, {generated}, {always}
FROM pg_attribute
WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped
"""
# PRAGMA table_xinfo's "hidden": 2 a virtual generated column, 3 a stored one
_SQLITE_GENERATED = (2, 3)


@dataclass(frozen=True)
class ColumnKinds:
    """``generated``: computed by the database; ``always``: identity ``GENERATED ALWAYS``."""

    generated: frozenset[str] = frozenset()
    always: frozenset[str] = frozenset()


def column_kinds(conn: Connection, table: Table) -> ColumnKinds:
    """The generated and ``ALWAYS`` identity columns of ``table``, from the catalog."""
    if conn.dialect.name == "postgresql":
        version = conn.dialect.server_version_info or (0,)
        sql = _PG_KINDS.format(
            generated="attgenerated <> ''" if version >= (12,) else "false",
            always="attidentity = 'a'" if version >= (10,) else "false")
        rows = conn.execute(text(sql), {"t": quoted(conn, table)})
        generated, always = set(), set()
        for name, is_generated, is_always in rows:
            if is_generated:
                generated.add(str(name))
            if is_always:
                always.add(str(name))
        return ColumnKinds(frozenset(generated), frozenset(always))
    if conn.dialect.name == "sqlite":
        prep = conn.dialect.identifier_preparer
        schema = prep.quote(table.schema or "main")
        info = conn.exec_driver_sql(f"PRAGMA {schema}.table_xinfo({prep.quote(table.name)})")
        return ColumnKinds(frozenset(str(r[1]) for r in info if r[6] in _SQLITE_GENERATED))
    return ColumnKinds()
