"""Drop orders.note losslessly: sr_op archives it, undo() brings every value back."""

from safe_release.migrations import ops as sr_op

revision = "a2"
down_revision = "a1"


def upgrade() -> None:
    sr_op.drop_column("orders", "note")


def downgrade() -> None:
    sr_op.undo()
