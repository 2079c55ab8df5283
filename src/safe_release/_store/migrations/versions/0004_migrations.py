"""Migrations: recorded application schemas and the revisions the checker verified.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Create the app-schema and verified-revision tables."""
    schema = _schema()
    op.create_table(
        "sr_app_schema",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(200), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.Column("metadata_sha256", sa.String(64), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=True),
        schema=schema,
    )
    op.create_table(
        "sr_migration_verified",
        sa.Column("revision", sa.String(200), primary_key=True),
        sa.Column("dialect", sa.String(32), primary_key=True),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("verified_at", _TS, nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    """Drop them (recorded schemas and verifications are lost)."""
    schema = _schema()
    op.drop_table("sr_migration_verified", schema=schema)
    op.drop_table("sr_app_schema", schema=schema)
