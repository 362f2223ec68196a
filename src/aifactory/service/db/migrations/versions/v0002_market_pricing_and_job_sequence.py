"""Usage priced by the market (reservation or spot price) and a database sequence for job numbers.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("reservation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("price_per_gpu_hour", sa.Float(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_usage_records_reservation_id_reservations"), "reservations", ["reservation_id"], ["id"]
        )
        batch.create_index(op.f("ix_usage_records_reservation_id"), ["reservation_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Concurrent submissions number their jobs without racing on max(seq) + 1.
        op.execute("CREATE SEQUENCE jobs_seq_seq OWNED BY jobs.seq")
        op.execute("SELECT setval('jobs_seq_seq', COALESCE((SELECT MAX(seq) FROM jobs), 0) + 1, false)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE jobs_seq_seq")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_index(op.f("ix_usage_records_reservation_id"))
        batch.drop_constraint(op.f("fk_usage_records_reservation_id_reservations"), type_="foreignkey")
        batch.drop_column("price_per_gpu_hour")
        batch.drop_column("reservation_id")
