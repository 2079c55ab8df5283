"""Every unsafe operation the linter knows, one per line (the test reads the comments)."""
# ruff: noqa: E501 - one operation per line, each followed by the rule it must trigger
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from safe_release.migrations import ops as sr_op

revision = "unsafe1"
down_revision = None
branch_labels = None
depends_on = None

status = postgresql.ENUM("new", "paid", name="order_status")


def upgrade():
    op.drop_column("orders", "note")  # expect: ban-drop-column
    op.drop_table("legacy")  # expect: ban-drop-table
    op.alter_column("orders", "ref", new_column_name="reference")  # expect: renaming-column
    op.rename_table("items", "lines")  # expect: renaming-table
    op.alter_column("orders", "total", type_=sa.Numeric(8, 2))  # expect: changing-column-type
    op.add_column("orders", sa.Column("code", sa.Text(), nullable=False))  # expect: adding-required-field
    op.alter_column("orders", "email", nullable=False)  # expect: adding-not-nullable-field
    op.alter_column("orders", "phone", nullable=True)  # expect: ban-drop-not-null
    op.create_unique_constraint("uq_ref", "orders", ["ref"])  # expect: disallowed-unique-constraint
    op.create_check_constraint("ck_total", "orders", "total > 0")  # expect: constraint-missing-not-valid
    op.create_foreign_key("fk_cust", "orders", "customers", ["cid"], ["id"])  # expect: adding-foreign-key-constraint
    op.create_index("ix_ref", "orders", ["ref"])  # expect: require-concurrent-index-creation
    op.drop_index("ix_old", table_name="orders")  # expect: require-concurrent-index-deletion
    op.drop_constraint("ck_old", "orders")  # expect: ban-drop-constraint
    op.execute("ALTER TYPE kind ADD VALUE 'x'")  # expect: sr-enum-change
    op.create_table("payments", sa.Column("status", status))  # expect: sr-enum-not-dropped
    sr_op.rename_column("orders", "memo", "notes")  # expect: sr-contract-phase


def downgrade():
    op.drop_table("payments")
