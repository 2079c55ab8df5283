"""Branch b: a carrier per order."""

import sqlalchemy as sa
from alembic import op

revision = "b1"
down_revision = "a1"
branch_labels = ("shipping",)


def upgrade() -> None:
    op.add_column("orders", sa.Column("carrier", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("carrier")
