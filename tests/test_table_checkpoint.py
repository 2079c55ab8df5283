"""Table checkpoints: server-side snapshots, set-based restore, exact round trips."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, _snapfile, table_checkpoint
from safe_release._checkpoints._diff import Diff
from safe_release._checkpoints._tracking import ChangeLog

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import Backend


@pytest.fixture(name="prices")
def fixture_prices(store: sr.Store) -> Iterator[sa.Table]:
    """An ERP prices table (composite key, every awkward type) in the store's database."""
    md = sa.MetaData(schema=store.schema)
    table = sa.Table(
        "prices",
        md,
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("store", sa.String(8), primary_key=True),
        sa.Column("price", sa.Numeric(18, 4)),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("attrs", sa.JSON),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("note", sa.Text),
    )
    md.create_all(store.engine)
    with store.engine.begin() as conn:
        conn.execute(table.insert(), [row(i) for i in range(20)])
    yield table
    md.drop_all(store.engine)


def row(i: int, store: str | None = None) -> dict[str, Any]:
    """One price row; odd rows have NULLs."""
    return {
        "sku": f"SKU-{i:03d}",
        "store": store or ("US" if i % 2 == 0 else "EU"),
        "price": Decimal("12.3456") + i if i % 3 else None,
        "at": datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(hours=i),
        "attrs": {"color": "red", "n": i, "nested": [1, None]} if i % 2 == 0 else None,
        "blob": bytes([0, 255, i]) if i % 4 else None,
        "note": None if i % 5 == 0 else f"note {i}",
    }


def ctx(store: sr.Store, seq: int = 1) -> CheckpointContext:
    """A context for a made-up release."""
    return CheckpointContext(store, uuid.uuid4().hex, seq)


def rows_of(store: sr.Store, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row, in key order, as plain tuples."""
    with store.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.sku, table.c.store))
        ]


def mess_up(store: sr.Store, table: sa.Table) -> None:
    """Change, delete and insert rows the way a buggy job would."""
    with store.engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.sku == "SKU-002")
            .values(price=Decimal("0.0001"), attrs={"color": "blue"}, blob=b"x", note=None)
        )
        conn.execute(
            table.update().where(table.c.sku == "SKU-001").values(price=Decimal(1), note="set")
        )
        conn.execute(table.delete().where(table.c.sku.in_(["SKU-004", "SKU-005"])))
        conn.execute(table.insert(), [row(100), row(101)])


def snapshot_file(store: sr.Store, state: dict[str, Any]) -> Path:
    """The SQLite snapshot file beside the store's database."""
    assert store.engine.url.database is not None
    return Path(store.engine.url.database).with_name(str(state["file"]))


def forge(store: sr.Store, state: dict[str, Any], sql: str) -> None:
    """Run ``sql`` (``{snap}`` = the snapshot table) against the stored snapshot."""
    if store.dialect == "sqlite":
        with contextlib.closing(sqlite3.connect(snapshot_file(store, state))) as db:
            db.execute(sql.format(snap=f'"{state["snapshot"]}"'))
            db.commit()
        return
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql.format(snap=f'"{store.schema}"."{state["snapshot"]}"')))


def triggers(store: sr.Store) -> list[str]:
    """The names of the triggers on the prices table."""
    if store.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'prices'"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass(:t)"
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.text(sql), {"t": f'"{store.schema}".prices'}).scalars())


def stamping_trigger(
    store: sr.Store, table: str, *, column: str, assign: str, update: str, when: str = ""
) -> list[str]:
    """DDL of a trigger that stamps each row of ``table`` updated.

    PostgreSQL: a BEFORE UPDATE trigger running ``assign``; SQLite: an AFTER UPDATE OF
    ``column`` trigger (``when``: its condition) running ``update``.
    """
    name = f'"{store.schema}".{table}' if store.schema else table
    if store.dialect == "postgresql":
        fn = f'"{store.schema}".stamp_{table}'
        function = (
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger AS "
            f"$$ BEGIN {assign}; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        trigger = f"CREATE TRIGGER stamp BEFORE UPDATE ON {name} FOR EACH ROW "
        return [function, trigger + f"EXECUTE FUNCTION {fn}()"]
    head = f"CREATE TRIGGER stamp AFTER UPDATE OF {column} ON {name} {when}"
    return [f"{head} BEGIN {update}; END"]


def has_table(store: sr.Store, name: str) -> bool:
    """Whether the store's database has table ``name`` (in the store's schema)."""
    return sa.inspect(store.engine).has_table(name, schema=store.schema)


def log_keys(store: sr.Store, state: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The keys in the checkpoint's change log, sorted."""
    log = sa.Table(
        str(state["log"]), sa.MetaData(), schema=store.schema, autoload_with=store.engine
    )
    with store.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(log.c.sku, log.c.store)))


class TestCaptureRestore:
    def test_restore_puts_every_value_back_exactly(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """Changed, deleted and inserted rows come back with numerics, tz, JSON, bytes, NULLs."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        assert state["rows"] == 20
        mess_up(store, prices)
        assert rows_of(store, prices) != before
        assert cp.restore(state, c) == "2 changed, 2 inserted, 2 deleted"
        after = rows_of(store, prices)
        assert after == before
        assert after[4][2] == Decimal("16.3456")
        if store.dialect == "postgresql":  # SQLite has no time zone type: stored as given
            assert after[2][3].utcoffset() == timedelta(0)

    def test_restore_twice_is_a_no_op(self, store: sr.Store, prices: sa.Table) -> None:
        """A second restore (e.g. after a crash) touches nothing."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        cp.restore(state, c)
        assert cp.restore(state, c) == "0 changed, 0 inserted, 0 deleted"
        assert cp.verify(state, c) == (True, "equal to the checkpoint")

    def test_where_limits_the_scope(self, store: sr.Store, prices: sa.Table) -> None:
        """Rows outside ``where`` are neither captured nor touched by the restore."""
        cp = table_checkpoint(store.engine, prices, where="store = 'US'")
        assert cp.describe().endswith("prices where store = 'US'")
        c = ctx(store)
        state = cp.capture(c)
        assert state["rows"] == 10
        with store.engine.begin() as conn:
            conn.execute(prices.update().values(note="changed"))
            conn.execute(prices.insert(), [row(200, "US"), row(201, "EU")])
        assert cp.restore(state, c) == "10 changed, 0 inserted, 1 deleted"
        eu = [r for r in rows_of(store, prices) if r[1] == "EU"]
        assert all(r[6] == "changed" for r in eu if r[0] != "SKU-201")
        assert any(r[0] == "SKU-201" for r in eu)

    def test_sqlalchemy_expression_where(self, store: sr.Store, prices: sa.Table) -> None:
        """A Core expression works as ``where`` and is described as SQL."""
        cp = table_checkpoint(store.engine, prices, where=prices.c.store == "EU")
        assert "'EU'" in cp.describe()
        c = ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        assert cp.restore(state, c) == "1 changed, 1 inserted, 1 deleted"

    def test_table_by_name_and_model(self, store: sr.Store, prices: sa.Table) -> None:
        """A table name is reflected from the engine; an ORM model's table is used."""
        del prices
        name = f"{store.schema}.prices" if store.schema else "prices"
        by_name = table_checkpoint(store.engine, name)
        assert by_name.table.c.price.type.__class__.__name__ in {"NUMERIC", "Numeric"}

        class Base(sqlalchemy.orm.DeclarativeBase):
            pass

        class Price(Base):
            __table__ = by_name.table

        assert table_checkpoint(store.engine, Price).describe() == by_name.describe()

    def test_snapshot_named_after_release(self, store: sr.Store, prices: sa.Table) -> None:
        """The snapshot is sr_snap_<release>_<seq> (SQLite: its own file); discard drops it."""
        c = ctx(store, seq=7)
        cp = table_checkpoint(store.engine, prices)
        state = cp.capture(c)
        assert state["snapshot"] == f"sr_snap_{c.release_id}_7"
        if store.dialect == "sqlite":
            path = snapshot_file(store, state)
            assert path.name == f"store.db.sr-snap-{c.release_id}_7"
            assert path.is_file()
            cp.discard(state, c)
            assert not path.exists()
            return
        insp = sa.inspect(store.engine)
        assert insp.has_table(str(state["snapshot"]), schema=store.schema)
        cp.discard(state, c)
        assert not sa.inspect(store.engine).has_table(str(state["snapshot"]), schema=store.schema)


class TestRefusals:
    def test_tampered_snapshot(self, store: sr.Store, prices: sa.Table) -> None:
        """An altered snapshot raises SnapshotTamperedError and restores nothing."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        messed = rows_of(store, prices)
        forge(store, state, "UPDATE {snap} SET note = 'forged' WHERE sku = 'SKU-003'")
        with pytest.raises(sr.SnapshotTamperedError, match="altered"):
            cp.restore(state, c)
        assert rows_of(store, prices) == messed

    def test_missing_snapshot(self, store: sr.Store, prices: sa.Table) -> None:
        """A dropped snapshot raises SnapshotMissingError."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        cp.discard(state, c)
        with pytest.raises(sr.SnapshotMissingError, match="gone"):
            cp.restore(state, c)

    def test_no_primary_key_needs_key(self, store: sr.Store) -> None:
        """A table without a primary key needs key=; unknown key columns are refused."""
        md = sa.MetaData(schema=store.schema)
        t = sa.Table("loose", md, sa.Column("a", sa.Integer), sa.Column("b", sa.Integer))
        md.create_all(store.engine)
        with pytest.raises(sr.InvalidArgumentError, match="no primary key"):
            table_checkpoint(store.engine, t)
        with pytest.raises(sr.InvalidArgumentError, match="does not have"):
            table_checkpoint(store.engine, t, key="zz")
        cp, c = table_checkpoint(store.engine, t, key="a"), ctx(store)
        with store.engine.begin() as conn:
            conn.execute(t.insert(), [{"a": 1, "b": 1}, {"a": 1, "b": 2}])
        with pytest.raises(sr.CheckpointError, match="several rows share one key"):
            cp.capture(c)

    def test_unknown_table(self, store: sr.Store) -> None:
        """A name that is not a table is an InvalidArgumentError naming what to check."""
        with pytest.raises(sr.InvalidArgumentError, match="does not exist"):
            table_checkpoint(store.engine, "no_such_table")
        with pytest.raises(sr.InvalidArgumentError, match="takes a Table"):
            table_checkpoint(store.engine, 42)  # type: ignore[arg-type]


class TestBlastRadius:
    def test_restore_touches_only_differing_rows(self, store: sr.Store, prices: sa.Table) -> None:
        """Unchanged rows are not rewritten (an update trigger would see only the changed)."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(prices.update().where(prices.c.sku == "SKU-006").values(note="x"))
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"

    @pytest.mark.parametrize("log", [True, False])
    def test_every_row_changed_plus_an_insert_and_a_delete(
        self, store: sr.Store, prices: sa.Table, *, log: bool
    ) -> None:
        """Every row updated, one added, one deleted: all put back (with and without log)."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        if not log:
            cp.finish(state, c)
        with store.engine.begin() as conn:
            conn.execute(prices.update().values(note="x"))
        assert cp.restore(state, c) == "20 changed, 0 inserted, 0 deleted"
        assert rows_of(store, prices) == before
        state = cp.capture(c := ctx(store))
        with store.engine.begin() as conn:
            conn.execute(prices.update().values(note="y"))
            conn.execute(prices.delete().where(prices.c.sku == "SKU-004"))
            conn.execute(prices.insert(), [row(100)])
        assert cp.restore(state, c) == "19 changed, 1 inserted, 1 deleted"
        assert rows_of(store, prices) == before


class TestWipedTable:
    """Every row deleted since the capture: one ``INSERT … SELECT``, still verified."""

    def wipe(self, store: sr.Store, prices: sa.Table) -> None:
        """The job deletes every row."""
        with store.engine.begin() as conn:
            conn.execute(prices.delete())

    def test_wiped_table_restored_exactly(self, store: sr.Store, prices: sa.Table) -> None:
        """Every row comes back with every value, NULLs and awkward types included."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.wipe(store, prices)
        assert cp.restore(state, c) == "0 changed, 20 inserted, 0 deleted"
        assert rows_of(store, prices) == before
        assert triggers(store) == []
        assert not has_table(store, str(state["log"]))

    def test_wiped_without_log_restored(self, store: sr.Store, prices: sa.Table) -> None:
        """Without a change log (finished checkpoint) an empty table is refilled too."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        cp.finish(state, c)
        self.wipe(store, prices)
        assert cp.restore(state, c) == "0 changed, 20 inserted, 0 deleted"
        assert rows_of(store, prices) == before

    def test_wiped_scope_with_rows_outside_compares(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """Rows outside the ``where`` scope left: the usual comparison, not a refill."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices, where="store = 'US'"), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(prices.delete().where(prices.c.store == "US"))
        assert cp.restore(state, c) == "0 changed, 10 inserted, 0 deleted"
        assert rows_of(store, prices) == before

    def test_wiped_altered_snapshot_refused(self, store: sr.Store, prices: sa.Table) -> None:
        """An altered snapshot row: SnapshotTamperedError, the table stays empty."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.wipe(store, prices)
        forge(store, state, "UPDATE {snap} SET note = 'forged' WHERE sku = 'SKU-003'")
        with pytest.raises(sr.SnapshotTamperedError, match="altered"):
            cp.restore(state, c)
        assert rows_of(store, prices) == []
        assert triggers(store) != []  # still logging, for a restore from a backup

    def test_wiped_added_row_refused(self, store: sr.Store, prices: sa.Table) -> None:
        """A row added to the snapshot: SnapshotTamperedError, the table stays empty."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.wipe(store, prices)
        extra = (
            ", sr_h) SELECT 'SKU-X', 'US', sr_h FROM {snap} WHERE sku = 'SKU-001'"
            if store.dialect == "postgresql"
            else ") VALUES ('SKU-X', 'US')"
        )
        forge(store, state, "INSERT INTO {snap} (sku, store" + extra)
        with pytest.raises(sr.SnapshotTamperedError, match="altered"):
            cp.restore(state, c)
        assert rows_of(store, prices) == []


class TestOtherUniqueSets:
    """A unique set besides the key: the restore deletes before it updates.

    ``listings``: ``id`` is the key, ``sku`` unique too. The job gives row 1 a new
    sku and a new row 3 the sku row 1 had: updating row 1 back first would collide
    with row 3, which only the delete removes.
    """

    @pytest.fixture(name="listings")
    def fixture_listings(self, store: sr.Store) -> Iterator[sa.Table]:
        md = sa.MetaData(schema=store.schema)
        table = sa.Table(
            "listings",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sku", sa.String(20), nullable=False),
            sa.Column("price", sa.Numeric(10, 2)),
        )
        md.create_all(store.engine)
        with store.engine.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {"id": 1, "sku": "A", "price": Decimal("1.50")},
                    {"id": 2, "sku": "B", "price": Decimal("2.50")},
                ],
            )
        yield table
        md.drop_all(store.engine)

    def listing_rows(self, store: sr.Store, table: sa.Table) -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]

    def unique(self, store: sr.Store, table: sa.Table, kind: str) -> None:
        """Add a unique set of ``kind`` to ``table``."""
        name = f'"{store.schema}".listings' if store.schema else "listings"
        ddl = {
            "column": f"CREATE UNIQUE INDEX listings_sku ON {name} (sku)",
            "expression": f"CREATE UNIQUE INDEX listings_sku_lower ON {name} (lower(sku))",
            "constraint": f"ALTER TABLE {name} ADD CONSTRAINT listings_sku_uq UNIQUE (sku)",
            "key": f"CREATE UNIQUE INDEX listings_id ON {name} (id)",
        }[kind]
        if kind == "constraint" and store.dialect == "sqlite":
            ddl = f"CREATE UNIQUE INDEX listings_sku_uq ON {name} (sku)"
        with store.engine.begin() as conn:
            conn.execute(sa.text(ddl))
        del table

    @pytest.mark.parametrize("kind", ["column", "expression", "constraint"])
    @pytest.mark.parametrize("log", [True, False])
    def test_value_moved_to_a_new_row_restored(
        self, store: sr.Store, listings: sa.Table, kind: str, *, log: bool
    ) -> None:
        """The sku moved from row 1 to a new row: put back without a unique violation."""
        self.unique(store, listings, kind)
        before = self.listing_rows(store, listings)
        cp, c = table_checkpoint(store.engine, listings), ctx(store)
        state = cp.capture(c)
        if not log:
            cp.finish(state, c)
        with store.engine.begin() as conn:
            conn.execute(listings.update().where(listings.c.id == 1).values(sku="C"))
            conn.execute(listings.insert().values(id=3, sku="A", price=Decimal("9.99")))
        assert cp.restore(state, c) == "1 changed, 0 inserted, 1 deleted"
        assert self.listing_rows(store, listings) == before

    @pytest.mark.parametrize(
        ("kind", "only"),
        [
            (None, True),
            ("key", True),
            ("column", False),
            ("expression", False),
            ("constraint", False),
        ],
    )
    def test_key_only_unique(
        self, store: sr.Store, listings: sa.Table, kind: str | None, *, only: bool
    ) -> None:
        """Whether the key is the one unique set, read from the catalog."""
        if kind is not None:
            self.unique(store, listings, kind)
        with store.engine.connect() as conn:  # no warning either (errors here)
            assert ChangeLog(listings, ["id"], "r", 1).key_only_unique(conn) is only

    def test_unique_index_on_one_partition(self, store: sr.Store) -> None:
        """PostgreSQL: a unique index made on one partition only counts too."""
        if store.dialect != "postgresql":
            pytest.skip("partitions are PostgreSQL's")
        parent, part = f'"{store.schema}".acc', f'"{store.schema}".acc_p1'
        columns = "(id int PRIMARY KEY, email text, n int)"
        ddl = [
            f"CREATE TABLE {parent} {columns} PARTITION BY RANGE (id)",
            f"CREATE TABLE {part} PARTITION OF {parent} FOR VALUES FROM (0) TO (1000)",
            f"CREATE UNIQUE INDEX acc_p1_email ON {part} (email)",
        ]
        with store.engine.begin() as conn:
            for sql in ddl:
                conn.execute(sa.text(sql))
        acc = sa.Table("acc", sa.MetaData(), schema=store.schema, autoload_with=store.engine)
        with store.engine.begin() as conn:
            conn.execute(
                acc.insert(), [{"id": 1, "email": "a", "n": 1}, {"id": 2, "email": "b", "n": 2}]
            )
        try:
            before = self.listing_rows(store, acc)
            cp, c = table_checkpoint(store.engine, acc), ctx(store)
            state = cp.capture(c)
            with store.engine.begin() as conn:
                conn.execute(acc.update().where(acc.c.id == 1).values(email="c"))
                conn.execute(acc.insert().values(id=3, email="a", n=3))
            assert cp.restore(state, c) == "1 changed, 0 inserted, 1 deleted"
            assert self.listing_rows(store, acc) == before
        finally:
            acc.drop(store.engine)

    @pytest.mark.parametrize(("kind", "deletes"), [(None, False), ("column", True)])
    def test_update_first_only_when_the_key_is_the_only_unique_set(
        self, store: sr.Store, listings: sa.Table, kind: str | None, *, deletes: bool
    ) -> None:
        """One logged row changed: with no other unique set, the update alone restores it."""
        if kind is not None:
            self.unique(store, listings, kind)
        with store.engine.begin() as conn:  # enough rows for the log to be used (<= 25 %)
            conn.execute(
                listings.insert(), [{"id": i, "sku": f"S{i}", "price": 1} for i in range(10, 30)]
            )
        cp, c = table_checkpoint(store.engine, listings), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(listings.update().where(listings.c.id == 1).values(price=0))
        statements: list[str] = []

        def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", seen)
        try:
            assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", seen)
        writes = [
            s.split()[0]
            for s in statements
            if s.split()[0] in {"UPDATE", "DELETE"} and "listings" in s.split("WHERE")[0]
        ]
        assert writes == (["DELETE", "UPDATE"] if deletes else ["UPDATE"])

    def test_exclusion_constraint_is_a_unique_set(
        self, store: sr.Store, listings: sa.Table
    ) -> None:
        """PostgreSQL: an exclusion constraint counts as another unique set."""
        if store.dialect != "postgresql":
            pytest.skip("exclusion constraints are PostgreSQL's")
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f'ALTER TABLE "{store.schema}".listings ADD COLUMN during '
                    "tsrange, ADD CONSTRAINT listings_during EXCLUDE USING gist "
                    "(during WITH &&)"
                )
            )
        with store.engine.connect() as conn:
            assert ChangeLog(listings, ["id"], "r", 1).key_only_unique(conn) is False


class TestGeneratedColumns:
    """Columns the database generates: computed ones and PostgreSQL ALWAYS identities.

    A computed column is not captured (the database refuses a value for it and
    computes it again); an ``ALWAYS`` identity is captured and put back with
    ``OVERRIDING SYSTEM VALUE``, so a deleted row comes back with its own id.
    """

    @pytest.fixture(name="items")
    def fixture_items(self, store: sr.Store) -> Iterator[sa.Table]:
        md = sa.MetaData(schema=store.schema)
        pg = store.dialect == "postgresql"
        columns = [
            sa.Column(
                "id", sa.Integer, sa.Identity(always=True) if pg else None, primary_key=True
            ),
            sa.Column("sku", sa.String(20), nullable=False),
            sa.Column("price", sa.Numeric(10, 2), quote=True),  # written "price" by SQL
            sa.Column("cents", sa.Numeric(12, 0), sa.Computed("price * 100", persisted=True)),
        ]
        if not pg:  # PostgreSQL < 18 has stored generated columns only
            columns.append(
                sa.Column("half", sa.Numeric(10, 2), sa.Computed("price / 2", persisted=False))
            )
        table = sa.Table("items", md, *(c for c in columns))
        md.create_all(store.engine)
        with store.engine.begin() as conn:
            conn.execute(
                table.insert(), [{"sku": f"S{i}", "price": Decimal(i)} for i in range(1, 7)]
            )
        yield table
        md.drop_all(store.engine)

    def item_rows(self, store: sr.Store, table: sa.Table) -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]

    @pytest.mark.parametrize("log", [True, False])
    def test_changed_deleted_inserted_restored(
        self, store: sr.Store, items: sa.Table, *, log: bool
    ) -> None:
        """Every kind of change put back; generated values computed again, ids kept."""
        before = self.item_rows(store, items)
        cp, c = table_checkpoint(store.engine, items), ctx(store)
        state = cp.capture(c)
        assert "cents" not in state["columns"]
        assert "half" not in state["columns"]
        if not log:
            cp.finish(state, c)
        with store.engine.begin() as conn:
            conn.execute(items.update().where(items.c.id == 1).values(price=Decimal(99)))
            conn.execute(items.delete().where(items.c.id == 2))
            conn.execute(items.insert().values(sku="new", price=Decimal(7)))
        assert cp.restore(state, c) == "1 changed, 1 inserted, 1 deleted"
        assert self.item_rows(store, items) == before
        assert cp.verify(state, c) == (True, "equal to the checkpoint")

    def test_change_log_used(self, store: sr.Store, items: sa.Table) -> None:
        """The generated columns left out of the snapshot do not make the log look stale.

        A change hidden from the log is not put back: proof that only the log's keys
        were compared.
        """
        cp, c = table_checkpoint(store.engine, items), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(items.update().where(items.c.id.in_([1, 2])).values(price=Decimal(0)))
            log = sa.Table(
                str(state["log"]), sa.MetaData(), schema=store.schema, autoload_with=store.engine
            )
            conn.execute(log.delete().where(log.c.id == 2))  # hide one change
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
        prices = {r[0]: r[2] for r in self.item_rows(store, items)}
        assert (prices[1], prices[2]) == (Decimal(1), Decimal(0))

    @pytest.mark.parametrize("log", [True, False])
    def test_identity_outside_the_key_put_back(
        self, store: sr.Store, items: sa.Table, *, log: bool
    ) -> None:
        """Keyed by sku, a row deleted and inserted again gets its captured id back.

        In place, by an update (the column is GENERATED BY DEFAULT for its statement):
        nothing is deleted, so nothing cascades.
        """
        if store.dialect != "postgresql":
            pytest.skip("ALWAYS identities are PostgreSQL's")
        before = self.item_rows(store, items)
        cp, c = table_checkpoint(store.engine, items, key="sku"), ctx(store)
        state = cp.capture(c)
        if not log:
            cp.finish(state, c)
        with store.engine.begin() as conn:
            conn.execute(items.delete().where(items.c.sku == "S1"))
            conn.execute(items.insert().values(sku="S1", price=Decimal(1)))
            conn.execute(items.update().where(items.c.sku == "S2").values(price=Decimal(0)))
        assert cp.restore(state, c) == "2 changed, 0 inserted, 0 deleted"
        assert self.item_rows(store, items) == before
        assert cp.verify(state, c) == (True, "equal to the checkpoint")
        with store.engine.connect() as conn:  # ALWAYS again after the restore
            kind = conn.execute(
                sa.text(
                    "SELECT attidentity FROM pg_attribute WHERE attname = 'id' AND "
                    "attrelid = to_regclass(:t)"
                ),
                {"t": f'"{store.schema}".items'},
            ).scalar_one()
        assert kind == "a"

    def test_wiped_table_refilled_with_its_ids(self, store: sr.Store, items: sa.Table) -> None:
        """Every row deleted: all come back, with their own ids."""
        before = self.item_rows(store, items)
        cp, c = table_checkpoint(store.engine, items), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(items.delete())
        assert cp.restore(state, c) == "0 changed, 6 inserted, 0 deleted"
        assert self.item_rows(store, items) == before

    def test_generated_key_refused(self, store: sr.Store, items: sa.Table) -> None:
        """A key the database computes cannot identify captured rows: CheckpointError."""
        cp = table_checkpoint(store.engine, items, key=("cents",))
        with pytest.raises(sr.CheckpointError, match="generated by the database"):
            cp.capture(ctx(store))


class TestUserTriggers:
    def test_stamping_trigger_fires_and_verify_reports_it(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """A trigger stamping the row on update fires for the restore too; verify says so."""
        ddl = stamping_trigger(
            store,
            "prices",
            column="price",
            assign="NEW.note := 'stamped'",
            update="UPDATE prices SET note = 'stamped' WHERE sku = NEW.sku AND store = NEW.store",
        )
        with store.engine.begin() as conn:
            for sql in ddl:
                conn.execute(sa.text(sql))
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(prices.update().where(prices.c.sku == "SKU-001").values(price=Decimal(1)))
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
        assert cp.verify(state, c) == (False, "1 differ, 0 missing, 0 extra")
        with store.engine.connect() as conn:
            note = conn.execute(sa.select(prices.c.note).where(prices.c.sku == "SKU-001"))
            assert note.scalar_one() == "stamped"


class TestChangeLog:
    def test_log_catches_insert_update_delete_and_key_change(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """Every written key is logged (old and new key of a key change); restore undoes all."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        assert state["log"] == f"sr_chg_{c.release_id}_1"
        assert log_keys(store, state) == []
        with store.engine.begin() as conn:
            conn.execute(prices.insert(), [row(300)])
            conn.execute(prices.update().where(prices.c.sku == "SKU-001").values(note="x"))
            conn.execute(prices.delete().where(prices.c.sku == "SKU-002"))
            conn.execute(prices.update().where(prices.c.sku == "SKU-003").values(sku="SKU-903"))
        assert log_keys(store, state) == [
            ("SKU-001", "EU"),
            ("SKU-002", "US"),
            ("SKU-003", "EU"),
            ("SKU-300", "US"),
            ("SKU-903", "EU"),
        ]
        assert cp.restore(state, c) == "1 changed, 2 inserted, 2 deleted"
        assert rows_of(store, prices) == before

    def test_restore_compares_only_logged_keys(self, store: sr.Store, prices: sa.Table) -> None:
        """With a complete log, rows whose key is not logged are not even compared."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(
                prices.update().where(prices.c.sku.in_(["SKU-006", "SKU-007"])).values(note="x")
            )
            log = sa.Table(
                str(state["log"]), sa.MetaData(), schema=store.schema, autoload_with=store.engine
            )
            conn.execute(log.delete().where(log.c.sku == "SKU-007"))  # hide one change
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
        notes = {r[0]: r[6] for r in rows_of(store, prices)}
        assert (notes["SKU-006"], notes["SKU-007"]) == ("note 6", "x")

    def test_incomplete_log_falls_back_to_whole_table(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """A trigger gone (writes unlogged since): the whole table is compared."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        [first, *_] = triggers(store)
        on = f' ON "{store.schema}".prices' if store.schema else ""
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'DROP TRIGGER "{first}"{on}'))
        mess_up(store, prices)
        assert cp.restore(state, c) == "2 changed, 2 inserted, 2 deleted"
        assert rows_of(store, prices) == before

    @pytest.mark.postgres
    def test_truncate_falls_back_to_whole_table(
        self, backend: Backend, store: sr.Store, prices: sa.Table
    ) -> None:
        """TRUNCATE (no row triggers) marks the log full: every row is put back."""
        if backend.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE")
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'TRUNCATE "{store.schema}".prices'))
        assert cp.restore(state, c) == "0 changed, 20 inserted, 0 deleted"
        assert rows_of(store, prices) == before

    def test_triggers_and_log_gone_after_finish_and_restore(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """finish() drops triggers and log but keeps the snapshot; restore drops them too."""
        cp = table_checkpoint(store.engine, prices)
        c1, c2 = ctx(store, 1), ctx(store, 2)
        s1, s2 = cp.capture(c1), cp.capture(c2)
        assert len(triggers(store)) == (8 if store.dialect == "postgresql" else 6)
        cp.finish(s1, c1)
        cp.finish(s1, c1)  # twice: nothing left to drop
        assert not has_table(store, str(s1["log"]))
        left = triggers(store)
        assert len(left) == (4 if store.dialect == "postgresql" else 3)
        assert all(c2.release_id in name for name in left)
        mess_up(store, prices)
        assert cp.restore(s2, c2) == "2 changed, 2 inserted, 2 deleted"
        assert triggers(store) == []
        assert not has_table(store, str(s2["log"]))
        assert cp.verify(s1, c1)[0]  # the finished checkpoint's snapshot is still there


class TestSnapshotFile:
    @pytest.fixture(autouse=True)
    def _sqlite_only(self, backend: Backend) -> None:
        """The snapshot file is SQLite's."""
        if backend.name != "sqlite":
            pytest.skip("PostgreSQL keeps the snapshot in a table")

    def test_file_tampered(self, store: sr.Store, prices: sa.Table) -> None:
        """A row added to the snapshot file: SnapshotTamperedError, nothing restored."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        messed = rows_of(store, prices)
        forge(store, state, "INSERT INTO {snap} (sku, store) VALUES ('SKU-X', 'US')")
        with pytest.raises(sr.SnapshotTamperedError, match="bytes differ"):
            cp.restore(state, c)
        assert rows_of(store, prices) == messed
        assert triggers(store) != []  # still logging, for a restore from a backup

    def test_file_missing(self, store: sr.Store, prices: sa.Table) -> None:
        """The snapshot file deleted: SnapshotMissingError, nothing restored."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        messed = rows_of(store, prices)
        snapshot_file(store, state).unlink()
        with pytest.raises(sr.SnapshotMissingError, match="gone"):
            cp.restore(state, c)
        assert rows_of(store, prices) == messed

    def test_file_of_another_release_refused(self, store: sr.Store, prices: sa.Table) -> None:
        """A state restored under another release's id names another file: refused."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        assert str(state["file"]).endswith(f"sr-snap-{c.release_id}_1")
        with pytest.raises(sr.SnapshotTamperedError, match="another release"):
            cp.restore(state, ctx(store))

    def test_file_and_log_keyed_without_rowid(self, store: sr.Store, prices: sa.Table) -> None:
        """Snapshot and log are WITHOUT ROWID tables keyed by the key; rows in key order."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with contextlib.closing(sqlite3.connect(snapshot_file(store, state))) as db:
            (snap_sql,) = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
            keys = db.execute(f'SELECT sku, store FROM "{state["snapshot"]}"').fetchall()  # noqa: S608 - a name the test made
        assert snap_sql.endswith("PRIMARY KEY (sku, store)) WITHOUT ROWID")
        assert keys == sorted(keys)
        with store.engine.connect() as conn:
            log_sql = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": state["log"]}
            ).scalar_one()
        assert log_sql.endswith("PRIMARY KEY (sku, store)) WITHOUT ROWID")
        before = rows_of(store, prices)
        mess_up(store, prices)
        assert cp.restore(state, c) == "2 changed, 2 inserted, 2 deleted"
        assert rows_of(store, prices) == before

    def test_restore_statements_use_the_keys(self, store: sr.Store, prices: sa.Table) -> None:
        """With the log, no statement scans the table or the snapshot; without, one scan."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        path = snapshot_file(store, state)
        log = ChangeLog(prices, ["sku", "store"], c.release_id, c.seq).table
        with _snapfile.attached(store.engine, path, "planning", create=False) as conn:
            snap = cp._plan(state, _snapfile.ALIAS)
            for logged in (log, None):
                diff = Diff(
                    prices, snap, ["sku", "store"], where=None, dialect="sqlite", logged=logged
                )
                for statement in (
                    diff.update_changed(),
                    diff.delete_extra(),
                    diff.insert_missing(),
                ):
                    sql = str(
                        statement.compile(
                            dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                        )
                    )
                    plan = [str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
                    scans = [p for p in plan if p.startswith("SCAN")]
                    assert len(scans) == (0 if logged is not None else 1), plan
                    assert not any("AUTOMATIC" in p or "TEMP B-TREE" in p for p in plan), plan

    def test_null_key_refused(self, store: sr.Store) -> None:
        """SQLite lets a text primary key hold NULL: such a capture is refused, no file left."""
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE loose_pk (k TEXT PRIMARY KEY, v INTEGER)")
            conn.exec_driver_sql("INSERT INTO loose_pk VALUES ('a', 1), (NULL, 2)")
        cp, c = table_checkpoint(store.engine, "loose_pk"), ctx(store)
        with pytest.raises(sr.CheckpointError, match="NULL in the key columns"):
            cp.capture(c)
        assert store.engine.url.database is not None
        assert not list(Path(store.engine.url.database).parent.glob("*sr-snap-*"))


class TestRowHash:
    """PostgreSQL: a keyed hash per snapshot row, checked for the rows a restore applies."""

    @pytest.fixture(autouse=True)
    def _postgres_only(self, backend: Backend) -> None:
        """The per-row hash column is PostgreSQL's (SQLite hashes the snapshot file)."""
        if backend.name != "postgresql":
            pytest.skip("SQLite snapshots are hashed by their file's bytes")

    def change_one(self, store: sr.Store, prices: sa.Table) -> None:
        """The job changes SKU-006 only (a small blast radius: the log is used)."""
        with store.engine.begin() as conn:
            conn.execute(prices.update().where(prices.c.sku == "SKU-006").values(note="x"))

    def test_altered_row_applied_on_log_path_refused(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """A snapshot row the restore would put back, altered: refused, nothing restored."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.change_one(store, prices)
        changed = rows_of(store, prices)
        forge(store, state, "UPDATE {snap} SET note = 'forged' WHERE sku = 'SKU-006'")
        with pytest.raises(sr.SnapshotTamperedError, match="1 of the rows this restore"):
            cp.restore(state, c)
        assert rows_of(store, prices) == changed
        assert len(triggers(store)) == 4  # still logging, for a restore from a backup

    def test_forged_hash_refused(self, store: sr.Store, prices: sa.Table) -> None:
        """An ``sr_h`` changed to match an altered row: the signed sum differs, refused."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.change_one(store, prices)
        forge(store, state, "UPDATE {snap} SET sr_h = sr_h + 1 WHERE sku = 'SKU-011'")
        with pytest.raises(sr.SnapshotTamperedError, match="altered"):
            cp.restore(state, c)

    def test_added_row_refused(self, store: sr.Store, prices: sa.Table) -> None:
        """A row added to the snapshot (with a copied ``sr_h``): the count differs, refused."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.change_one(store, prices)
        forge(
            store,
            state,
            "INSERT INTO {snap} (sku, store, sr_h) "
            "SELECT 'SKU-X', 'US', sr_h FROM {snap} WHERE sku = 'SKU-001'",
        )
        with pytest.raises(sr.SnapshotTamperedError, match="21 rows now, 20 recorded"):
            cp.restore(state, c)

    def test_altered_row_not_applied_is_not_put_back(
        self, store: sr.Store, prices: sa.Table
    ) -> None:
        """An altered row outside the blast radius is never read into the table."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        self.change_one(store, prices)
        forge(store, state, "UPDATE {snap} SET note = 'forged' WHERE sku = 'SKU-003'")
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
        assert rows_of(store, prices) == before

    def test_altered_row_refused_without_log(self, store: sr.Store, prices: sa.Table) -> None:
        """With the whole table compared (no usable log), every snapshot row is checked."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        cp.finish(state, c)  # log gone: the restore compares the whole table
        self.change_one(store, prices)
        forge(store, state, "UPDATE {snap} SET note = 'forged' WHERE sku = 'SKU-003'")
        with pytest.raises(sr.SnapshotTamperedError, match="1 of the rows"):
            cp.restore(state, c)

    @pytest.mark.parametrize(
        ("forgery", "match"),
        [
            ("UPDATE {snap} SET price = 1 WHERE sku = 'SKU-007'", "1 of the rows this restore"),
            ("UPDATE {snap} SET sr_h = sr_h + 1 WHERE sku = 'SKU-011'", "content changed"),
        ],
        ids=["altered-row", "forged-hash"],
    )
    def test_wiped_table_refuses_an_altered_snapshot(
        self, store: sr.Store, prices: sa.Table, forgery: str, match: str
    ) -> None:
        """Refilling an empty table: an altered row or a forged ``sr_h`` is refused, table empty.

        Each row's hash is checked as it is copied; the signed sum catches a forged hash.
        """
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(prices.delete())
        forge(store, state, forgery)
        with pytest.raises(sr.SnapshotTamperedError, match=match):
            cp.restore(state, c)
        assert rows_of(store, prices) == []

    def test_hash_column_is_not_restored(self, store: sr.Store, prices: sa.Table) -> None:
        """``sr_h`` is in the snapshot only: not recorded as a column, not added to the table."""
        before = rows_of(store, prices)
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        assert str(state["hash"]).startswith("hre:")
        assert "sr_h" not in state["columns"]
        with store.engine.begin() as conn:
            conn.execute(prices.delete().where(prices.c.sku == "SKU-006"))
        assert cp.restore(state, c) == "0 changed, 1 inserted, 0 deleted"
        assert rows_of(store, prices) == before
        live = [
            col["name"]
            for col in sa.inspect(store.engine).get_columns("prices", schema=store.schema)
        ]
        assert live == [col.name for col in prices.columns]

    def test_seed_not_in_state(self, store: sr.Store, prices: sa.Table) -> None:
        """The recorded state holds no seed: neither seed's digits appear in it."""
        from safe_release._checkpoints._snapshot import seeds  # noqa: PLC0415 - private

        c = ctx(store)
        state = table_checkpoint(store.engine, prices).capture(c)
        assert not any(str(s) in repr(state) for s in seeds(c))
