"""Refresh locks: one row per token key, so one process at a time spends a refresh token.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Create the refresh-lock table (times are wall-clock seconds since the epoch).

    ``holder`` is NULL while nobody refreshes; ``fingerprint`` is the SHA-256 of
    the refresh token a refresh in flight is spending (never the token itself),
    NULL when no refresh is in flight.
    """
    op.create_table(
        "sr_refresh_lock",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("marker_at", sa.Double, nullable=True),
        schema=_schema(),
    )


def downgrade() -> None:
    """Drop the refresh locks (an in-flight marker is forgotten)."""
    op.drop_table("sr_refresh_lock", schema=_schema())
