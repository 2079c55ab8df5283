"""sr_op and schema objects: PostgreSQL ENUM types, foreign keys through SQLite batch mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from tests.test_migration_ops import IMPORTS, Erp, fixture_erp  # noqa: F401 - the fixture

if TYPE_CHECKING:
    from typing import Any

STATUS = """
op.create_table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.Enum("new", "paid", "legacy", name="order_status"),
              nullable=False, server_default="new"),
)
op.execute("INSERT INTO orders (id, status) VALUES (1, 'new'), (2, 'legacy'), (3, 'paid'), "
           "(4, 'legacy')")
"""
STATUS_DOWN = "op.drop_table('orders')\nsa.Enum(name='order_status').drop(op.get_bind())"


def enums(erp: Erp) -> dict[str, list[str]]:
    """ENUM types in the test's schema (empty on SQLite)."""
    if erp.engine.dialect.name != "postgresql":
        return {}
    with erp.engine.connect() as conn:
        insp: Any = sa.inspect(conn)
        return {e["name"]: e["labels"] for e in insp.get_enums()}


def foreign_keys(erp: Erp, table: str) -> list[tuple[Any, ...]]:
    with erp.engine.connect() as conn:
        return sorted(
            (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
            for fk in sa.inspect(conn).get_foreign_keys(table)
        )


class TestEnums:
    def test_remove_enum_value_round_trip(self, erp: Erp) -> None:
        """The label goes (rows rewritten); undo re-creates it and puts the rows back."""
        erp.project.add("a1", STATUS, STATUS_DOWN)
        erp.project.add(
            "b1",
            'sr_op.remove_enum_value("orders", "status", "legacy", replace_with="new")',
            "sr_op.undo()",
            imports=IMPORTS,
        )
        erp.upgrade("a1")
        before = (erp.rows("orders"), erp.columns("orders"), enums(erp))
        erp.upgrade()
        assert [r["status"] for r in erp.rows("orders")] == ["new", "new", "paid", "new"]
        if erp.engine.dialect.name == "postgresql":
            assert enums(erp) == {"order_status": ["new", "paid"]}
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.columns("orders"), enums(erp)) == before

    def test_created_enum_types_are_dropped_by_undo(self, erp: Erp) -> None:
        """ENUM types created with a table or a column are dropped on downgrade."""
        erp.project.add("a1", STATUS, STATUS_DOWN)
        erp.project.add(
            "b1",
            """
sr_op.create_table("listings", sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("state", sa.Enum("draft", "live", name="listing_state")))
sr_op.add_column("orders", sa.Column("channel", sa.Enum("web", "amazon", name="channel")))
""",
            "sr_op.undo()",
            imports=IMPORTS,
        )
        erp.upgrade("a1")
        before = (erp.columns("orders"), enums(erp))
        erp.upgrade()
        if erp.engine.dialect.name == "postgresql":
            assert set(enums(erp)) == {"order_status", "listing_state", "channel"}
        erp.downgrade("a1")
        assert (erp.columns("orders"), enums(erp)) == before
        assert not erp.has_table("listings")


FK_BASE = """
op.create_table("customers", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(40)))
op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id")),
                sa.Column("note", sa.Text))
op.execute("INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob')")
op.execute("INSERT INTO orders VALUES (1, 1, 'a'), (2, 2, NULL), (3, NULL, 'c')")
"""


class TestForeignKeys:
    def test_foreign_keys_survive_batch_recreation(self, erp: Erp) -> None:
        """Dropping and restoring other columns keeps both tables' foreign keys."""
        erp.project.add("a1", FK_BASE, "op.drop_table('orders')\nop.drop_table('customers')")
        erp.project.add(
            "b1",
            'sr_op.drop_column("orders", "note")\nsr_op.drop_column("customers", "name")',
            "sr_op.undo()",
            imports=IMPORTS,
        )
        erp.upgrade("a1")
        before = (erp.rows("orders"), erp.rows("customers"), foreign_keys(erp, "orders"))
        erp.upgrade()
        assert foreign_keys(erp, "orders") == before[2]
        erp.downgrade("a1")
        assert (erp.rows("orders"), erp.rows("customers"), foreign_keys(erp, "orders")) == before

    def test_dropped_foreign_key_column_comes_back_with_its_constraint(self, erp: Erp) -> None:
        """drop_column of a foreign-key column: undo restores values and the constraint."""
        erp.project.add("a1", FK_BASE, "op.drop_table('orders')\nop.drop_table('customers')")
        erp.project.add(
            "b1", 'sr_op.drop_column("orders", "customer_id")', "sr_op.undo()", imports=IMPORTS
        )
        erp.upgrade("a1")
        before = (erp.rows("orders"), foreign_keys(erp, "orders"))
        erp.upgrade()
        assert foreign_keys(erp, "orders") == []
        erp.downgrade("a1")
        assert (erp.rows("orders"), foreign_keys(erp, "orders")) == before
