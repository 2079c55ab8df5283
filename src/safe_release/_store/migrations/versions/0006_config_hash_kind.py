"""Config content hashes of RFC 8785 (JCS): a column saying how each hash was taken.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Versions written before this revision keep their hash, taken over the SDK's own
canonical JSON (``hash_kind`` ``'legacy'``: sorted keys, no whitespace, Python's
number formatting, so ``1`` and ``1.0`` hashed differently). New versions are hashed
over their RFC 8785 encoding (``'jcs'``). Both stay verifiable:
`safe_release._json.content_hash_of` takes the kind.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLE = "sr_config_version"


def _schema() -> str | None:
    schema: str | None = context.config.attributes.get("schema")
    return schema


def upgrade() -> None:
    """Add ``hash_kind`` (``'legacy'`` for the versions already stored)."""
    with op.batch_alter_table(_TABLE, schema=_schema()) as batch:
        batch.add_column(
            sa.Column("hash_kind", sa.String(16), nullable=False, server_default="legacy")
        )


def downgrade() -> None:
    """Drop ``hash_kind`` (an older SDK reads every hash as its own kind)."""
    with op.batch_alter_table(_TABLE, schema=_schema()) as batch:
        batch.drop_column("hash_kind")
