"""Daily budgets: one call-count window per budget key, shared by processes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Create the daily-budget table (times are wall-clock seconds since the epoch).

    ``server_limit`` is the limit the marketplace reported, NULL until one did.
    """
    op.create_table(
        "sr_quota_window",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("used", sa.BigInteger, nullable=False),
        sa.Column("reset_at", sa.Double, nullable=False),
        sa.Column("server_limit", sa.BigInteger, nullable=True),
        sa.Column("updated_at", sa.Double, nullable=False),
        schema=_schema(),
    )


def downgrade() -> None:
    """Drop the daily budgets (limiters count from zero again)."""
    op.drop_table("sr_quota_window", schema=_schema())
