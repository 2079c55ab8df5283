"""Orders, prices and marketplace listings."""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "0001"
down_revision = None


def upgrade() -> None:
    sr_op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "status",
            sa.Enum("new", "paid", "cancelled", "legacy", name="order_status"),
            nullable=False,
            server_default="new",
        ),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text),
    )
    sr_op.create_table(
        "prices",
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.String(3)),
    )
    sr_op.create_table(
        "listings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200)),
    )


def downgrade() -> None:
    sr_op.undo()  # drops the tables and the order_status ENUM type (PostgreSQL)
