"""What the scheduler loop reads from the database each cycle, handed to the scheduler through its
named methods: the council (programmes, projects, reservations), the racks' health, budgets from
approved allocations, and the pending jobs (new ones submitted, ones the API cancelled dropped).

Each read is skipped when what it reads has not changed since the last cycle (the council's and the
racks' rows are compared as keys), so an idle factory costs a few small queries a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aifactory.cluster.slots import GpuSlots
from aifactory.market.slices import reservation_tenant
from aifactory.scheduler.core import Scheduler
from aifactory.scheduler.job import Job
from aifactory.service.db.models import Allocation as AllocationRow
from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import RackState as RackStateRow
from aifactory.service.executors.base import Launch
from aifactory.service.ledger import utc
from aifactory.service.market_sync import MarketSync, stored_council
from aifactory.service.store import allocations

IDS_PER_QUERY = 500  # ids per IN list


def job_of(row: JobRow) -> Job:
    """The scheduler's view of a job row (a reservation's jobs belong to the reservation's tenant)."""
    return Job(
        id=row.id,
        tenant=row.project_id if row.reservation_id is None else reservation_tenant(row.reservation_id),
        gpus=row.gpus,
        submit=row.submitted_at.timestamp(),
        duration=row.time_limit_s,  # the live service does not know the run time; it plans with the limit
        priority=row.priority,
        time_limit=row.time_limit_s,
        preemptible=row.preemptible,
    )


def gpu_ids_of(row: JobRow) -> list[int]:
    return [int(x) for x in (row.gpu_ids or "").split(",") if x]


def launch_of(row: JobRow, log_dir: Path) -> Launch:
    """What an executor needs to start (or find) the row's current attempt."""
    return Launch(
        job_id=row.id,
        attempt=row.attempt,
        command=row.command,
        image=row.image,
        gpu_ids=tuple(gpu_ids_of(row)),
        time_limit_s=row.time_limit_s,
        duration_s=row.duration_s,
        log_path=log_dir / f"{row.id}.log",
    )


class DatabaseSync:
    """The database's council, racks, budgets and pending jobs into one scheduler."""

    def __init__(self, scheduler: Scheduler, market: MarketSync, slots: GpuSlots) -> None:
        self.scheduler = scheduler
        self.market = market
        self.slots = slots
        self._council_key: Any = None
        self._racks_key: Any = ()  # no rack_states rows: every rack in service

    def council(self, session: Session, now: float) -> None:
        """Programmes and projects, and the reservations in their window, as the scheduler's council."""
        programmes, projects = stored_council(session)
        self.market.read(session, utc(now), programmes, self.scheduler)  # reservations in their window
        key = (tuple(programmes), tuple(projects), self.market.key)
        if key == self._council_key:
            return
        self.scheduler.set_council(self.market.council(programmes, projects))
        self._council_key = key

    def racks(self, session: Session) -> None:
        """Drained racks and broken trays from ``rack_states`` (set by the operator): a drained rack takes
        no new run, its running ones finish; broken trays are replaced by spares first, then the rack
        shrinks (its last schedulable trays' GPU slots are given to no new run)."""
        rows = session.execute(
            select(RackStateRow.rack, RackStateRow.drained, RackStateRow.failed_trays)
        ).all()
        key = tuple(sorted(tuple(row) for row in rows))
        if key == self._racks_key:
            return
        wanted = {int(rack): (bool(drained), int(failed)) for rack, drained, failed in rows}
        topology = self.scheduler.topology
        for rack in range(topology.racks):
            drained, failed = wanted.get(rack, (False, 0))
            healthy = max(topology.rack.trays - failed, 0)
            self.scheduler.set_rack(rack, drained=drained, healthy_trays=healthy)
            lost = topology.schedulable_trays - min(topology.schedulable_trays, healthy)
            self.slots.block_last_trays(rack, lost, topology.rack.gpus_per_tray)
        self._racks_key = key

    def budgets(self, session: Session, now: float, require_allocation: bool) -> None:
        """Budgets from approved allocations active now, and what each project spent on them (their
        burn-down); allocations whose period is over are expired first, and reservation tenants are held
        outside their windows. The scheduler adds its runs'
        open segments."""
        budgets: dict[str, float] = {}
        settled: dict[str, float] | None = None
        at = utc(now)
        allocations.expire_due(session, at)  # periods that ended are persisted as the domain expires them
        if require_allocation:
            granted_used = (AllocationRow.gpu_hours_granted, AllocationRow.gpu_hours_used)
            rows = session.execute(
                select(AllocationRow.project_id, *granted_used)
                .where(AllocationRow.state == "approved")
                .where(AllocationRow.start_at <= at)
                .where(AllocationRow.end_at > at)
            ).all()
            tenants = self.scheduler.tenancy.entitlements
            budgets = dict.fromkeys(tenants, 0.0)
            settled = dict.fromkeys(tenants, 0.0)
            for project, granted, used in rows:
                budgets[project] = budgets.get(project, 0.0) + (granted or 0.0) * 3600
                settled[project] = settled.get(project, 0.0) + used * 3600
        self.market.hold_outside_windows(budgets, self.scheduler.running_gpus)
        self.scheduler.set_budgets(now, budgets, settled)

    def pending(
        self, session: Session, executors: Collection[str], clock: Callable[[], float]
    ) -> tuple[list[str], int]:
        """Diff the pending jobs in the database with the scheduler's queue: ones the API cancelled are
        dropped (returned), new ones submitted (counted); a job for an executor this worker does not
        have fails at once."""
        # One row, not one per pending job: the ids joined by the database (string_agg / group_concat)
        # cost a fraction of fetching thousands of rows every cycle.
        joined = session.scalar(
            select(func.aggregate_strings(JobRow.id, ",")).where(JobRow.state == "pending")
        )
        ids = set(joined.split(",")) if joined else set()
        scheduler = self.scheduler
        queue = scheduler.queue
        dropped = list(queue.jobs.keys() - ids)
        for job_id in dropped:
            scheduler.cancel_pending(job_id)
        new = list(ids - queue.jobs.keys() - scheduler.running.keys())
        submitted = 0
        for chunk in range(0, len(new), IDS_PER_QUERY):
            rows = session.scalars(
                select(JobRow).where(JobRow.id.in_(new[chunk : chunk + IDS_PER_QUERY])).order_by(JobRow.seq)
            ).all()
            for row in rows:
                if row.executor not in executors:
                    row.state = "failed"
                    row.ended_at = utc(clock())
                    row.reason = f"executor {row.executor} is not set up on this worker"
                    continue
                scheduler.submit(job_of(row))
                submitted += 1
        return dropped, submitted
