"""Orders with a status ENUM (a PostgreSQL type of its own)."""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "a1"
down_revision = None


def upgrade() -> None:
    sr_op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.Enum("new", "paid", "legacy", name="order_status"), nullable=False),
    )


def downgrade() -> None:
    sr_op.undo()  # drops the table and the order_status type
