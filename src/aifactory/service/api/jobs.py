"""Jobs: submit (idempotently), list, show, cancel, read logs. Running them is the worker's business."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import RowMapping, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from aifactory.cluster.topology import Topology
from aifactory.market import MarketError, parse_shape, shape_for_factory
from aifactory.scheduler.admission import never_runs
from aifactory.scheduler.tenancy import Tenancy
from aifactory.service.api.reservations import check_job_reservation
from aifactory.service.api.schemas import (
    CONFLICT,
    ERRORS,
    JOB_ID_IN_TEXT,
    MAX_INT,
    NOT_FOUND,
    Body,
    Name,
    Out,
    Slug,
    redact,
)
from aifactory.service.auth import (
    AnyRole,
    Principal,
    admit,
    authenticate,
    bearer_secret,
    require,
    roles_allowed,
)
from aifactory.service.db.models import JOB_STATES, Job, Project
from aifactory.service.deps import NowDep, SessionDep, SettingsDep
from aifactory.service.errors import Conflict, Invalid, NotFound
from aifactory.service.market_sync import council_of, is_limited, stored_council
from aifactory.service.store import jobs as store_jobs

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERRORS)

JobState = Literal["pending", "running", "succeeded", "failed", "cancelled", "preempted", "timed_out"]
Executor = Literal["local", "ray", "simulated"]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
JOB_ID = re.compile(r"^j-[0-9a-f]{12}$")
SUBMITTERS = roles_allowed("project_admin", "project_member")


def new_job_id() -> str:
    return "j-" + secrets.token_hex(6)


class JobIn(Body):
    project_id: Slug | None = Field(None, description="The project (a project token's own by default).")
    name: Name = Field("job", examples=["train-7b"])
    command: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] | None = Field(
        None,
        description="Shell command to run (give command or image, not both).",
        examples=["python train.py"],
    )
    image: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        None, description="Container image to run (give command or image, not both)."
    )
    gpus: int | None = Field(None, ge=1, le=1_000_000, description="GPUs, gang-scheduled (or give a shape).")
    shape: str | None = Field(
        None,
        max_length=32,
        description="A GPU shape gpu.<N>x<model> of the factory's model (gpu.1xgb300 … gpu.72xgb300).",
    )
    time_limit_s: float = Field(gt=0, le=1e9, description="Wall-clock limit in seconds.", examples=[3600])
    priority: int = Field(0, ge=-1_000_000, le=1_000_000)
    preemptible: bool = False
    executor: Executor = "local"
    duration_s: float | None = Field(None, gt=0, le=1e9, description="Only for executor simulated.")
    reservation_id: int | None = Field(None, ge=1, le=MAX_INT)
    idempotency_key: IdempotencyKey | None = Field(
        None, description="Same key and project: the existing job is returned (200) instead of a new one."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "climate-ai",
                    "name": "train-7b",
                    "command": "python train.py --config 7b.yaml",
                    "shape": "gpu.4xgb300",
                    "time_limit_s": 86400,
                    "executor": "local",
                    "idempotency_key": "train-7b-2026-01-05",
                },
                {
                    "name": "sim",
                    "command": "sleep",
                    "gpus": 72,
                    "time_limit_s": 600,
                    "executor": "simulated",
                    "duration_s": 300,
                },
            ]
        }
    )

    @model_validator(mode="after")
    def _rules(self) -> JobIn:
        if (self.command is None) == (self.image is None):
            raise ValueError("command: give exactly one of command or image")
        if self.shape is not None:
            try:
                n = parse_shape(self.shape).gpus
            except MarketError as exc:
                raise ValueError(str(exc)) from None
            if self.gpus is not None and self.gpus != n:
                raise ValueError(f"gpus: {self.gpus} does not match shape {self.shape} ({n} GPUs)")
            self.gpus = n
        elif self.gpus is None:
            raise ValueError("gpus: give gpus (at least 1) or a shape such as gpu.4xgb300")
        if self.executor == "simulated" and self.duration_s is None:
            raise ValueError("duration_s: required for executor 'simulated'")
        if self.executor != "simulated" and self.duration_s is not None:
            raise ValueError(f"duration_s: only for executor 'simulated', not {self.executor!r}")
        return self


class JobOut(Out):
    id: str
    seq: int
    project_id: str
    submitted_by: str
    name: str
    command: str | None
    image: str | None
    gpus: int
    shape: str | None
    time_limit_s: float
    priority: int
    preemptible: bool
    executor: str
    duration_s: float | None
    reservation_id: int | None
    idempotency_key: str | None
    state: str
    cancel_requested: bool
    reason: str
    submitted_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    placement: list[list[int]] | None
    gpu_ids: str | None
    attempt: int
    executor_ref: str | None


def _visible_job(session: Session, job_id: str, principal: Principal, *, lock: bool = False) -> Job:
    """The job, if ``principal`` may see it (404 otherwise); ``lock``: its row locked until commit."""
    job = None
    if JOB_ID.match(job_id):
        job = store_jobs.lock(session, job_id) if lock else session.get(Job, job_id)
    if job is None or not principal.can_see_project(job.project_id):
        raise NotFound(f"job {job_id!r} not found")
    return job


@router.post(
    "",
    response_model=JobOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": JobOut, "description": "An existing job with the same idempotency key."}},
    summary="Submit a job (project admin or member for their project; operator)",
)
async def submit_job(
    body: JobIn,
    request: Request,
    response: Response,
    secret: Annotated[str, Depends(bearer_secret)],
    header_key: Annotated[
        IdempotencyKey | None,
        Header(alias="Idempotency-Key", description="Same as the body's idempotency_key."),
    ] = None,
) -> Job | RowMapping:
    # The hot path of the service: the token lookup, the role check and the insert run in one worker
    # thread with a session of their own (no per-dependency thread hand-offs or session dependency), and
    # the answer is serialised on the event loop (everything is loaded: nothing is read lazily).
    state = request.app.state
    now = state.clock()

    def work() -> Job | RowMapping:
        with state.sessionmaker() as session:
            try:
                principal = authenticate(session, secret, now)
            except OperationalError as exc:  # a pooled connection the server closed (it restarted)
                if not exc.connection_invalidated:
                    raise
                session.rollback()  # the pool is invalidated: the retry gets a fresh connection
                principal = authenticate(session, secret, now)
            principal = admit(principal, SUBMITTERS)
            return submit(session, body, principal, now, state.topology, header_key, response)

    return await run_in_threadpool(work)


def submit(
    session: Session,
    body: JobIn,
    principal: Principal,
    now: datetime,
    factory: Topology,
    header_key: str | None = None,
    response: Response | None = None,
) -> Job | RowMapping:
    """Insert the job and commit it (a 201 means committed), or return the job already submitted with the
    same idempotency key (``response`` set to 200).

    The common case is two statements: ``INSERT … ON CONFLICT (project_id, idempotency_key) DO NOTHING
    RETURNING`` with the job number drawn inside it (:func:`next_seq`), then ``COMMIT``. A concurrent
    submission with the same key makes the insert return nothing (PostgreSQL waits for the other
    transaction first), and the existing job is read. An unknown project is found by its foreign key.
    """
    if header_key is not None and body.idempotency_key is not None and header_key != body.idempotency_key:
        raise Invalid("idempotency_key: the Idempotency-Key header and the body's idempotency_key differ")
    key = body.idempotency_key or header_key
    project_id = principal.project_for(body.project_id)
    assert body.gpus is not None
    tenancy = None
    if is_limited(session, project_id):  # its programme's and its own limits: the council as stored
        tenancy = Tenancy.of(council_of(*stored_council(session)), factory.gpus)
    impossible = never_runs(body.gpus, factory.gpus, tenancy, project_id)
    if impossible is not None:
        raise Invalid(f"gpus: {impossible}: it could never run")
    if body.shape is not None:
        try:
            shape_for_factory(body.shape, factory.rack.gpu_model)
        except MarketError as exc:
            raise Invalid(str(exc)) from None
    if body.reservation_id is not None:
        _check_project(session, project_id)
        check_job_reservation(session, body.reservation_id, project_id, body.gpus, now)
    values = {
        "id": new_job_id(),
        "project_id": project_id,
        "submitted_by": principal.subject,
        "name": body.name,
        "command": body.command,
        "image": body.image,
        "gpus": body.gpus,
        "shape": body.shape,
        "time_limit_s": body.time_limit_s,
        "priority": body.priority,
        "preemptible": body.preemptible,
        "executor": body.executor,
        "duration_s": body.duration_s,
        "reservation_id": body.reservation_id,
        "idempotency_key": key,
        "state": "pending",
        "cancel_requested": False,
        "reason": "submitted; waiting for the scheduler",
        "submitted_at": now,
        "attempt": 0,
    }
    try:
        job = (
            session.connection()
            .execute(store_jobs.insert_statement(session), values)
            .mappings()
            .one_or_none()
        )
        if job is not None:
            session.commit()
            return job
    except IntegrityError:
        session.rollback()
        _check_project(session, project_id)
        raise
    existing = store_jobs.by_key(session, project_id, key)  # the key was taken: that job is the answer
    if existing is None:  # pragma: no cover - ON CONFLICT skips only rows whose key exists
        raise Conflict(f"idempotency_key: {key!r} is taken but its job was not found; try again")
    if response is not None:
        response.status_code = status.HTTP_200_OK
    return existing


def _check_project(session: Session, project_id: str) -> None:
    if session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        raise Invalid(f"project_id: no project {project_id!r}")


@router.get(
    "", response_model=list[JobOut], summary="List jobs in submission order (project roles: their own)"
)
def list_jobs(
    session: SessionDep,
    principal: AnyRole,
    state: Annotated[JobState | None, Query(description="Only in this state.")] = None,
    project: Annotated[Slug | None, Query(description="Only this project's.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many (the newest).")] = 1000,
) -> list[Job | JobOut]:
    query = select(Job).order_by(Job.seq.desc()).limit(limit)
    if state is not None:
        query = query.where(Job.state == state)
    if project is not None:
        query = query.where(Job.project_id == project)
    if not principal.reads_everything:
        query = query.where(Job.project_id == principal.project_id)
    return _shown(session, sorted(session.scalars(query), key=lambda job: job.seq), principal)


def _shown(session: Session, jobs: list[Job], principal: Principal) -> list[Job | JobOut]:
    """The jobs as ``principal`` may see them: a reason naming another project's job (the scheduler says
    which job a waiting one is behind) names it only as "another project's job"."""
    if principal.reads_everything:
        return list(jobs)
    named = {m for job in jobs for m in JOB_ID_IN_TEXT.findall(job.reason or "")}
    if not named:
        return list(jobs)
    own = set(
        session.scalars(select(Job.id).where(Job.id.in_(named), Job.project_id == principal.project_id))
    )
    return [
        JobOut.model_validate(job).model_copy(update={"reason": redact(job.reason, own)})
        if JOB_ID_IN_TEXT.search(job.reason or "")
        else job
        for job in jobs
    ]


@router.get("/{job_id}", response_model=JobOut, responses=NOT_FOUND, summary="Show a job")
def get_job(job_id: str, session: SessionDep, principal: AnyRole) -> Job | JobOut:
    return _shown(session, [_visible_job(session, job_id, principal)], principal)[0]


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Cancel a job: pending at once; running when the worker stops it",
)
def cancel_job(
    job_id: str,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("project_admin", "project_member"))],
) -> Job | JobOut:
    """Cancel once: a job already cancelled (or whose cancel is already asked, while it runs) is a 409,
    so of concurrent cancels exactly one succeeds."""
    job = _visible_job(session, job_id, principal, lock=True)  # held until committed
    if job.state == "running" and job.cancel_requested:
        raise Conflict(f"cancel_requested: job {job_id} is already being cancelled")
    if job.state == "pending":
        job.state = "cancelled"
        job.cancel_requested = True
        job.ended_at = now
        job.reason = f"cancelled by {principal.subject} before it started"
    elif job.state == "running":
        job.cancel_requested = True
        job.reason = f"cancel requested by {principal.subject}; the worker will stop it"
    else:
        raise Conflict(f"state: job {job_id} is {job.state}; only pending or running jobs can be cancelled")
    session.commit()
    return _shown(session, [job], principal)[0]


def tail_lines(path: FilePath, lines: int, block: int = 64 * 1024) -> bytes:
    """The last ``lines`` lines of a file, reading backwards from its end in blocks."""
    with path.open("rb") as file:
        position = file.seek(0, 2)
        data = b""
        while position > 0 and data.count(b"\n") <= lines:
            step = min(block, position)
            position -= step
            file.seek(position)
            data = file.read(step) + data
    return b"".join(data.splitlines(keepends=True)[-lines:])


@router.get(
    "/{job_id}/logs",
    response_class=PlainTextResponse,
    responses={
        **NOT_FOUND,
        200: {"content": {"text/plain": {}}, "description": "The log (empty if none yet)."},
    },
    summary="A job's log file (empty until the job has written one)",
)
def job_logs(
    job_id: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyRole,
    tail: Annotated[int | None, Query(ge=1, le=1_000_000, description="Only the last N lines.")] = None,
) -> PlainTextResponse:
    job = _visible_job(session, job_id, principal)
    path = settings.log_dir / f"{job.id}.log"
    if not path.is_file():
        return PlainTextResponse("")
    data = tail_lines(path, tail) if tail is not None else path.read_bytes()
    return PlainTextResponse(data.decode("utf-8", errors="replace"))


assert set(JOB_STATES) == set(get_args(JobState))
