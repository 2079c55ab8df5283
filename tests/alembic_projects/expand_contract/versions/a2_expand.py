"""Rename title to headline, step 1 (expand): the new column, alongside the old."""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "a2"
down_revision = "a1"
sr_phase = "expand"


def upgrade() -> None:
    sr_op.add_column("listings", sa.Column("headline", sa.String(200)))


def downgrade() -> None:
    sr_op.undo()
