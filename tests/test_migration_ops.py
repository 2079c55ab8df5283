"""sr_op helpers: lossy operations archived on upgrade and restored exactly by undo()."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command

from safe_release.exceptions import IrreversibleMigrationError, MigrationError
from tests.alembic_util import AlembicProject

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from alembic.config import Config

    from tests.conftest import Backend

IMPORTS = "from safe_release.migrations import ops as sr_op"
ORDERS = """
op.create_table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(20), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("price", sa.Numeric(10, 2), nullable=False, server_default="0"),
    sa.Column("placed_at", sa.DateTime(timezone=True)),
    sa.Column("doc", sa.JSON),
    sa.Column("blob", sa.LargeBinary),
)
op.create_index("ix_orders_note", "orders", ["note"])
"""


@dataclass
class Erp:
    """An Alembic project and the database it migrates."""

    project: AlembicProject
    backend: Backend
    engine: sa.Engine

    attributes: dict[str, Any] = field(default_factory=dict)

    def config(self) -> Config:
        return self.project.config(self.backend.url, schema=self.backend.schema)

    def _run(self, command_: Any, target: str) -> None:
        config = self.config()
        config.attributes.update(self.attributes)
        with self.engine.connect() as conn:
            config.attributes["connection"] = conn
            command_(config, target)
            conn.commit()

    def upgrade(self, target: str = "head") -> None:
        self._run(command.upgrade, target)

    def downgrade(self, target: str) -> None:
        self._run(command.downgrade, target)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row as stored (raw driver values), by primary key order."""
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY 1')  # noqa: S608
            return [dict(r._mapping) for r in result]

    def columns(self, table: str) -> dict[str, tuple[str, bool, Any]]:
        """name -> (type, nullable, server default)."""
        with self.engine.connect() as conn:
            cols = sa.inspect(conn).get_columns(table)
            return {
                c["name"]: (str(c["type"].compile(conn.dialect)), c["nullable"], c["default"])
                for c in cols
            }

    def indexes(self, table: str) -> list[tuple[str, list[str]]]:
        with self.engine.connect() as conn:
            return sorted(
                (i["name"], i["column_names"]) for i in sa.inspect(conn).get_indexes(table)
            )

    def has_table(self, table: str) -> bool:
        with self.engine.connect() as conn:
            return sa.inspect(conn).has_table(table)

    def execute(self, sql: str, params: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params or {})


@pytest.fixture(name="erp")
def fixture_erp(backend: Backend, tmp_path: Path) -> Iterator[Erp]:
    """An empty Alembic project on the backend under test (PostgreSQL: own schema)."""
    args: dict[str, Any] = {}
    if backend.schema is not None:
        args["connect_args"] = {"options": f"-csearch_path={backend.schema}"}
    engine = sa.create_engine(backend.url, **args)
    if backend.schema is not None:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{backend.schema}"'))
    yield Erp(AlembicProject(tmp_path / "proj"), backend, engine)
    engine.dispose()


def seed_orders(erp: Erp, count: int = 30) -> None:
    """Orders with every kind of value, NULLs included."""
    tbl = sa.Table("orders", sa.MetaData(), autoload_with=erp.engine)
    rows = [
        {
            "id": i,
            "sku": f"SKU-{i}",
            "note": None if i % 3 == 0 else f"note {i} \u00e9",
            "price": Decimal(f"{i}.{i % 100:02d}"),
            "placed_at": None
            if i % 4 == 0
            else dt.datetime(2024, 1, 1 + i % 28, 10, i % 60, 7, 123456, tzinfo=dt.timezone.utc),
            "doc": None if i % 5 == 0 else {"i": i, "tags": ["a", "b"], "x": 1.5},
            "blob": None if i % 2 == 0 else uuid.UUID(int=i).bytes,
        }
        for i in range(1, count + 1)
    ]
    with erp.engine.begin() as conn:
        conn.execute(tbl.insert(), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))


class TestDropColumn:
    def test_round_trip_restores_values_type_nullability_and_index(self, erp: Erp) -> None:
        """drop_column then undo(): every value, the type, nullability and the index return."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()", imports=IMPORTS
        )
        erp.upgrade("a1")
        seed_orders(erp)
        before = (erp.rows("orders"), erp.columns("orders"), erp.indexes("orders"))
        erp.upgrade()
        assert "note" not in erp.columns("orders")
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.columns("orders"), erp.indexes("orders")) == before

    def test_plain_drop_column_loses_the_data(self, erp: Erp) -> None:
        """The same revision with plain op.drop_column brings back an empty column."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1",
            'op.drop_index("ix_orders_note", "orders")\nop.drop_column("orders", "note")',
            'op.add_column("orders", sa.Column("note", sa.Text))\n'
            'op.create_index("ix_orders_note", "orders", ["note"])',
        )
        erp.upgrade("a1")
        seed_orders(erp)
        erp.upgrade()
        erp.downgrade("a1")
        assert all(r["note"] is None for r in erp.rows("orders"))

    def test_missing_archive_is_irreversible(self, erp: Erp) -> None:
        """With the archive rows gone, undo() raises naming the revision and the lost column."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()", imports=IMPORTS
        )
        erp.upgrade()
        erp.execute("DELETE FROM sr_migration_archive")
        with pytest.raises(IrreversibleMigrationError, match=r"b1.*drop_column") as info:
            erp.downgrade("a1")
        assert info.value.revision == "b1"

    def test_unknown_column(self, erp: Erp) -> None:
        """An unknown column is a MigrationError naming the columns there are."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "nope")', "sr_op.undo()", imports=IMPORTS
        )
        with pytest.raises(MigrationError, match="no column 'nope'"):
            erp.upgrade()


def two_step(erp: Erp, upgrade: str, *, base: str = ORDERS, seed: bool = True) -> None:
    """a1 creates the base schema (seeded), b1 runs ``upgrade`` with undo() as downgrade."""
    erp.project.add("a1", base, "op.drop_table('orders')")
    erp.project.add("b1", upgrade, "sr_op.undo()", imports=IMPORTS)
    erp.upgrade("a1")
    if seed:
        seed_orders(erp)


class TestDropTable:
    def test_round_trip_restores_definition_and_rows(self, erp: Erp) -> None:
        """drop_table then undo(): columns, index, key and every row come back."""
        two_step(erp, 'sr_op.drop_table("orders")')
        before = (erp.rows("orders"), erp.columns("orders"), erp.indexes("orders"))
        erp.upgrade()
        assert not erp.has_table("orders")
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.columns("orders"), erp.indexes("orders")) == before

    def test_restored_key_still_generates_new_ids(self, erp: Erp) -> None:
        """After the restore a row inserted without id gets the next one."""
        two_step(erp, 'sr_op.drop_table("orders")', seed=False)
        seed_orders(erp, 5)
        erp.upgrade()
        erp.downgrade("a1")
        erp.execute("INSERT INTO orders (sku, price) VALUES ('new', 1)")
        assert erp.rows("orders")[-1]["id"] == 6

    def test_upgrade_again_after_undo(self, erp: Erp) -> None:
        """Up, down, up, down: the second cycle restores the same rows."""
        two_step(erp, 'sr_op.drop_table("orders")')
        before = erp.rows("orders")
        for _ in range(2):
            erp.upgrade()
            erp.downgrade("a1")
        assert erp.rows("orders") == before


class TestAlterColumnType:
    def test_narrowing_round_trip(self, erp: Erp) -> None:
        """Numeric(10,2) -> Integer rounds values; undo brings back type and exact values."""
        two_step(
            erp,
            'sr_op.alter_column_type("orders", "price", sa.Integer(), '
            'using="round(price)::integer")',
        )
        before = (erp.rows("orders"), erp.columns("orders"))
        erp.upgrade()
        assert erp.columns("orders")["price"][0] == "INTEGER"
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.columns("orders")) == before


class TestSetNotNull:
    def test_round_trip_puts_nulls_back(self, erp: Erp) -> None:
        """set_not_null fills NULLs and tightens; undo relaxes and restores the NULLs."""
        two_step(
            erp, 'sr_op.set_not_null("orders", "placed_at", fill=sa.text("CURRENT_TIMESTAMP"))'
        )
        before = (erp.rows("orders"), erp.columns("orders"))
        erp.upgrade()
        assert erp.columns("orders")["placed_at"][1] is False
        assert all(r["placed_at"] is not None for r in erp.rows("orders"))
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.columns("orders")) == before


class TestBackfill:
    def test_undo_restores_only_rows_still_holding_the_backfilled_value(self, erp: Erp) -> None:
        """A row edited after the backfill keeps the edit; the others get old values back."""
        two_step(erp, 'sr_op.backfill("orders", {"note": "filled"}, where="id <= 10")')
        before = erp.rows("orders")
        erp.upgrade()
        erp.execute("UPDATE orders SET note = 'edited later' WHERE id = 2")
        erp.downgrade("a1")
        after = erp.rows("orders")
        assert after[1]["note"] == "edited later"
        assert after[:1] + after[2:] == before[:1] + before[2:]

    def test_insert_rows_undo_deletes_only_those_rows(self, erp: Erp) -> None:
        """Rows added by insert_rows go away on downgrade; rows added by others stay."""
        two_step(
            erp,
            'sr_op.insert_rows("orders", [{"sku": "A", "price": 1}, {"sku": "B", "price": 2}])',
        )
        erp.upgrade()
        erp.execute("INSERT INTO orders (id, sku, price) VALUES (100, 'other', 3)")
        erp.downgrade("a1")
        assert [r["sku"] for r in erp.rows("orders")][-2:] == ["SKU-30", "other"]


class TestRename:
    def test_rename_column_and_table_round_trip(self, erp: Erp) -> None:
        """Renames are undone in reverse order; data and index stay."""
        two_step(
            erp,
            'sr_op.rename_column("orders", "note", "remark")\n'
            'sr_op.rename_table("orders", "sales_orders")',
        )
        before = erp.rows("orders")
        erp.upgrade()
        assert "remark" in erp.columns("sales_orders")
        erp.downgrade("a1")
        assert erp.rows("orders") == before


class TestCreated:
    def test_create_table_and_add_column_are_dropped_by_undo(self, erp: Erp) -> None:
        """Tables and columns the revision created are gone after undo()."""
        two_step(
            erp,
            'sr_op.create_table("listings", sa.Column("id", sa.Integer, '
            "primary_key=True))\n"
            'sr_op.add_column("orders", sa.Column("channel", sa.String(10)))',
        )
        before = erp.columns("orders")
        erp.upgrade()
        assert erp.has_table("listings")
        erp.downgrade("a1")
        assert not erp.has_table("listings")
        assert erp.columns("orders") == before


class TestKeys:
    def test_table_without_primary_key_needs_key(self, erp: Erp) -> None:
        """No primary key: refused, naming key=; with key= the round trip works."""
        base = (
            'op.create_table("orders", sa.Column("sku", sa.String(10), nullable=False), '
            'sa.Column("note", sa.Text))\n'
            "op.execute(\"INSERT INTO orders VALUES ('a', 'x'), ('b', NULL)\")"
        )
        erp.project.add("a1", base, "op.drop_table('orders')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()", imports=IMPORTS
        )
        erp.upgrade("a1")
        with pytest.raises(MigrationError, match="pass key="):
            erp.upgrade()
        erp.project.add(
            "b2",
            'sr_op.drop_column("orders", "note", key=["sku"])',
            "sr_op.undo()",
            imports=IMPORTS,
            down="a1",
        )
        (erp.project.versions / "b1.py").unlink()
        erp.upgrade()
        erp.downgrade("a1")
        assert [r["note"] for r in erp.rows("orders")] == ["x", None]

    def test_revision_cannot_be_determined(self, erp: Erp) -> None:
        """A helper called where no revision global exists asks for revision=."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1",
            'sr_op.drop_column("orders", "note")',
            "sr_op.undo()",
            imports=IMPORTS,
            extra="revision_id = revision\ndel revision",
        )
        with pytest.raises(MigrationError, match="revision="):
            erp.upgrade()


class TestIdempotentUndo:
    def test_undo_over_a_half_restored_column(self, erp: Erp) -> None:
        """A column already re-added (with wrong values) by an earlier attempt is refilled."""
        two_step(erp, 'sr_op.drop_column("orders", "note")')
        before = erp.rows("orders")
        erp.upgrade()
        erp.execute("ALTER TABLE orders ADD COLUMN note TEXT")
        erp.execute("UPDATE orders SET note = 'half-done'")
        erp.downgrade("a1")
        assert erp.rows("orders") == before

    def test_undo_over_a_half_refilled_table(self, erp: Erp) -> None:
        """A table re-created with some rows by an earlier attempt ends with each row once."""
        two_step(erp, 'sr_op.drop_table("orders")')
        before = erp.rows("orders")
        erp.upgrade()
        pg = erp.engine.dialect.name == "postgresql"
        erp.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL, note TEXT, "
            "price NUMERIC(10, 2) NOT NULL DEFAULT '0', placed_at "
            + (
                "TIMESTAMP WITH TIME ZONE, doc JSON, blob BYTEA)"
                if pg
                else "DATETIME, doc JSON, blob BLOB)"
            )
        )
        erp.execute("INSERT INTO orders (id, sku, price) VALUES (1, 'x', 1)")
        erp.downgrade("a1")
        assert erp.rows("orders") == before


class TestOffline:
    def test_sql_mode_emits_the_plain_operations(
        self, erp: Erp, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--sql output holds the DDL; undo() leaves a comment instead of guessing."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()", imports=IMPORTS
        )
        config = erp.config()
        command.upgrade(config, "head", sql=True)
        command.downgrade(config, "b1:a1", sql=True)
        out = capsys.readouterr().out
        assert "DROP COLUMN note" in out or "_alembic_tmp_orders" in out
        assert "sr_op.undo() restores revision b1" in out


class TestCodec:
    def test_every_supported_value_round_trips_with_its_type(self) -> None:
        """Decimals keep their scale, timestamps their offset, bytes and UUIDs their type."""
        from safe_release.migrations._ops_codec import dumps_rows, loads_rows  # noqa: PLC0415

        row = [
            None,
            True,
            1,
            1.5,
            "x",
            Decimal("1.10"),
            dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            dt.date(2024, 1, 2),
            dt.time(1, 2, 3, 4),
            dt.timedelta(days=1, seconds=3),
            b"\x00\xff",
            uuid.UUID(int=7),
            {"a": [1, "b"]},
            [1, 2],
        ]
        back = loads_rows(dumps_rows([row]))[0]
        assert back == row
        assert [type(v) for v in back] == [type(v) for v in row]
        assert str(back[5]) == "1.10"

    def test_unsupported_value_is_a_migration_error(self) -> None:
        """A JSON document holding a non-JSON value is refused with what to do."""
        from safe_release.migrations._ops_codec import dumps_rows  # noqa: PLC0415

        with pytest.raises(MigrationError, match="hand-written downgrade"):
            dumps_rows([[[Decimal(1)]]])


EMP = (
    'op.create_table("emp", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("email", sa.String(80), unique=True))'
)


class TestUniqueColumns:
    def test_dropping_a_uniquely_constrained_column_round_trips_or_is_refused(
        self,
        erp: Erp,
    ) -> None:
        """A UNIQUE column: round-trips on PostgreSQL, refused up front on SQLite.

        PostgreSQL names the constraint itself; SQLite leaves it unnamed, and undo
        could not re-create it, so the upgrade refuses before anything is dropped.
        """
        erp.project.add("a1", EMP, "op.drop_table('emp')")
        erp.project.add("b1", 'sr_op.drop_column("emp", "email")', "sr_op.undo()", imports=IMPORTS)
        erp.upgrade("a1")
        erp.execute("INSERT INTO emp (id, email) VALUES (1, 'a@x'), (2, 'b@x')")
        before = (erp.rows("emp"), erp.columns("emp"))
        if erp.backend.name == "sqlite":
            with pytest.raises(MigrationError, match="unnamed UNIQUE"):
                erp.upgrade()
            assert (erp.rows("emp"), erp.columns("emp")) == before
            return
        erp.upgrade()
        erp.downgrade("a1")
        assert (erp.rows("emp"), erp.columns("emp")) == before
        erp.execute("INSERT INTO emp (id, email) VALUES (3, 'c@x')")
        with pytest.raises(sa.exc.IntegrityError):
            erp.execute("INSERT INTO emp (id, email) VALUES (4, 'c@x')")
