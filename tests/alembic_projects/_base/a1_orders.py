"""Orders with a free-text note."""

import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("note", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("orders")
