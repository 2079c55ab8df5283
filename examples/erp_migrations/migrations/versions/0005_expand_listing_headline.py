"""Rename listings.title to headline, step 1 (expand): add the new column.

Old (title) and new (headline) application versions both run against this schema.
"""

import sqlalchemy as sa

from safe_release.migrations import ops as sr_op

revision = "0005"
down_revision = "0004"
sr_phase = "expand"


def upgrade() -> None:
    sr_op.add_column("listings", sa.Column("headline", sa.String(200)))


def downgrade() -> None:
    sr_op.undo()
