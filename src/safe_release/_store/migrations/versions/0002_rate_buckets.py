"""Rate limiter: one token bucket per quota key, shared by processes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Create the rate-bucket table (times are wall-clock seconds since the epoch)."""
    op.create_table(
        "sr_rate_bucket",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("tat", sa.Double, nullable=False),
        sa.Column("rate", sa.Double, nullable=False),
        sa.Column("ceiling", sa.Double, nullable=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("paused_until", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        schema=_schema(),
    )


def downgrade() -> None:
    """Drop the rate buckets (limiters start from their ``initial`` level again)."""
    op.drop_table("sr_rate_bucket", schema=_schema())
