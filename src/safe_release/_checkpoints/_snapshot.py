"""Snapshot tables: naming, creation, and the content hash of their rows.

The hash is computed by the database where it can be: on PostgreSQL as two
128-bit sums of per-row MD5s (order-independent, one pass, server-side); on
SQLite, which has no hash function, as SHA-256 over the rows' ``quote()``
encoding, concatenated by ``group_concat`` in fixed chunks of rowids, so that
Python only sees a few large strings and never a row.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, Table, false, inspect, select, text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Connection

__all__ = [
    "MAX_IDENTIFIER",
    "create_empty",
    "drop",
    "exists",
    "snapshot_hash",
    "snapshot_name",
    "snapshot_table",
]

MAX_IDENTIFIER = 63
_CHUNK = 65_536
_UNSAFE = re.compile(r"[^0-9a-z_]")
# PostgreSQL settings that change how a row is written as text; pinned while hashing
_PG_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
}


def snapshot_name(release_id: str, seq: int) -> str:
    """``sr_snap_<release id>_<seq>``, cut to PostgreSQL's 63-character limit."""
    rid = _UNSAFE.sub("", release_id.lower())
    suffix = f"_{seq}"
    return f"sr_snap_{rid}"[: MAX_IDENTIFIER - len(suffix)] + suffix


def snapshot_table(source: Table, name: str, columns: Sequence[str]) -> Table:
    """A Core description of the snapshot of ``source`` (same schema, its column types)."""
    cols = [Column(c, source.c[c].type) for c in columns]
    return Table(name, MetaData(), *cols, schema=source.schema)


def create_empty(conn: Connection, source: Table, snap: Table) -> None:
    """Create ``snap`` with exactly the source columns' database types, and no rows."""
    conn.execute(text(f"DROP TABLE IF EXISTS {_name(conn, snap)}"))
    query = select(*(source.c[c.name] for c in snap.columns)).where(false())
    sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.execute(text(f"CREATE TABLE {_name(conn, snap)} AS {sql}"))


def drop(conn: Connection, snap: Table) -> None:
    """Drop the snapshot table if it is there."""
    conn.execute(text(f"DROP TABLE IF EXISTS {_name(conn, snap)}"))


def exists(conn: Connection, snap: Table) -> bool:
    """Whether the snapshot table is there."""
    return inspect(conn).has_table(snap.name, schema=snap.schema)


def snapshot_hash(conn: Connection, snap: Table) -> tuple[int, str]:
    """The snapshot's row count and content hash (``sha256:…``)."""
    if conn.dialect.name == "postgresql":
        return _pg_hash(conn, snap)
    return _sqlite_hash(conn, snap)


def _name(conn: Connection, table: Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)


def _pg_hash(conn: Connection, snap: Table) -> tuple[int, str]:
    name = _name(conn, snap)
    part = "('x' || substr(h, {0}, 16))::bit(64)::bigint::numeric"
    sql = (
        f"SELECT count(*), coalesce(sum({part.format(1)}), 0), "  # noqa: S608 - quoted names
        f"coalesce(sum({part.format(17)}), 0) FROM (SELECT md5(s::text) AS h FROM {name} AS s) q"
    )
    with _pg_pinned(conn):
        count, low, high = conn.execute(text(sql)).one()
    digest = hashlib.sha256(f"{count}:{low}:{high}".encode()).hexdigest()
    return int(count), f"sha256:{digest}"


@contextmanager
def _pg_pinned(conn: Connection) -> Iterator[None]:
    """Pin the text-output settings for this transaction, then put the old values back."""
    setting = text("SELECT set_config(:k, :v, true)")
    old = {k: str(conn.execute(text("SELECT current_setting(:k)"), {"k": k}).scalar_one())
           for k in _PG_SETTINGS}
    for key, value in _PG_SETTINGS.items():
        conn.execute(setting, {"k": key, "v": value})
    yield  # on an error the transaction is rolled back, and the settings with it
    for key, value in old.items():
        conn.execute(setting, {"k": key, "v": value})


def _sqlite_hash(conn: Connection, snap: Table) -> tuple[int, str]:
    name = _name(conn, snap)
    quote = conn.dialect.identifier_preparer.quote
    row = "||','||".join(f"quote({quote(c.name)})" for c in snap.columns)
    top = conn.execute(text(f"SELECT max(rowid) FROM {name}")).scalar() or 0  # noqa: S608
    sql = text(
        f"SELECT count(*), CAST(group_concat({row}, char(10)) AS BLOB) FROM {name} "  # noqa: S608
        "WHERE rowid BETWEEN :lo AND :hi"
    )
    hasher, count = hashlib.sha256(), 0
    for lo, hi in _chunks(int(top)):
        n, blob = conn.execute(sql, {"lo": lo, "hi": hi}).one()
        count += int(n)
        hasher.update(bytes(blob or b""))
        hasher.update(b"\x00")
    return count, f"sha256:{hasher.hexdigest()}"


def _chunks(top: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, top + 1, _CHUNK):
        yield lo, lo + _CHUNK - 1
