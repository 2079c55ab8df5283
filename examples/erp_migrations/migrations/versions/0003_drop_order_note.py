"""The free-text order note moved to the CRM: drop it (archived for downgrade)."""

from safe_release.migrations import ops as sr_op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    sr_op.drop_column("orders", "note")


def downgrade() -> None:
    sr_op.undo()  # the column and every note come back
