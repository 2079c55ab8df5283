"""Merge the shipping and refunds branches."""

revision = "m1"
down_revision = ("b1", "c1")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
