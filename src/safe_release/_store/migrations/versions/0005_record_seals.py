"""Record seals: a MAC column on every row that decides what a rollback does.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Rows written before this revision have no seal (``mac`` is NULL). They are
refused when a rollback would act on them, until ``safe-release releases
resign ID`` seals them again after a person has checked them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("sr_release", "sr_checkpoint", "sr_ledger")
_MAC_LENGTH = 80


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Add the nullable ``mac`` column to the release, checkpoint and ledger tables."""
    schema = _schema()
    for table in _TABLES:
        with op.batch_alter_table(table, schema=schema) as batch:
            batch.add_column(sa.Column("mac", sa.String(_MAC_LENGTH), nullable=True))


def downgrade() -> None:
    """Drop the ``mac`` columns (the seals are lost; rows become unsigned)."""
    schema = _schema()
    for table in _TABLES:
        with op.batch_alter_table(table, schema=schema) as batch:
            batch.drop_column("mac")
