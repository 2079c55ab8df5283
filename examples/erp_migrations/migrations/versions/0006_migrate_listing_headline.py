"""Rename listings.title to headline, step 2 (migrate): copy the values."""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "0006"
down_revision = "0005"
sr_phase = "migrate"


def upgrade() -> None:
    sr_op.backfill("listings", {"headline": sa.column("title")}, where="headline IS NULL")


def downgrade() -> None:
    sr_op.undo()  # headlines still equal to what the backfill wrote go back to NULL
