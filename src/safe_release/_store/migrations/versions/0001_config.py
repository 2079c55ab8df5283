"""Versioned config: configs, their versions and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Create the config tables."""
    schema = _schema()
    op.create_table(
        "sr_config",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("head", sa.Integer, nullable=False),
        sa.Column("latest", sa.Integer, nullable=False),
        sa.Column("last_good", sa.Integer, nullable=True),
        sa.Column("candidate", sa.Integer, nullable=True),
        sa.Column("rollout_bp", sa.Integer, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        schema=schema,
    )
    op.create_table(
        "sr_config_version",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("parent", sa.Integer, nullable=True),
        sa.Column("rolled_back_from", sa.Integer, nullable=True),
        sa.Column("restores", sa.Integer, nullable=True),
        schema=schema,
    )
    op.create_table(
        "sr_config_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", _TS, nullable=False),
        schema=schema,
    )
    op.create_index("ix_sr_config_event_name_id", "sr_config_event", ["name", "id"], schema=schema)


def downgrade() -> None:
    """Drop the config tables (and every stored version with them)."""
    schema = _schema()
    op.drop_index("ix_sr_config_event_name_id", "sr_config_event", schema=schema)
    op.drop_table("sr_config_event", schema=schema)
    op.drop_table("sr_config_version", schema=schema)
    op.drop_table("sr_config", schema=schema)
