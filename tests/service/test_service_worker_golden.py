"""The worker's schedules of a Philly sample, pinned: restructuring the worker and the scheduler changed
none of them.

400 Philly jobs (sizes capped at the factory's 144 GPUs, runs capped at 6 hours, arrivals 20× denser so
that jobs queue) go through the service's worker with the simulated executor on a virtual clock that
jumps from event to event (a submission or a run's end). The digest covers every job's state, start, end,
GPUs and attempts. The digests were taken from the worker before it was split into its rooms and before
policies became values (commit f5530d5), and the same schedules come out today: a change here is a bug
or a change of behaviour that must be named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from aifactory.replay.trace import load_trace
from aifactory.service.db import Allocation, Programme, Project, make_engine, make_sessionmaker, upgrade
from aifactory.service.db import Job as JobRow
from aifactory.service.executors.simulated import SimulatedExecutor
from aifactory.service.worker import FactoryConfig, Worker
from data_paths import philly_path

PINNED = {
    "fifo": "5c899be7fdc70469",
    "backfill": "c5d71f1fabddbb1d",
    "fairshare": "7d8d83f68ee05531",
    "quota": "26eb9bdb88cced49",
}
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
JOBS, DENSER, MAX_RUN_S = 400, 20.0, 6 * 3600.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _project(tenant: str) -> str:
    return tenant.lower().replace("_", "-")[:40] or "p"


def _rows() -> list[dict[str, Any]]:
    jobs = load_trace(philly_path()).jobs[:JOBS]
    t0 = jobs[0].submit
    rows = []
    for i, job in enumerate(jobs):
        run = min(max(job.duration, 1.0), MAX_RUN_S)
        rows.append({
            "id": f"j-{i + 1:012x}", "seq": i + 1, "project_id": _project(job.tenant), "submitted_by": "x",
            "name": "x", "command": "train", "gpus": min(job.gpus, 144), "time_limit_s": 2.0 * run + 60,
            "priority": i % 3, "preemptible": i % 4 == 0, "executor": "simulated", "duration_s": float(run),
            "state": "pending", "cancel_requested": False, "reason": "submitted",
            "submitted_at": START + dt.timedelta(seconds=round((job.submit - t0) / DENSER)), "attempt": 0,
        })  # fmt: skip
    return rows


def _schedule(tmp: Path, policy: str, rows: list[dict[str, Any]]) -> str:
    engine = make_engine(f"sqlite:///{tmp}/w.db")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    projects = sorted({row["project_id"] for row in rows})
    with sessions() as s:
        s.add(Programme(id="research", name="research", share=1.0, created_at=START))
        s.flush()
        for pid in projects:
            s.add(Project(id=pid, programme_id="research", name=pid, weight=1.0, created_at=START))
        s.flush()
        for pid in projects:
            s.add(Allocation(
                project_id=pid, state="approved", gpu_hours_requested=1e9, gpu_hours_granted=1e9,
                start_at=START - dt.timedelta(days=30), end_at=START + dt.timedelta(days=365),
                justification="x", requested_by="x", reviewed_by="council", created_at=START,
                reviewed_at=START,
            ))  # fmt: skip
        s.commit()
    clock = Clock(START.timestamp())
    config = FactoryConfig(racks=2, rack_gpus=72, policy=policy, interval_s=1.0)
    worker = Worker(sessions, config, {"simulated": SimulatedExecutor()}, tmp, clock=clock)
    k = cycles = 0
    while True:
        while k < len(rows) and rows[k]["submitted_at"].timestamp() <= clock.now:
            with sessions() as s, s.begin():
                s.execute(insert(JobRow), [rows[k]])
            k += 1
        worker.cycle()
        cycles += 1
        with sessions() as s:
            running = list(s.scalars(select(JobRow).where(JobRow.state == "running")))
            waiting = s.scalar(select(JobRow.id).where(JobRow.state == "pending").limit(1))
        if k == len(rows) and not running and waiting is None:
            break
        assert cycles < 5_000, "the sample did not finish"
        due = [r.started_at.timestamp() + r.duration_s for r in running if r.started_at and r.duration_s]
        due = [t for t in due if t > clock.now]
        if k < len(rows):
            due.append(rows[k]["submitted_at"].timestamp())
        clock.now = max(clock.now + 1.0, min(due)) if due else clock.now + 300.0
    with sessions() as s:
        out = [
            (r.id, r.state, r.started_at and r.started_at.isoformat(), r.ended_at and r.ended_at.isoformat(),
             r.gpu_ids, r.attempt)
            for r in s.scalars(select(JobRow).order_by(JobRow.seq))
        ]  # fmt: skip
    engine.dispose()
    assert {state for _, state, *_ in out} == {"succeeded"}
    return hashlib.sha256(json.dumps(out).encode()).hexdigest()[:16]


@pytest.mark.parametrize("policy", list(PINNED))
def test_the_worker_schedules_a_philly_sample_as_before(tmp_path: Path, policy: str) -> None:
    assert _schedule(tmp_path, policy, _rows()) == PINNED[policy]
