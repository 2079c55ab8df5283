"""The migration archive: ``sr_migration_archive`` in the ERP database.

One table, written through the running migration's own connection, created on
first use. Each lossy or recorded operation of a revision is an *entry*
(numbered in the order the upgrade ran them); ``row_no = 0`` is the entry's
description (JSON: what the operation did, the definitions it removed) and
``row_no >= 1`` are pages of up to :data:`BATCH` archived table rows (a JSON
list of lists of exactly-encoded values, see :mod:`._ops_codec`), so a
1,000-row table costs one archive row. ``undo`` replays the entries newest first and deletes
each one once it is reversed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from safe_release.migrations._ops_codec import dumps_rows, loads_rows

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

ARCHIVE_TABLE = "sr_migration_archive"
BATCH = 1000

_metadata = sa.MetaData()
archive = sa.Table(
    ARCHIVE_TABLE,
    _metadata,
    sa.Column("revision", sa.String(255), primary_key=True),
    sa.Column("entry", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("row_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("op", sa.String(40), nullable=False),
    sa.Column("table_name", sa.String(255), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Entry:
    """One recorded operation of a revision (its ``row_no = 0`` row)."""

    revision: str
    entry: int
    op: str
    table: str
    info: dict[str, Any]


def exists(conn: sa.Connection) -> bool:
    """Whether the archive table is there (no CREATE)."""
    return sa.inspect(conn).has_table(ARCHIVE_TABLE)


def ensure(conn: sa.Connection) -> None:
    """Create the archive table unless it exists."""
    archive.create(conn, checkfirst=True)


def forget(conn: sa.Connection, revision: str) -> None:
    """Delete every entry of ``revision`` (left by an upgrade that was never undone)."""
    conn.execute(archive.delete().where(archive.c.revision == revision))


def add_entry(
    conn: sa.Connection, revision: str, op: str, table: str, info: dict[str, Any]
) -> Entry:
    """Record a new entry for ``revision`` and return it."""
    last = conn.execute(
        sa.select(sa.func.max(archive.c.entry)).where(archive.c.revision == revision)
    ).scalar()
    entry = Entry(revision, (last or 0) + 1, op, table, info)
    conn.execute(
        archive.insert().values(
            revision=revision,
            entry=entry.entry,
            row_no=0,
            op=op,
            table_name=table,
            payload=json.dumps(info, separators=(",", ":"), sort_keys=True),
        )
    )
    return entry


def add_rows(conn: sa.Connection, entry: Entry, rows: Iterable[list[Any]]) -> int:
    """Append ``rows`` to ``entry`` as pages of :data:`BATCH` rows; return how many rows."""
    pages: list[dict[str, Any]] = []
    page: list[list[Any]] = []
    count = 0
    for row in rows:
        count += 1
        page.append(row)
        if len(page) >= BATCH:
            pages.append(_page(entry, len(pages) + 1, page))
            page = []
    if page:
        pages.append(_page(entry, len(pages) + 1, page))
    if pages:
        conn.execute(archive.insert(), pages)
    return count


def _page(entry: Entry, row_no: int, rows: list[list[Any]]) -> dict[str, Any]:
    return {
        "revision": entry.revision,
        "entry": entry.entry,
        "row_no": row_no,
        "op": entry.op,
        "table_name": entry.table,
        "payload": dumps_rows(rows),
    }


def entries(conn: sa.Connection, revision: str) -> list[Entry]:
    """The entries of ``revision``, newest first (empty if none or no archive)."""
    if not exists(conn):
        return []
    query = (
        sa.select(archive.c.entry, archive.c.op, archive.c.table_name, archive.c.payload)
        .where(archive.c.revision == revision, archive.c.row_no == 0)
        .order_by(archive.c.entry.desc())
    )
    return [
        Entry(revision, e, op, table, json.loads(payload))
        for e, op, table, payload in conn.execute(query)
    ]


def row_batches(conn: sa.Connection, entry: Entry) -> Iterator[list[list[Any]]]:
    """The archived rows of ``entry`` in order, a page at a time."""
    last = 0
    while True:
        query = (
            sa.select(archive.c.row_no, archive.c.payload)
            .where(
                archive.c.revision == entry.revision,
                archive.c.entry == entry.entry,
                archive.c.row_no > last,
            )
            .order_by(archive.c.row_no)
            .limit(1)
        )
        page = conn.execute(query).first()
        if page is None:
            return
        last = page[0]
        yield loads_rows(page[1])


def drop_entry(conn: sa.Connection, entry: Entry) -> None:
    """Delete ``entry`` and its rows (after it has been reversed)."""
    conn.execute(
        archive.delete().where(
            archive.c.revision == entry.revision, archive.c.entry == entry.entry
        )
    )
