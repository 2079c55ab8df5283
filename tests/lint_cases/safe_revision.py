"""The safe forms of the operations in unsafe_revision.py: no finding."""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from safe_release.migrations import ops as sr_op

revision = "safe1"
down_revision = None
branch_labels = None
depends_on = None
sr_phase = "contract"
sr_retires = ("erp-web", "2.3.0")

status = postgresql.ENUM("new", "paid", name="order_status")


def upgrade():
    sr_op.contract("erp-web", "2.3.0")
    sr_op.drop_column("orders", "note")
    sr_op.drop_table("legacy")
    sr_op.alter_column_type("orders", "total", sa.Numeric(8, 2))
    sr_op.set_not_null("orders", "email", fill="")
    op.add_column("orders", sa.Column("code", sa.Text(), nullable=False, server_default=""))
    op.add_column("orders", sa.Column("memo", sa.Text()))
    op.create_check_constraint("ck_total", "orders", "total > 0", postgresql_not_valid=True)
    op.create_foreign_key("fk_cust", "orders", "customers", ["cid"], ["id"],
                          postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.create_index("ix_ref", "orders", ["ref"], postgresql_concurrently=True)
        op.drop_index("ix_old", table_name="orders", postgresql_concurrently=True)
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_total")
    op.create_table("payments", sa.Column("status", status))
    op.create_index("ix_payments_status", "payments", ["status"], unique=True)


def downgrade():
    op.drop_table("payments")
    status.drop(op.get_bind())
    sr_op.undo()
