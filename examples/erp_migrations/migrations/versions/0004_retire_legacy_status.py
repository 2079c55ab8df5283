"""The 'legacy' order status is gone: those orders count as cancelled."""

from safe_release.migrations import ops as sr_op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    sr_op.remove_enum_value("orders", "status", "legacy", replace_with="cancelled")


def downgrade() -> None:
    sr_op.undo()  # the label returns and those orders are 'legacy' again
