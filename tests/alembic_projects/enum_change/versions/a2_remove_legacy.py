"""Remove the 'legacy' status: rows holding it become 'paid'; the downgrade restores both."""

from safe_release.migrations import ops as sr_op

revision = "a2"
down_revision = "a1"


def upgrade() -> None:
    sr_op.remove_enum_value("orders", "status", "legacy", replace_with="paid")


def downgrade() -> None:
    sr_op.undo()
