"""${message}"""

import sqlalchemy as sa
from alembic import op

from safe_release.migrations import ops as sr_op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    sr_op.undo()
