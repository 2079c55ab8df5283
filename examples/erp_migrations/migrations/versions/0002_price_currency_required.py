"""Every price has a currency: NULLs become EUR, then NOT NULL."""

from safe_release.migrations import ops as sr_op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    sr_op.set_not_null("prices", "currency", fill="EUR")


def downgrade() -> None:
    sr_op.undo()  # nullable again; the filled rows get their NULL back
