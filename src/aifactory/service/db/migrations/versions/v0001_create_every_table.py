"""Create every table of the operations service.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("share >= 0", name=op.f("ck_programmes_share")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.CheckConstraint("kind IN ('factory', 'partner')", name=op.f("ck_providers_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    op.create_table(
        "rack_states",
        sa.Column("rack", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("drained", sa.Boolean(), nullable=False),
        sa.Column("failed_trays", sa.Integer(), nullable=False),
        sa.CheckConstraint("failed_trays >= 0", name=op.f("ck_rack_states_failed_trays")),
        sa.PrimaryKeyConstraint("rack", name=op.f("pk_rack_states")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("shape", sa.String(length=32), nullable=False),
        sa.Column("gpus_per_unit", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("price_per_gpu_hour", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('on_demand', 'reserved', 'spot')", name=op.f("ck_offers_kind")),
        sa.CheckConstraint("gpus_per_unit >= 1", name=op.f("ck_offers_gpus_per_unit")),
        sa.CheckConstraint("price_per_gpu_hour >= 0", name=op.f("ck_offers_price_per_gpu_hour")),
        sa.CheckConstraint("units >= 0", name=op.f("ck_offers_units")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_offers_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index(op.f("ix_offers_provider_id"), "offers", ["provider_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("quota_gpus", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quota_gpus IS NULL OR quota_gpus >= 0", name=op.f("ck_projects_quota_gpus")),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_projects_weight")),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_projects_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_programme_id"), "projects", ["programme_id"], unique=False)

    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("gpu_hours_requested", sa.Float(), nullable=False),
        sa.Column("gpu_hours_granted", sa.Float(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gpu_hours_used", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "state IN ('requested', 'approved', 'rejected', 'expired')", name=op.f("ck_allocations_state")
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_allocations_period")),
        sa.CheckConstraint(
            "gpu_hours_granted IS NULL OR gpu_hours_granted > 0",
            name=op.f("ck_allocations_gpu_hours_granted"),
        ),
        sa.CheckConstraint("gpu_hours_requested > 0", name=op.f("ck_allocations_gpu_hours_requested")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_allocations_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    op.create_index(op.f("ix_allocations_project_id"), "allocations", ["project_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price_per_gpu_hour", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('booked', 'cancelled')", name=op.f("ck_reservations_state")),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_reservations_period")),
        sa.CheckConstraint("units >= 1", name=op.f("ck_reservations_units")),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_reservations_offer_id_offers")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_reservations_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index(op.f("ix_reservations_offer_id"), "reservations", ["offer_id"], unique=False)
    op.create_index(op.f("ix_reservations_project_id"), "reservations", ["project_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role IN ('project_admin', 'project_member')) = (project_id IS NOT NULL)",
            name=op.f("ck_tokens_project_for_project_roles"),
        ),
        sa.CheckConstraint(
            "role IN ('operator', 'council', 'project_admin', 'project_member')", name=op.f("ck_tokens_role")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_tokens_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    op.create_index(op.f("ix_tokens_project_id"), "tokens", ["project_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("image", sa.String(length=500), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("shape", sa.String(length=32), nullable=True),
        sa.Column("time_limit_s", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("preemptible", sa.Boolean(), nullable=False),
        sa.Column("executor", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("reservation_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("placement", sa.JSON(), nullable=True),
        sa.Column("gpu_ids", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("executor_ref", sa.Text(), nullable=True),
        sa.CheckConstraint("executor IN ('local', 'ray', 'simulated')", name=op.f("ck_jobs_executor")),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'preempted', 'timed_out')",
            name=op.f("ck_jobs_state"),
        ),
        sa.CheckConstraint("(command IS NULL) <> (image IS NULL)", name=op.f("ck_jobs_command_or_image")),
        sa.CheckConstraint("gpus >= 1", name=op.f("ck_jobs_gpus")),
        sa.CheckConstraint("time_limit_s > 0", name=op.f("ck_jobs_time_limit_s")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_jobs_project_id_projects")),
        sa.ForeignKeyConstraint(
            ["reservation_id"], ["reservations.id"], name=op.f("fk_jobs_reservation_id_reservations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("project_id", "idempotency_key", name=op.f("uq_jobs_project_id_idempotency_key")),
        sa.UniqueConstraint("seq", name=op.f("uq_jobs_seq")),
    )
    op.create_index(op.f("ix_jobs_project_id"), "jobs", ["project_id"], unique=False)
    op.create_index("ix_jobs_state_seq", "jobs", ["state", "seq"], unique=False)

    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("gpu_hours", sa.Float(), nullable=True),
        sa.Column("allocation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["allocation_id"], ["allocations.id"], name=op.f("fk_usage_records_allocation_id_allocations")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_usage_records_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_usage_records_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    op.create_index(op.f("ix_usage_records_allocation_id"), "usage_records", ["allocation_id"], unique=False)
    op.create_index(op.f("ix_usage_records_job_id"), "usage_records", ["job_id"], unique=False)
    op.create_index(op.f("ix_usage_records_project_id"), "usage_records", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_records_project_id"), table_name="usage_records")
    op.drop_index(op.f("ix_usage_records_job_id"), table_name="usage_records")
    op.drop_index(op.f("ix_usage_records_allocation_id"), table_name="usage_records")

    op.drop_table("usage_records")
    op.drop_index("ix_jobs_state_seq", table_name="jobs")
    op.drop_index(op.f("ix_jobs_project_id"), table_name="jobs")

    op.drop_table("jobs")
    op.drop_index(op.f("ix_tokens_project_id"), table_name="tokens")

    op.drop_table("tokens")
    op.drop_index(op.f("ix_reservations_project_id"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_offer_id"), table_name="reservations")

    op.drop_table("reservations")
    op.drop_index(op.f("ix_allocations_project_id"), table_name="allocations")

    op.drop_table("allocations")
    op.drop_index(op.f("ix_projects_programme_id"), table_name="projects")

    op.drop_table("projects")
    op.drop_index(op.f("ix_offers_provider_id"), table_name="offers")

    op.drop_table("offers")
    op.drop_table("rack_states")
    op.drop_table("providers")
    op.drop_table("programmes")
