"""Listings with a title."""

import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("listings")
