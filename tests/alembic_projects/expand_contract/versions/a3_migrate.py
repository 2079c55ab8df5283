"""Step 2 (migrate): copy title into headline; the downgrade puts back only those rows."""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "a3"
down_revision = "a2"
sr_phase = "migrate"


def upgrade() -> None:
    sr_op.backfill("listings", {"headline": sa.column("title")})


def downgrade() -> None:
    sr_op.undo()
