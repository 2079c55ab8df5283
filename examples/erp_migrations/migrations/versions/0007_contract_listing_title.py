"""Rename listings.title to headline, step 3 (contract): drop the old column.

Runs only once erp-web 1.4 (the last version reading `title`) is retired:
``safe_release.migrations.compat.retire(store, "erp-web", "1.4")``.
"""

from safe_release.migrations import ops as sr_op

revision = "0007"
down_revision = "0006"
sr_phase = "contract"
sr_retires = ("erp-web", "1.4")


def upgrade() -> None:
    sr_op.contract()  # ContractBlockedError while erp-web 1.4 is not retired
    sr_op.drop_column("listings", "title")


def downgrade() -> None:
    sr_op.undo()
