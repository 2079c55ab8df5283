"""Table checkpoints: server-side snapshots, set-based restore, exact round trips."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, table_checkpoint

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(name="prices")
def fixture_prices(store: sr.Store) -> Iterator[sa.Table]:
    """An ERP prices table (composite key, every awkward type) in the store's database."""
    md = sa.MetaData(schema=store.schema)
    table = sa.Table(
        "prices", md,
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
        "sku": f"SKU-{i:03d}", "store": store or ("US" if i % 2 == 0 else "EU"),
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
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.sku,
                                                                         table.c.store))]


def mess_up(store: sr.Store, table: sa.Table) -> None:
    """Change, delete and insert rows the way a buggy job would."""
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.sku == "SKU-002").values(
            price=Decimal("0.0001"), attrs={"color": "blue"}, blob=b"x", note=None))
        conn.execute(table.update().where(table.c.sku == "SKU-001").values(
            price=Decimal(1), note="set"))
        conn.execute(table.delete().where(table.c.sku.in_(["SKU-004", "SKU-005"])))
        conn.execute(table.insert(), [row(100), row(101)])


class TestCaptureRestore:
    def test_restore_puts_every_value_back_exactly(
            self, store: sr.Store, prices: sa.Table) -> None:
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

    def test_snapshot_table_named_after_release(self, store: sr.Store, prices: sa.Table) -> None:
        """The snapshot lives beside the table as sr_snap_<release>_<seq>; discard drops it."""
        c = ctx(store, seq=7)
        cp = table_checkpoint(store.engine, prices)
        state = cp.capture(c)
        assert state["snapshot"] == f"sr_snap_{c.release_id}_7"
        insp = sa.inspect(store.engine)
        assert insp.has_table(str(state["snapshot"]), schema=store.schema)
        cp.discard(state, c)
        assert not sa.inspect(store.engine).has_table(str(state["snapshot"]),
                                                      schema=store.schema)


class TestRefusals:
    def test_tampered_snapshot(self, store: sr.Store, prices: sa.Table) -> None:
        """An altered snapshot raises SnapshotTamperedError and restores nothing."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        mess_up(store, prices)
        messed = rows_of(store, prices)
        snap = sa.Table(str(state["snapshot"]), sa.MetaData(), schema=store.schema,
                        autoload_with=store.engine)
        with store.engine.begin() as conn:
            conn.execute(snap.update().where(snap.c.sku == "SKU-003").values(note="forged"))
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
    def test_restore_touches_only_differing_rows(
            self, store: sr.Store, prices: sa.Table) -> None:
        """Unchanged rows are not rewritten (an update trigger would see only the changed)."""
        cp, c = table_checkpoint(store.engine, prices), ctx(store)
        state = cp.capture(c)
        with store.engine.begin() as conn:
            conn.execute(prices.update().where(prices.c.sku == "SKU-006").values(note="x"))
        assert cp.restore(state, c) == "1 changed, 0 inserted, 0 deleted"
