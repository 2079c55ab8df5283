"""Branch c: refunds, referencing orders."""

import sqlalchemy as sa
from alembic import op

revision = "c1"
down_revision = "a1"
branch_labels = ("refunds",)


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refunds")
