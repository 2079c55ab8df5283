"""Releases: their records and lock, checkpoints, and the side-effect ledger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = 40


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def _serial() -> sa.BigInteger:
    return sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create the release, lock, event, checkpoint and ledger tables."""
    schema = _schema()
    op.create_table(
        "sr_release",
        sa.Column("id", sa.String(_ID), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("verification", sa.String(16), nullable=True),
        sa.Column("on_failure", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("detected_at", _TS, nullable=True),
        sa.Column("rollback_started_at", _TS, nullable=True),
        sa.Column("restored_at", _TS, nullable=True),
        sa.Column("verified_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("report", sa.Text, nullable=True),
        schema=schema,
    )
    op.create_index(
        "ix_sr_release_scope_started", "sr_release", ["scope", "started_at"], schema=schema
    )
    op.create_index("ix_sr_release_status", "sr_release", ["status"], schema=schema)
    op.create_table(
        "sr_release_lock",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("release_id", sa.String(_ID), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        schema=schema,
    )
    op.create_table(
        "sr_release_event",
        sa.Column("id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(_ID), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", _TS, nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_sr_release_event_release_id", "sr_release_event", ["release_id", "id"], schema=schema
    )
    _checkpoint_tables(schema)


def _checkpoint_tables(schema: str | None) -> None:
    op.create_table(
        "sr_checkpoint",
        sa.Column("release_id", sa.String(_ID), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_sr_checkpoint_scope_status", "sr_checkpoint", ["scope", "status"], schema=schema
    )
    op.create_table(
        "sr_ledger",
        sa.Column("id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(_ID), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("adapter", sa.String(400), nullable=False),
        sa.Column("operation", sa.String(200), nullable=False),
        sa.Column("side_effect", sa.String(16), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("idem_key", sa.String(64), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("inverse", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("comp_state", sa.String(16), nullable=True),
        sa.Column("comp_detail", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        schema=schema,
    )
    op.create_index(
        "ix_sr_ledger_target", "sr_ledger", ["scope", "adapter", "target", "id"], schema=schema
    )
    op.create_index("ix_sr_ledger_release", "sr_ledger", ["release_id", "id"], schema=schema)


def downgrade() -> None:
    """Drop the release tables (snapshot tables in the ERP's database are left)."""
    schema = _schema()
    for table in (
        "sr_ledger",
        "sr_checkpoint",
        "sr_release_event",
        "sr_release_lock",
        "sr_release",
    ):
        op.drop_table(table, schema=schema)
