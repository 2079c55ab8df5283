"""Step 3 (contract): drop title once the app version reading it is retired."""

from safe_release.migrations import ops as sr_op

revision = "a4"
down_revision = "a3"
sr_phase = "contract"
sr_retires = ("erp-web", "2.0")


def upgrade() -> None:
    sr_op.contract()
    sr_op.drop_column("listings", "title")


def downgrade() -> None:
    sr_op.undo()
