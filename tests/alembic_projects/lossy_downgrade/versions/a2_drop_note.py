"""Drop orders.note the way autogenerate writes it: the downgrade re-adds it EMPTY."""

import sqlalchemy as sa
from alembic import op

revision = "a2"
down_revision = "a1"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("note")


def downgrade() -> None:
    op.add_column("orders", sa.Column("note", sa.Text))
