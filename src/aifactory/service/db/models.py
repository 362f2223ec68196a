"""Typed SQLAlchemy 2 models of every table of the operations service (docs/service.md).

Enumerated columns are short strings guarded by CHECK constraints; the allowed values are the tuples
below, which the API models reuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aifactory.service.db.types import UTCDateTime

ROLES = ("operator", "council", "project_admin", "project_member")
PROJECT_ROLES = ("project_admin", "project_member")
ALLOCATION_STATES = ("requested", "approved", "rejected", "expired")
PROVIDER_KINDS = ("factory", "partner")
OFFER_KINDS = ("on_demand", "reserved", "spot")
RESERVATION_STATES = ("booked", "cancelled")
EXECUTORS = ("local", "ray", "simulated")
JOB_STATES = ("pending", "running", "succeeded", "failed", "cancelled", "preempted", "timed_out")
TERMINAL_JOB_STATES = ("succeeded", "failed", "cancelled", "preempted", "timed_out")

SLUG = 64
SUBJECT = 200

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


class Programme(Base):
    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("share >= 0", name="share"),
        CheckConstraint(
            "borrowing_limit_gpus IS NULL OR borrowing_limit_gpus >= 0", name="borrowing_limit_gpus"
        ),
    )

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    share: Mapped[float] = mapped_column(Float)
    borrowing_limit_gpus: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("weight >= 0", name="weight"),
        CheckConstraint("quota_gpus IS NULL OR quota_gpus >= 0", name="quota_gpus"),
        CheckConstraint(
            "borrowing_limit_gpus IS NULL OR borrowing_limit_gpus >= 0", name="borrowing_limit_gpus"
        ),
    )

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    quota_gpus: Mapped[int | None] = mapped_column(Integer)
    borrowing_limit_gpus: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Token(Base):
    __tablename__ = "tokens"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint(
            f"({one_of('role', PROJECT_ROLES)}) = (project_id IS NOT NULL)", name="project_for_project_roles"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT))
    role: Mapped[str] = mapped_column(String(16))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint(one_of("state", ALLOCATION_STATES), name="state"),
        CheckConstraint("gpu_hours_requested > 0", name="gpu_hours_requested"),
        CheckConstraint("gpu_hours_granted IS NULL OR gpu_hours_granted > 0", name="gpu_hours_granted"),
        CheckConstraint("end_at > start_at", name="period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="requested")
    gpu_hours_requested: Mapped[float] = mapped_column(Float)
    gpu_hours_granted: Mapped[float | None] = mapped_column(Float)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    justification: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(SUBJECT))
    reviewed_by: Mapped[str | None] = mapped_column(String(SUBJECT))
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    gpu_hours_used: Mapped[float] = mapped_column(Float, default=0.0)


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (CheckConstraint(one_of("kind", PROVIDER_KINDS), name="kind"),)

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(one_of("kind", OFFER_KINDS), name="kind"),
        CheckConstraint("gpus_per_unit >= 1", name="gpus_per_unit"),
        CheckConstraint("units >= 0", name="units"),
        CheckConstraint("price_per_gpu_hour >= 0", name="price_per_gpu_hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), index=True)
    shape: Mapped[str] = mapped_column(String(32))
    gpus_per_unit: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(String(2))
    price_per_gpu_hour: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    units: Mapped[int] = mapped_column(Integer)
    available_from: Mapped[datetime]
    available_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(one_of("state", RESERVATION_STATES), name="state"),
        CheckConstraint("units >= 1", name="units"),
        CheckConstraint("end_at > start_at", name="period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    units: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    price_per_gpu_hour: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="booked")
    created_by: Mapped[str] = mapped_column(String(SUBJECT))
    created_at: Mapped[datetime]


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("project_id", "idempotency_key"),
        Index("ix_jobs_state_seq", "state", "seq"),
        CheckConstraint(one_of("state", JOB_STATES), name="state"),
        CheckConstraint(one_of("executor", EXECUTORS), name="executor"),
        CheckConstraint("gpus >= 1", name="gpus"),
        CheckConstraint("time_limit_s > 0", name="time_limit_s"),
        CheckConstraint("(command IS NULL) <> (image IS NULL)", name="command_or_image"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(SUBJECT))
    name: Mapped[str] = mapped_column(String(200))
    command: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(500))
    gpus: Mapped[int] = mapped_column(Integer)
    shape: Mapped[str | None] = mapped_column(String(32))
    time_limit_s: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    preemptible: Mapped[bool] = mapped_column(Boolean, default=False)
    executor: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float | None] = mapped_column(Float)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    exit_code: Mapped[int | None] = mapped_column(Integer)
    placement: Mapped[list[list[int]] | None] = mapped_column(JSON)
    gpu_ids: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    executor_ref: Mapped[str | None] = mapped_column(Text)


class UsageRecord(Base):
    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    gpus: Mapped[int] = mapped_column(Integer)
    gpu_hours: Mapped[float | None] = mapped_column(Float)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"), index=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"), index=True)
    price_per_gpu_hour: Mapped[float | None] = mapped_column(
        Float, doc="What the segment costs per GPU-hour: its reservation's price, or the spot price at start."
    )


class RackState(Base):
    __tablename__ = "rack_states"
    __table_args__ = (CheckConstraint("failed_trays >= 0", name="failed_trays"),)

    rack: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    drained: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_trays: Mapped[int] = mapped_column(Integer, default=0)
