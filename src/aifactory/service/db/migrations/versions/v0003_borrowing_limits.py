"""Borrowing limits of programmes and projects: the most GPUs beyond their entitlement they may hold.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("programmes", "projects")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("borrowing_limit_gpus", sa.Integer(), nullable=True))
            batch.create_check_constraint(
                op.f(f"ck_{table}_borrowing_limit_gpus"),
                "borrowing_limit_gpus IS NULL OR borrowing_limit_gpus >= 0",
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_borrowing_limit_gpus"), type_="check")
            batch.drop_column("borrowing_limit_gpus")
