"""sr_op helpers: lossy operations archived on upgrade and restored exactly by undo()."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
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

    def _run(self, command_: Any, target: str) -> None:
        config = self.project.config(self.backend.url, schema=self.backend.schema)
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
            return {c["name"]: (str(c["type"].compile(conn.dialect)), c["nullable"],
                                c["default"]) for c in cols}

    def indexes(self, table: str) -> list[tuple[str, list[str]]]:
        with self.engine.connect() as conn:
            return sorted((i["name"], i["column_names"])
                          for i in sa.inspect(conn).get_indexes(table))

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
    rows = [{
        "id": i, "sku": f"SKU-{i}", "note": None if i % 3 == 0 else f"note {i} \u00e9",
        "price": Decimal(f"{i}.{i % 100:02d}"),
        "placed_at": None if i % 4 == 0 else dt.datetime(2024, 1, 1 + i % 28, 10, i % 60, 7,
                                                          123456, tzinfo=dt.timezone.utc),
        "doc": None if i % 5 == 0 else {"i": i, "tags": ["a", "b"], "x": 1.5},
        "blob": None if i % 2 == 0 else uuid.UUID(int=i).bytes,
    } for i in range(1, count + 1)]
    with erp.engine.begin() as conn:
        conn.execute(tbl.insert(), rows)


class TestDropColumn:
    def test_round_trip_restores_values_type_nullability_and_index(self, erp: Erp) -> None:
        """drop_column then undo(): every value, the type, nullability and the index return."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add("b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()",
                        imports=IMPORTS)
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
            "b1", 'op.drop_index("ix_orders_note", "orders")\nop.drop_column("orders", "note")',
            'op.add_column("orders", sa.Column("note", sa.Text))\n'
            'op.create_index("ix_orders_note", "orders", ["note"])')
        erp.upgrade("a1")
        seed_orders(erp)
        erp.upgrade()
        erp.downgrade("a1")
        assert all(r["note"] is None for r in erp.rows("orders"))

    def test_missing_archive_is_irreversible(self, erp: Erp) -> None:
        """With the archive rows gone, undo() raises naming the revision and the lost column."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add("b1", 'sr_op.drop_column("orders", "note")', "sr_op.undo()",
                        imports=IMPORTS)
        erp.upgrade()
        erp.execute("DELETE FROM sr_migration_archive")
        with pytest.raises(IrreversibleMigrationError, match=r"b1.*drop_column") as info:
            erp.downgrade("a1")
        assert info.value.revision == "b1"

    def test_unknown_column(self, erp: Erp) -> None:
        """An unknown column is a MigrationError naming the columns there are."""
        erp.project.add("a1", ORDERS, "op.drop_table('orders')")
        erp.project.add("b1", 'sr_op.drop_column("orders", "nope")', "sr_op.undo()",
                        imports=IMPORTS)
        with pytest.raises(MigrationError, match="no column 'nope'"):
            erp.upgrade()
