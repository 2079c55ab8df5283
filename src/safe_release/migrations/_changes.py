"""Which tables' rows may have changed since the check last read them.

Reading every table after every step would make the check's cost grow with
tables x revisions while a revision usually touches one table. On SQLite the
scratch database gets a counter table (``sr_check_changes``) and, on every
table the check reads, three ``sr_chk_*`` triggers that bump the table's
counter on any INSERT, UPDATE or DELETE. A table is read again only when its
counter moved, its definition changed, or its triggers are gone (batch mode
rebuilt or the revision dropped it). DDL that rewrites values without a
statement (ALTER ... TYPE, ADD COLUMN ... DEFAULT) changes the definition, so
it is caught too. The triggers are the scratch database's only, and the
schema comparison ignores them (``sr_`` names). On other databases every table
is read every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["ChangeTracker"]

_EVENTS = ("INSERT", "UPDATE", "DELETE")


class ChangeTracker:
    """Change counters per table (SQLite), or "always changed" elsewhere."""

    def __init__(self, conn: Connection) -> None:
        self._active = conn.dialect.name == "sqlite"
        self._read: dict[str, tuple[tuple[str, ...], int]] = {}
        self._counts: dict[str, int] = {}
        self._armed: set[str] = set()
        if self._active:
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS sr_check_changes "
                "(tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)"
            )

    def refresh(self, conn: Connection) -> None:
        """Load the counters and which tables still have their triggers (two queries)."""
        if not self._active:
            return
        self._counts = dict(conn.exec_driver_sql("SELECT tbl, n FROM sr_check_changes").all())
        self._armed = {
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'sr\\_chk\\_d\\_%' ESCAPE '\\'"
            )
        }

    def unchanged(self, name: str, definition: tuple[str, ...]) -> bool:
        """Whether ``name`` is as it was when last `read` (as of the last `refresh`)."""
        last = self._read.get(name)
        return (
            self._active
            and last is not None
            and name in self._armed
            and last == (definition, self._counts.get(name, 0))
        )

    def read(self, conn: Connection, name: str, definition: tuple[str, ...]) -> None:
        """Note that ``name`` was just read; arm its triggers if they are missing."""
        if not self._active:
            return
        if name not in self._armed:
            self._arm(conn, name)
        self._read[name] = (definition, self._counts.get(name, 0))

    def _arm(self, conn: Connection, name: str) -> None:
        quote = conn.dialect.identifier_preparer.quote
        literal = name.replace("'", "''")
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO sr_check_changes (tbl, n) VALUES (?, 0)", (name,)
        )
        for event in _EVENTS:
            trigger = quote(f"sr_chk_{event[0].lower()}_{name}")
            bump = f"UPDATE sr_check_changes SET n = n + 1 WHERE tbl = '{literal}'"  # noqa: S608
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {trigger} AFTER {event} ON "
                f"{quote(name)} BEGIN {bump}; END"
            )
        self._armed.add(name)
        self._counts.setdefault(name, 0)
