"""Jobs in the database: the insert every submission runs (the job number drawn inside it) and the look-up
of a job by its idempotency key. The dialect branches of job submission live here."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aifactory.service.db.models import Job
from aifactory.service.store.locks import locked

JOB_SEQUENCE = "jobs_seq_seq"  # PostgreSQL only (migration 0002)


def next_seq(session: Session) -> ColumnElement[int]:
    """The next job number as SQL evaluated inside the INSERT, so concurrent submissions never race.

    PostgreSQL draws from the sequence ``jobs_seq_seq`` (migration 0002): numbers increase with the order
    of the inserts and may skip a value a rolled-back insert drew. SQLite serialises writers, so
    ``max(seq) + 1`` computed in the INSERT itself is unique and gap-free.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.nextval(JOB_SEQUENCE)
    return select(func.coalesce(func.max(Job.seq), 0) + 1).scalar_subquery()


def by_key(session: Session, project_id: str, key: str | None) -> Job | None:
    """The project's job submitted with idempotency key ``key`` (None: no key, or no such job)."""
    if key is None:
        return None
    return session.scalars(
        select(Job).where(Job.project_id == project_id, Job.idempotency_key == key)
    ).first()


_INSERTS: dict[str, Any] = {}


def insert_statement(session: Session) -> Any:
    """``INSERT INTO jobs … ON CONFLICT (project_id, idempotency_key) DO NOTHING RETURNING *`` for the
    session's database, with the job number drawn in the statement; built once per dialect so that
    SQLAlchemy's compiled-statement cache serves every submission."""
    name = session.get_bind().dialect.name
    statement = _INSERTS.get(name)
    if statement is None:
        dialect_insert = postgresql.insert if name == "postgresql" else sqlite.insert
        table = cast(Table, Job.__table__)  # Core: no ORM bookkeeping for a row that is only answered
        statement = (
            dialect_insert(table)
            .values(seq=next_seq(session))
            .on_conflict_do_nothing(index_elements=["project_id", "idempotency_key"])
            .returning(*table.c)
        )
        _INSERTS[name] = statement
    return statement


def lock(session: Session, job_id: str) -> Job | None:
    """The job, locked until the transaction ends (None: no such job)."""
    return locked(session, Job, job_id)
