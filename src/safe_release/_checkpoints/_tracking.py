"""The change log of a table checkpoint: which keys were written since the capture.

Created in the capture's transaction, before the rows are copied: a table
``sr_chg_<release>_<seq>`` with the key columns (unique; on SQLite its primary key,
``WITHOUT ROWID``) and a ``sr_full`` flag,
and triggers on the source table that add the key of every row inserted,
updated (old and new key) or deleted. A restore then compares only those keys
with the snapshot, so its cost follows the blast radius, not the table size.

- PostgreSQL: statement-level ``AFTER INSERT/UPDATE/DELETE`` triggers with
  transition tables (one ``INSERT … SELECT`` per statement, not a function call per
  row) and an ``AFTER TRUNCATE`` trigger that sets ``sr_full``. The function is
  ``SECURITY DEFINER`` with a pinned ``search_path``, so a job whose database role may
  write the table but not the log is not broken by it. It runs with its owner's
  rights, so nobody else may attach it to a table: ``EXECUTE`` is revoked from
  ``PUBLIC`` (needed to create a trigger, not to fire one), and the function raises
  when fired on any table but the one it was made for (``TG_RELID``).
- SQLite: row-level triggers (an insert unless the key is logged already). SQLite's
  ``INSERT OR REPLACE`` deletes rows without firing delete triggers, so the log is
  only kept when the key is the table's one unique constraint (a replace then
  replaces the same key).

The log is trusted only while it is complete: the log is there, every trigger is
there and enabled, ``sr_full`` is not set, and the table has the captured columns;
otherwise a restore compares the whole table. A capture where the triggers cannot
be created (a partition, an old server, a table in an attached SQLite schema) goes
on without a log. Triggers and log go when the checkpoint is finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, MetaData, Table, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from safe_release._checkpoints._snapshot import (
    identifier,
    quoted,
    regclass,
    run,
    sqlite_keyed_columns,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from sqlalchemy import Connection
    from sqlalchemy.sql.selectable import Select

__all__ = ["ChangeLog"]

_PG_EVENTS = {"i": "INSERT", "u": "UPDATE", "d": "DELETE", "t": "TRUNCATE"}
_SQLITE_EVENTS = {"i": "INSERT", "u": "UPDATE", "d": "DELETE"}
FULL = "sr_full"
# the columns of each unique index and exclusion constraint of a table and of its
# partitions and inheritance children (a NULL element: an expression); sorted by name
_PG_UNIQUE_SETS = text("""
WITH RECURSIVE rel(oid) AS (
    SELECT to_regclass(:t)::oid
    UNION
    SELECT h.inhrelid FROM pg_inherits h JOIN rel ON h.inhparent = rel.oid
)
SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey) AS k(n)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
             ORDER BY 1)
FROM pg_index i
WHERE i.indrelid IN (SELECT oid FROM rel) AND (i.indisunique OR i.indisexclusion)
""")


class ChangeLog:
    """The log of one checkpoint (table, key, release, step)."""

    def __init__(self, source: Table, key: Sequence[str], release_id: str, seq: int) -> None:
        self.source, self.key = source, list(key)
        self.name = identifier("sr_chg", release_id, seq)
        cols = [Column(k, source.c[k].type) for k in self.key]
        self.table = Table(
            self.name, MetaData(), *cols, Column(FULL, Boolean), schema=source.schema
        )
        self._ids = (release_id, seq)

    def _trigger(self, event: str) -> str:
        return identifier("sr_chg", self._ids[0], self._ids[1], f"_{event}")

    def _function(self, conn: Connection) -> str:
        name = conn.dialect.identifier_preparer.quote(self._trigger("fn"))
        schema = self.source.schema
        return f"{conn.dialect.identifier_preparer.quote(schema)}.{name}" if schema else name

    def _events(self, conn: Connection) -> dict[str, str]:
        return _PG_EVENTS if conn.dialect.name == "postgresql" else _SQLITE_EVENTS

    # -- create ---------------------------------------------------------------------------

    def create(self, conn: Connection) -> bool:
        """Create log and triggers (False, and nothing created, where that is not possible)."""
        if conn.dialect.name == "sqlite" and not self.key_only_unique(conn):
            return False
        try:
            with conn.begin_nested():
                self._create_table(conn)
                if conn.dialect.name == "postgresql":
                    self._create_pg_triggers(conn)
                else:
                    self._create_sqlite_triggers(conn)
        except DBAPIError:
            return False
        return True

    def key_only_unique(self, conn: Connection) -> bool:
        """The key is the table's one unique set of columns.

        Every unique index or constraint (the primary key's included) and, on
        PostgreSQL, every exclusion constraint, of the table and of its partitions
        (an index may be created on one partition alone), is on exactly the key's
        columns; one on an expression is not. SQLite: the table is in the main schema.
        """
        if conn.dialect.name == "postgresql":
            sets = list(
                conn.execute(_PG_UNIQUE_SETS, {"t": regclass(conn, self.source)}).scalars()
            )
        elif self.source.schema not in {None, "main"}:
            return False  # a trigger's statements cannot name another schema's table
        else:
            sets = _sqlite_unique_sets(conn, self.source.name)
        return all(s is not None and None not in s and sorted(s) == sorted(self.key) for s in sets)

    def _create_table(self, conn: Connection) -> None:
        prep = conn.dialect.identifier_preparer
        log = quoted(conn, self.table)
        cols = ", ".join(prep.quote(k) for k in self.key)
        if conn.dialect.name == "sqlite":
            # keyed by the key itself (WITHOUT ROWID): a logged key is one B-tree
            # descent, for the triggers' existence check and for the restore's joins
            keys = sqlite_keyed_columns(
                conn, self.source, self.key, self.key, [f"{FULL} BOOLEAN NOT NULL DEFAULT 0"]
            )
            run(conn, f"CREATE TABLE {log} ({keys}) WITHOUT ROWID")
            return
        run(
            conn,
            f"CREATE TABLE {log} AS SELECT {cols} "  # noqa: S608 - quoted names
            f"FROM {quoted(conn, self.source)} WHERE false",
        )
        run(conn, f"ALTER TABLE {log} ADD COLUMN {FULL} BOOLEAN NOT NULL DEFAULT false")
        index = prep.quote(f"{self.name}_key")
        run(conn, f"CREATE UNIQUE INDEX {index} ON {log} ({cols})")

    def _create_sqlite_triggers(self, conn: Connection) -> None:
        prep = conn.dialect.identifier_preparer
        cols = ", ".join(prep.quote(k) for k in self.key)
        log, src = prep.quote(self.name), prep.quote(self.source.name)

        def logged(alias: str) -> str:
            # not INSERT OR IGNORE: inside a foreign-key action (ON UPDATE CASCADE, ON
            # DELETE SET NULL) SQLite applies the outer statement's conflict mode to the
            # trigger's insert, so a key logged twice failed the job's valid statement
            values = ", ".join(f"{alias}.{prep.quote(k)}" for k in self.key)
            same = " AND ".join(f"{prep.quote(k)} IS {alias}.{prep.quote(k)}" for k in self.key)
            return (
                f"INSERT INTO {log} ({cols}) SELECT {values} "  # noqa: S608 - quoted names
                f"WHERE NOT EXISTS (SELECT 1 FROM {log} WHERE {same});"
            )

        body = {"i": logged("NEW"), "u": logged("OLD") + " " + logged("NEW"), "d": logged("OLD")}
        for event, op in _SQLITE_EVENTS.items():
            run(
                conn,
                f"CREATE TRIGGER {prep.quote(self._trigger(event))} AFTER {op} ON {src} "
                f"BEGIN {body[event]} END",
            )

    def _create_pg_triggers(self, conn: Connection) -> None:
        prep = conn.dialect.identifier_preparer
        schema = self.source.schema or conn.execute(text("SELECT current_schema()")).scalar()
        log = f"{prep.quote(str(schema))}.{prep.quote(self.name)}"
        cols = ", ".join(prep.quote(k) for k in self.key)
        keys = f"INSERT INTO {log} ({cols}) SELECT {cols} FROM"
        src = quoted(conn, self.source)
        relid = int(
            conn.execute(
                text("SELECT to_regclass(:t)::oid"), {"t": regclass(conn, self.source)}
            ).scalar_one()
        )
        body = (
            "BEGIN\n"  # noqa: S608 - quoted names
            f"  IF TG_RELID <> {relid}::oid THEN\n"
            "    RAISE EXCEPTION 'safe_release change log trigger fired on another table';\n"
            "  END IF;\n"
            f"  IF TG_OP = 'TRUNCATE' THEN INSERT INTO {log} ({FULL}) VALUES (true);\n"
            f"  ELSIF TG_OP = 'INSERT' THEN {keys} sr_new ON CONFLICT DO NOTHING;\n"
            f"  ELSIF TG_OP = 'DELETE' THEN {keys} sr_old ON CONFLICT DO NOTHING;\n"
            f"  ELSE {keys} sr_old UNION SELECT {cols} FROM sr_new ON CONFLICT DO NOTHING;\n"
            "  END IF;\n  RETURN NULL;\nEND"
        )
        fn, tag = self._function(conn), _dollar_tag(body)
        run(
            conn,
            f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
            f"SET search_path = pg_catalog, pg_temp AS {tag}\n{body}\n{tag}",
        )
        run(conn, f"REVOKE ALL ON FUNCTION {fn}() FROM PUBLIC")
        refs = {
            "i": "REFERENCING NEW TABLE AS sr_new",
            "u": "REFERENCING OLD TABLE AS sr_old NEW TABLE AS sr_new",
            "d": "REFERENCING OLD TABLE AS sr_old",
            "t": "",
        }
        for event, op in _PG_EVENTS.items():
            run(
                conn,
                f"CREATE TRIGGER {prep.quote(self._trigger(event))} AFTER {op} ON {src} "
                f"{refs[event]} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
            )

    # -- use --------------------------------------------------------------------------------

    def complete(
        self, conn: Connection, columns: Sequence[str], limit: int | None = None
    ) -> int | None:
        """How many keys are logged, or None if the log may miss some (see the module doc).

        ``limit``: count no further than ``limit + 1`` (the caller only needs to know
        whether the log is larger than that). On SQLite the whole log is counted
        (``count(*)`` of a table walks its pages without reading a row: cheaper
        than stepping through ``limit`` rows).
        """
        if conn.dialect.name == "postgresql":
            return self._pg_complete(conn, columns, limit)
        live = [
            c["name"]
            for c in inspect(conn).get_columns(self.source.name, schema=self.source.schema)
        ]
        if sorted(live) != sorted(columns) or self._triggers(conn, enabled=True) != len(
            self._events(conn)
        ):
            return None
        if not inspect(conn).has_table(self.name, schema=self.source.schema):
            return None
        # SQLite has no TRUNCATE: sr_full is never set
        return int(conn.execute(select(func.count()).select_from(self.table)).scalar_one())

    def _count(self, limit: int | None) -> Select[Any]:
        keys = select(self.table.c[self.key[0]])
        if limit is not None:
            keys = keys.limit(limit + 1)
        return select(func.count()).select_from(keys.subquery())

    def _pg_complete(
        self, conn: Connection, columns: Sequence[str], limit: int | None
    ) -> int | None:
        """`complete` in one catalog query and one count (a restore's fixed cost)."""
        sql = (
            "SELECT (SELECT array_agg(attname::text) FROM pg_attribute "
            "WHERE attrelid = to_regclass(:src) AND attnum > 0 AND NOT attisdropped), "
            "(SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(:src) "
            "AND tgname = ANY(:names) AND tgenabled IN ('O', 'A')), "
            "to_regclass(:log) IS NOT NULL"
        )
        names = [self._trigger(e) for e in _PG_EVENTS]
        live, enabled, has_log = conn.execute(
            text(sql),
            {
                "src": regclass(conn, self.source),
                "names": names,
                "log": regclass(conn, self.table),
            },
        ).one()
        if sorted(live or []) != sorted(columns) or enabled != len(names) or not has_log:
            return None
        # the TRUNCATE marker is the one row with NULL keys: found through the key index
        marker = (
            select(self.table.c[FULL])
            .where(self.table.c[self.key[0]].is_(None), self.table.c[FULL])
            .exists()
        )
        size, full = conn.execute(select(self._count(limit).scalar_subquery(), marker)).one()
        return None if full else int(size)

    def _triggers(self, conn: Connection, *, enabled: bool = False) -> int:
        names = [self._trigger(e) for e in self._events(conn)]
        if conn.dialect.name == "postgresql":
            state = " AND tgenabled IN ('O', 'A')" if enabled else ""
            sql = (
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(:src) "  # noqa: S608 - constants
                f"AND tgname = ANY(:names){state}"
            )
            return int(
                conn.execute(
                    text(sql), {"src": regclass(conn, self.source), "names": names}
                ).scalar_one()
            )
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        sql = (
            f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608 - placeholders
            f"AND tbl_name = :src AND name IN ({marks})"
        )
        params = {"src": self.source.name} | {f"n{i}": n for i, n in enumerate(names)}
        return int(conn.execute(text(sql), params).scalar_one())

    # -- drop -------------------------------------------------------------------------------

    def drop_triggers(self, conn: Connection) -> None:
        """Drop the triggers (and on PostgreSQL their function); the log stays.

        PostgreSQL: the function with ``CASCADE``, which drops exactly the triggers
        that call it, in one statement.
        """
        if conn.dialect.name == "postgresql":
            run(conn, f"DROP FUNCTION IF EXISTS {self._function(conn)}() CASCADE")
            return
        prep = conn.dialect.identifier_preparer
        for event in self._events(conn):
            run(conn, f"DROP TRIGGER IF EXISTS {prep.quote(self._trigger(event))}")

    def drop_table(self, conn: Connection) -> None:
        """Drop the log table (after the triggers: a trigger without its log breaks writes)."""
        run(conn, f"DROP TABLE IF EXISTS {quoted(conn, self.table)}")

    def drop(self, conn: Connection) -> None:
        """Drop the triggers (first: a trigger without its log would break writes) and log."""
        self.drop_triggers(conn)
        self.drop_table(conn)


def _sqlite_unique_sets(conn: Connection, name: str) -> list[list[str | None]]:
    """The columns of each unique set of an SQLite table (None: an expression).

    Read with the pragmas (the inspector skips expression indexes, with a warning):
    the rowid primary key's columns, then every unique index's (the primary key's
    and the unique constraints' automatic indexes included).
    """
    table = conn.dialect.identifier_preparer.quote(name)
    pk = [r[1] for r in run(conn, f"PRAGMA main.table_info({table})") if r[5]]
    sets: list[list[str | None]] = [pk] if pk else []
    for index in list(run(conn, f"PRAGMA main.index_list({table})")):
        if index[2]:  # unique
            quoted_index = conn.dialect.identifier_preparer.quote(index[1])
            sets.append([r[2] for r in run(conn, f"PRAGMA main.index_info({quoted_index})")])
    return sets


def _dollar_tag(body: str) -> str:
    """A dollar quote (``$sr$``, ``$sr1$``…) that the function's body does not contain."""
    n = 0
    while (tag := f"$sr{n or ''}$") in body:
        n += 1
    return tag
