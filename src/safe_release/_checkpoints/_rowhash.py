"""PostgreSQL snapshots with a keyed hash per row, verified where the restore uses them.

At capture (PostgreSQL >= 14) the snapshot gets one extra column, ``sr_h bigint``,
filled in the same ``INSERT … SELECT`` that copies the rows:
``hash_record_extended(ROW(<columns>), seed)``. A type's hash agrees with its
equality (``numeric`` ``1.10`` and ``1.1``, ``citext`` ``Ab`` and ``ab`` hash
alike), so the columns whose equality is not identity (`_columns.Exact`) are hashed
by their exact form: the bytes of their type's send function (their text if it has
none). The forms are recorded with the state (``exact``, signed with it), so that a
restore hashes the snapshot as its capture did. Snapshots recorded before (``hrh:…``)
are checked as they were hashed. The seed is derived from the store's
signing key, the release and the step (see `_snapshot.seeds`) and is never stored,
logged or put in a message; it reaches the server as ``COPY`` data, never in a
statement or a bound parameter (which the server's log and SQLAlchemy's echo show),
see `_snapshot.pg_seed`; the functions below take the SQL that reads it back. The
recorded hash (``hre:…``, in the signed manifest) is SHA-256 of the row count and
``sum(sr_h)``.

What a restore verifies, before it writes a row:

- always: the snapshot's ``count(*)`` and ``sum(sr_h)`` equal the signed ones (one
  pass over one bigint column per row: rows added, removed or given another
  ``sr_h`` are caught);
- with a complete change log (the restore applies only snapshot rows whose key is
  logged): every snapshot row whose key is logged is re-hashed with the seed and
  compared with its ``sr_h``; any difference refuses the restore;
- without one (the whole table is compared): every snapshot row is re-hashed.

So a restore refuses a snapshot altered in any row it applies, and a forger would
need the seed to write a matching ``sr_h``. A row altered (with its ``sr_h`` left
alone) that the restore does not apply is not noticed by that restore; it is by a
restore that applies it. ``hash_record_extended`` is a fast keyed hash, not a MAC:
it guards against edits by whoever can write the snapshot table but not read the
store's key, not against cryptanalysis of the seed. The ``sr_h`` column is never
part of the recorded columns, so it is neither compared nor restored.

The snapshot table is locked (``SHARE``) before it is checked, so that it cannot
change between the check and the writes.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Column, MetaData, Table, func, literal_column, select

from safe_release._checkpoints._snapshot import (
    ROW_HASH_KINDS,
    pg_hashable,
    pg_pinned,
    quoted,
    run,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Connection
    from sqlalchemy.sql.selectable import Select

    from safe_release._checkpoints._columns import ColumnKinds
    from safe_release._checkpoints._protocol import JsonState

__all__ = [
    "COLUMN",
    "KIND",
    "add_column",
    "digest",
    "forms",
    "hashed_rows",
    "insert_verified",
    "recorded_forms",
    "totals",
    "verify",
]

COLUMN = "sr_h"
KIND, _VALUES_KIND = ROW_HASH_KINDS


def digest(count: int, total: int, kind: str = KIND) -> str:
    """The recorded hash of a snapshot of ``count`` rows whose ``sr_h`` sum to ``total``.

    ``kind``: the prefix of the hash it is compared with (``hrh:``: an earlier
    version's, which hashed every value as it is).
    """
    return kind + hashlib.sha256(f"{count}:{total}".encode()).hexdigest()


def forms(kinds: ColumnKinds, columns: Sequence[str]) -> JsonState:
    """What a capture records of the columns hashed by their exact form (JSON).

    Each captured column whose type's equality is not identity: [schema, send
    function], or None (hashed as text).
    """
    recorded: JsonState = {}
    for column in columns:
        if column in kinds.exact:
            send = kinds.exact[column].send
            recorded[column] = None if send is None else [send[0], send[1]]
    return recorded


def recorded_forms(conn: Connection, recorded: object) -> dict[str, str | None]:
    """The recorded forms (`forms`) as `_snapshot.pg_hashable` takes them: quoted SQL.

    ``recorded``: the state's ``exact``; missing from a hash of the kind that had none
    (``hrh:``): every value hashed as it is.
    """
    if not isinstance(recorded, dict):
        return {}
    quote = conn.dialect.identifier_preparer.quote
    sql: dict[str, str | None] = {}
    for column, form in recorded.items():
        if isinstance(form, list) and len(form) == 2:  # noqa: PLR2004 - schema, function
            sql[str(column)] = f"{quote(str(form[0]))}.{quote(str(form[1]))}"
        else:
            sql[str(column)] = None
    return sql


def add_column(conn: Connection, snap: Table) -> Table:
    """Add ``sr_h`` to the (empty) snapshot; its description including ``sr_h``."""
    run(conn, f"ALTER TABLE {quoted(conn, snap)} ADD COLUMN {COLUMN} bigint")
    cols = [Column(c.name, c.type) for c in snap.columns]
    return Table(snap.name, MetaData(), *cols, Column(COLUMN, BigInteger), schema=snap.schema)


def hashed_rows(
    conn: Connection,
    snap: Table,
    rows: Select[Any],
    seed: str,
    exact: Mapping[str, str | None],
) -> Select[Any]:
    """``rows`` (the source's columns) with their ``sr_h``, for ``INSERT … SELECT``.

    ``seed``: the SQL that reads the seed (`_snapshot.pg_seed`); ``exact``: the
    columns hashed by their exact form (`recorded_forms`). The columns are
    labelled ``c0``, ``c1``… inside: a label SQLAlchemy derives from a name near
    PostgreSQL's 63-character limit would be cut short, and no longer be the name.
    """
    labels = [f"c{i}" for i in range(len(rows.selected_columns))]
    inner = rows.with_only_columns(
        *(c.label(n) for c, n in zip(rows.selected_columns, labels, strict=True))
    ).subquery("s")
    fields = ", ".join(pg_hashable(conn, snap, [f"s.{n}" for n in labels], exact))
    row_hash = func.hash_record_extended(
        literal_column(f"ROW({fields})"), literal_column(seed, BigInteger)
    )
    return select(*inner.c, row_hash)


def totals(conn: Connection, snap: Table) -> tuple[int, int]:
    """The snapshot's row count and ``sum(sr_h)`` (capture)."""
    sql = (
        f"SELECT count(*), coalesce(sum({COLUMN}), 0) "  # noqa: S608 - quoted names
        f"FROM {quoted(conn, snap)}"
    )
    count, total = run(conn, sql).one()
    return int(count), int(total)


def verify(
    conn: Connection,
    snap: Table,
    seed: str,
    logged: Table | None,
    key: list[str],
    *,
    exact: Mapping[str, str | None],
    rows: bool = True,
) -> tuple[int, int, int]:
    """(rows, ``sum(sr_h)``, rows whose ``sr_h`` is wrong among those checked).

    Checked: the snapshot rows whose key is in ``logged``, or all rows if None;
    none if not ``rows`` (the caller checks them as it copies, `insert_verified`).
    ``seed``: the SQL that reads the seed (`_snapshot.pg_seed`); ``exact``: the
    columns hashed by their exact form (`recorded_forms`). The snapshot is locked
    against writes until the transaction ends.
    """
    name, quote = quoted(conn, snap), conn.dialect.identifier_preparer.quote
    run(conn, f"LOCK TABLE {name} IN SHARE MODE")
    if not rows:
        return (*totals(conn, snap), 0)
    fields = ", ".join(pg_hashable(conn, snap, forms=exact))
    wrong = f"hash_record_extended(ROW({fields}), {seed}) IS DISTINCT FROM s.{COLUMN}"
    if logged is None:
        sql = (
            f"SELECT count(*), coalesce(sum(s.{COLUMN}), 0), "  # noqa: S608 - quoted names
            f"count(*) FILTER (WHERE {wrong}) FROM {name} AS s"
        )
    else:
        keys = ", ".join(f"s.{quote(k)}" for k in key)
        logged_keys = ", ".join(f"l.{quote(k)}" for k in key)
        sql = (
            f"SELECT count(*), coalesce(sum(s.{COLUMN}), 0), "  # noqa: S608 - quoted names
            f"(SELECT count(*) FROM {name} AS s JOIN {quoted(conn, logged)} AS l "
            f"ON ({keys}) = ({logged_keys}) WHERE {wrong}) FROM {name} AS s"
        )
    with pg_pinned(conn):
        count, total, bad = run(conn, sql).one()
    return int(count), int(total), int(bad)


def insert_verified(
    conn: Connection,
    table: Table,
    snap: Table,
    seed: str,
    exact: Mapping[str, str | None],
    *,
    names: Sequence[str],
    overriding: bool = False,
) -> int:
    """Insert the snapshot rows whose ``sr_h`` is their hash; how many (empty table).

    The re-hash and the copy are one pass: a row whose hash is wrong is not
    inserted, so fewer rows than the snapshot's count means an altered snapshot
    (the caller refuses it and the transaction is rolled back). ``names``: the
    columns inserted (the hash covers every captured one); ``overriding``: the table
    has a ``GENERATED ALWAYS`` identity column (`_columns`); ``seed``: the SQL that
    reads the seed (`_snapshot.pg_seed`); ``exact``: the columns hashed by their exact
    form (`recorded_forms`).
    """
    quote = conn.dialect.identifier_preparer.quote
    cols = ", ".join(quote(n) for n in names)
    picked = ", ".join(f"s.{quote(n)}" for n in names)
    fields = ", ".join(pg_hashable(conn, snap, forms=exact))
    override = "OVERRIDING SYSTEM VALUE " if overriding else ""
    sql = (
        f"INSERT INTO {quoted(conn, table)} ({cols}) {override}SELECT {picked} "  # noqa: S608 - quoted names
        f"FROM {quoted(conn, snap)} AS s "
        f"WHERE hash_record_extended(ROW({fields}), {seed}) = s.{COLUMN}"
    )
    with pg_pinned(conn):
        result = conn.exec_driver_sql(sql, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)
