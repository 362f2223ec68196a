"""Read-only views for people and dashboards: the rack map, the queue and usage against shares.

``GET /cluster`` draws the factory's shape (racks × trays × GPUs per tray, built once from the settings)
and marks the GPUs held by running jobs (``jobs.gpu_ids``, global ids ``rack × rack_gpus + slot``),
drained racks and failed trays (``rack_states``). ``GET /queue`` lists pending jobs in the scheduler's
order with the reason the worker wrote, and running jobs. ``GET /usage`` adds up usage records (open
ones up to now) per project and programme against the council's shares, with budgets, reservations and
cost.

Project roles see their own project's jobs in full; other projects' jobs only as busy GPUs or counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from aifactory.cluster.topology import Topology
from aifactory.market import allocations as market_alloc
from aifactory.market.accounting import UsageSegment, clipped_gpu_hours, usage_vs_shares
from aifactory.service.api.reservations import ReservationOut
from aifactory.service.api.schemas import ERRORS, Instant, redact
from aifactory.service.auth import AnyRole, Principal
from aifactory.service.db.models import (
    Allocation,
    Job,
    Programme,
    Project,
    RackState,
    Reservation,
    UsageRecord,
)
from aifactory.service.deps import FactoryDep, NowDep, SessionDep
from aifactory.service.errors import Invalid
from aifactory.service.store import allocations as store_allocations

router = APIRouter(tags=["views"], responses=ERRORS)

TrayState = Literal["busy", "free", "partial", "drained", "spare"]


# ----------------------------------------------------------------------------------------- cluster


class GpuOut(BaseModel):
    gpu: int = Field(description="Global GPU id: rack × rack_gpus + slot.")
    busy: bool = Field(description="Held by a running job (anyone's).")
    job_id: str | None = Field(description="The running job holding it (null if free or not yours).")
    project_id: str | None


class TrayOut(BaseModel):
    tray: int
    state: TrayState = Field(
        description="busy: every GPU held; partial: some; free: none; drained: the rack is drained or the "
        "tray failed; spare: beyond the schedulable trays."
    )
    gpus: list[GpuOut]


class RackOut(BaseModel):
    rack: int
    drained: bool
    failed_trays: int
    trays: list[TrayOut]


class ClusterOut(BaseModel):
    racks: int
    rack_gpus: int
    trays_per_rack: int
    schedulable_trays: int
    gpus_total: int = Field(description="Every GPU of every rack (spares included).")
    gpus_busy: int = Field(description="Held by running jobs.")
    gpus_free: int = Field(description="Schedulable, not held, not drained.")
    gpus_drained: int = Field(description="Not held, on a drained rack or a failed tray.")
    gpus_spare: int = Field(description="Not held, on trays beyond the schedulable ones.")
    rack_list: list[RackOut]


def parse_gpu_ids(text: str | None) -> list[int]:
    """``"0,1,2"`` → ``[0, 1, 2]`` (the worker's format of ``jobs.gpu_ids``)."""
    return [int(part) for part in (text or "").split(",") if part.strip()]


def rack_map(
    factory: Topology,
    running: Iterable[tuple[str, str, str | None]],
    rack_states: Iterable[tuple[int, bool, int]],
    principal: Principal,
) -> ClusterOut:
    """The rack map from ``(job_id, project_id, gpu_ids)`` of running jobs and ``(rack, drained,
    failed_trays)`` rows; the last ``failed_trays`` schedulable trays of a rack are shown as failed (the
    database keeps a count, and the worker fills a rack's lowest slots first)."""
    trays, per_tray = factory.rack.trays, factory.rack.gpus_per_tray
    rack_gpus, schedulable = factory.rack.gpus, factory.schedulable_trays
    holder: dict[int, tuple[str | None, str | None]] = {}
    for job_id, project_id, gpu_ids in running:
        visible = principal.can_see_project(project_id)
        for gid in parse_gpu_ids(gpu_ids):
            holder[gid] = (job_id, project_id) if visible else (None, None)
    states = {rack: (drained, failed) for rack, drained, failed in rack_states}
    counts = dict.fromkeys(("busy", "free", "drained", "spare"), 0)
    racks: list[RackOut] = []
    for rack in range(factory.racks):
        drained, failed = states.get(rack, (False, 0))
        failed = min(failed, schedulable)
        tray_list: list[TrayOut] = []
        for tray in range(trays):
            out_of_service = drained or schedulable - failed <= tray < schedulable
            idle_state: TrayState = (
                "spare" if tray >= schedulable else "drained" if out_of_service else "free"
            )
            gpus: list[GpuOut] = []
            for slot in range(tray * per_tray, (tray + 1) * per_tray):
                gid = rack * rack_gpus + slot
                job, project = holder.get(gid, (None, None))
                counts["busy" if gid in holder else idle_state] += 1
                gpus.append(GpuOut(gpu=gid, busy=gid in holder, job_id=job, project_id=project))
            held = sum(g.busy for g in gpus)
            state: TrayState = "busy" if held == per_tray else "partial" if held else idle_state
            tray_list.append(TrayOut(tray=tray, state=state, gpus=gpus))
        racks.append(RackOut(rack=rack, drained=drained, failed_trays=failed, trays=tray_list))
    return ClusterOut(
        racks=factory.racks,
        rack_gpus=rack_gpus,
        trays_per_rack=trays,
        schedulable_trays=schedulable,
        gpus_total=factory.racks * rack_gpus,
        gpus_busy=counts["busy"],
        gpus_free=counts["free"],
        gpus_drained=counts["drained"],
        gpus_spare=counts["spare"],
        rack_list=racks,
    )


@router.get("/cluster", response_model=ClusterOut, summary="The rack map: racks × trays, busy and free GPUs")
def cluster(session: SessionDep, factory: FactoryDep, principal: AnyRole) -> ClusterOut:
    running = session.execute(select(Job.id, Job.project_id, Job.gpu_ids).where(Job.state == "running")).all()
    rack_states = session.execute(select(RackState.rack, RackState.drained, RackState.failed_trays)).all()
    return rack_map(factory, running, rack_states, principal)


# ------------------------------------------------------------------------------------------- queue


class WaitingOut(BaseModel):
    position: int = Field(description="0-based place in the whole queue (scheduler order).")
    id: str
    name: str
    project_id: str
    gpus: int
    priority: int
    preemptible: bool
    reservation_id: int | None
    submitted_at: datetime
    reason: str = Field(description="Why it waits, as the worker last wrote it.")


class RunningOut(BaseModel):
    id: str
    name: str
    project_id: str
    gpus: int
    preemptible: bool
    started_at: datetime | None
    gpu_ids: list[int]
    cancel_requested: bool


class QueueOut(BaseModel):
    pending: list[WaitingOut] = Field(description="Pending jobs you may see, in scheduler order.")
    running: list[RunningOut] = Field(description="Running jobs you may see, oldest start first.")
    pending_total: int = Field(description="Every pending job, yours or not.")
    running_total: int
    pending_others: int = Field(description="Pending jobs of other projects, shown only as this count.")
    running_others: int
    gpus_waiting: int = Field(description="GPUs asked for by every pending job.")


QUEUE_ORDER = (Job.priority.desc(), Job.submitted_at, Job.seq)
"""The scheduler's order: higher priority first, then earlier submission, then sequence."""


@router.get("/queue", response_model=QueueOut, summary="Pending jobs in scheduler order with why they wait")
def queue(
    session: SessionDep,
    principal: AnyRole,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many pending jobs listed.")] = 500,
) -> QueueOut:
    # the whole queue's order from three narrow columns; full rows only for the jobs listed
    order = session.execute(
        select(Job.id, Job.project_id, Job.gpus).where(Job.state == "pending").order_by(*QUEUE_ORDER)
    ).all()
    mine = [(i, job_id) for i, (job_id, project, _) in enumerate(order) if principal.can_see_project(project)]
    shown = mine[:limit]
    rows = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_([job_id for _, job_id in shown])))}
    running = session.scalars(
        select(Job).where(Job.state == "running").order_by(Job.started_at, Job.seq)
    ).all()
    runs = [j for j in running if principal.can_see_project(j.project_id)]
    visible = {job_id for _, job_id in mine} | {j.id for j in runs}
    waiting = [
        WaitingOut(
            position=index,
            id=j.id,
            name=j.name,
            project_id=j.project_id,
            gpus=j.gpus,
            priority=j.priority,
            preemptible=j.preemptible,
            reservation_id=j.reservation_id,
            submitted_at=j.submitted_at,
            reason=j.reason if principal.reads_everything else redact(j.reason, visible),
        )
        for index, j in ((index, rows[job_id]) for index, job_id in shown if job_id in rows)
    ]
    return QueueOut(
        pending=waiting,
        running=[
            RunningOut(
                id=j.id,
                name=j.name,
                project_id=j.project_id,
                gpus=j.gpus,
                preemptible=j.preemptible,
                started_at=j.started_at,
                gpu_ids=parse_gpu_ids(j.gpu_ids),
                cancel_requested=j.cancel_requested,
            )
            for j in runs
        ],
        pending_total=len(order),
        running_total=len(running),
        pending_others=len(order) - len(mine),
        running_others=len(running) - len(runs),
        gpus_waiting=sum(gpus for _, _, gpus in order),
    )


# ------------------------------------------------------------------------------------------- usage


class ProgrammeUsageOut(BaseModel):
    id: str
    name: str
    share: float = Field(description="Council share, normalised to fractions of 1.")
    gpu_hours: float = Field(description="GPU-hours used in the window by all its projects.")
    fraction_of_total: float | None = Field(
        description="Its GPU-hours over everyone's in the window (project roles: null, it would tell "
        "them the other programmes' hours)."
    )


class AllocationUsageOut(BaseModel):
    id: int
    state: str
    gpu_hours_requested: float
    gpu_hours_granted: float | None
    gpu_hours_used: float
    gpu_hours_remaining: float | None
    start_at: datetime
    end_at: datetime
    active: bool = Field(description="Approved and its period holds now.")


class ReservationUsageOut(BaseModel):
    id: int
    offer_id: int
    units: int
    gpus: int
    start_at: datetime
    end_at: datetime
    price_per_gpu_hour: float
    state: str
    cost: float = Field(description="gpus × hours booked × price.")


class ProjectUsageOut(BaseModel):
    id: str
    name: str
    programme_id: str
    gpu_hours: float
    cost: float = Field(description="Priced GPU-hours (reservations, spot) in the window × their price.")
    gpu_hours_granted: float = Field(description="Sum over approved allocations active now.")
    gpu_hours_used: float
    gpu_hours_remaining: float
    allocations: list[AllocationUsageOut]
    reservations: list[ReservationUsageOut]


class UsageOut(BaseModel):
    since: datetime | None
    until: datetime
    gpu_hours_total: float | None = Field(
        description="Every project's GPU-hours in the window (project roles: null, as above)."
    )
    programmes: list[ProgrammeUsageOut] = Field(
        description="Every programme (project roles: their own project's only)."
    )
    projects: list[ProjectUsageOut] = Field(description="Every project (project roles: their own only).")


def _allocation_out(a: Allocation, now: datetime) -> AllocationUsageOut:
    shown = store_allocations.as_of(a, now)  # expired once its period is over (the worker writes it)
    return AllocationUsageOut(
        id=a.id,
        state=shown.state.value,
        gpu_hours_requested=a.gpu_hours_requested,
        gpu_hours_granted=shown.gpu_hours_granted if shown.granted else None,
        gpu_hours_used=a.gpu_hours_used,
        gpu_hours_remaining=market_alloc.remaining(shown) if shown.granted else None,
        start_at=a.start_at,
        end_at=a.end_at,
        active=market_alloc.budget_status([shown], a.project_id, now).active == 1,
    )


def _reservation_out(r: Reservation) -> ReservationUsageOut:
    """The booking as the marketplace shows it (its cost to the cent), less who booked it."""
    shown = ReservationOut.of(r).model_dump(include=set(ReservationUsageOut.model_fields))
    return ReservationUsageOut(**shown)


def _project_usage(
    session: Session, project: Project, gpu_hours: float, cost: float, now: datetime
) -> ProjectUsageOut:
    rows = store_allocations.of_project(session, project.id)
    allocations = [_allocation_out(a, now) for a in rows]
    budget = market_alloc.budget_status([store_allocations.as_of(a, now) for a in rows], project.id, now)
    reservations = [
        _reservation_out(r)
        for r in session.scalars(
            select(Reservation).where(Reservation.project_id == project.id).order_by(Reservation.start_at)
        )
    ]
    return ProjectUsageOut(
        id=project.id,
        name=project.name,
        programme_id=project.programme_id,
        gpu_hours=gpu_hours,
        cost=cost,
        gpu_hours_granted=budget.granted,
        gpu_hours_used=budget.used,
        gpu_hours_remaining=budget.remaining,
        allocations=allocations,
        reservations=reservations,
    )


def _utc(field: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC; 422 naming ``field`` for a naive time or one that UTC cannot hold."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise Invalid(f"{field}: give a time zone (e.g. 2026-01-05T00:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{field}: {value.isoformat()} is out of range in UTC") from None


@router.get("/usage", response_model=UsageOut, summary="GPU-hours per programme and project against shares")
def usage(
    session: SessionDep,
    now: NowDep,
    principal: AnyRole,
    since: Annotated[Instant | None, Query(description="Window start (ISO 8601 with zone).")] = None,
    until: Annotated[Instant | None, Query(description="Window end (default now).")] = None,
) -> UsageOut:
    since, until = _utc("since", since), _utc("until", until)
    end = until or now
    if since is not None and since >= end:
        raise Invalid(f"since: {since.isoformat()} is not before until {end.isoformat()}")
    start = since if since is not None else datetime.min.replace(tzinfo=UTC)
    programmes = session.scalars(select(Programme).order_by(Programme.id)).all()
    projects = session.scalars(select(Project).order_by(Project.id)).all()
    hours: dict[str, float] = dict.fromkeys((p.id for p in projects), 0.0)
    cost: dict[str, float] = dict.fromkeys(hours, 0.0)
    query = select(UsageRecord).where(UsageRecord.start_at < end)
    if since is not None:
        query = query.where((UsageRecord.end_at.is_(None)) | (UsageRecord.end_at > since))
    for record in session.scalars(query):
        stop = record.end_at if record.end_at is not None else max(now, record.start_at)
        segment = UsageSegment(
            job=record.job_id, project=record.project_id, start=record.start_at, end=stop, gpus=record.gpus
        )
        h = clipped_gpu_hours(segment, start, end)
        hours[record.project_id] = hours.get(record.project_id, 0.0) + h
        if record.price_per_gpu_hour is not None:
            cost[record.project_id] = cost.get(record.project_id, 0.0) + h * record.price_per_gpu_hour
    programme_of = {p.id: p.programme_id for p in projects}
    shares = usage_vs_shares(
        {p: h for p, h in hours.items() if h > 0}, programme_of, {p.id: p.share for p in programmes}
    )
    return UsageOut(
        since=since,
        until=end,
        gpu_hours_total=sum(hours.values()) if principal.reads_everything else None,
        programmes=[
            ProgrammeUsageOut(
                id=p.id,
                name=p.name,
                share=shares[p.id].entitled_share,
                gpu_hours=shares[p.id].gpu_hours,
                fraction_of_total=shares[p.id].used_share if principal.reads_everything else None,
            )
            for p in programmes
            if principal.reads_everything or p.id == programme_of.get(principal.project_id or "")
        ],
        projects=[
            _project_usage(session, p, hours[p.id], cost[p.id], now)
            for p in projects
            if principal.can_see_project(p.id)
        ],
    )
