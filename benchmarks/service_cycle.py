"""One scheduler-loop cycle of the live service against its database (issue 5's benchmark).

``Worker.cycle()`` end to end — reading the council, budgets and the pending queue from the database,
polling the runs, the operations-core scheduling cycle, committing starts and preemptions, launching,
and writing why jobs wait — on 144 NVL72 racks (10,368 GPUs) with 5,000 pending jobs.

Set-up, untimed: a fresh PostgreSQL schema in database ``test`` on 127.0.0.1:5432 (and, for reference, a
SQLite file), migrated; three programmes (shares 0.5 / 0.3 / 0.2) with 15 projects, each with an approved
allocation active now; jobs of the Philly size mix (mostly 1 GPU, up to 128), random projects and
priorities, the ``simulated`` executor with durations of 100–10,000 s. Enough jobs to fill the factory
plus 5,000 are inserted; the first cycle absorbs them all and starts what fits (reported apart). Then
the clock jumps 300 s (past the shortest runs) and one settling cycle runs; each sample
advances the clock by one second (about one running job in 10,000 ends), tops the queue back
up to 5,000 pending jobs through the database (untimed), and times one ``cycle()``; the phases come from
``CycleStats.timings``.

``python -m benchmarks.service_cycle [--samples 30] [--quick]``; ``benchmarks.run --only service`` runs
it with the submission benchmark. PostgreSQL unreachable: the PostgreSQL row is skipped with a message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aifactory.replay.synthetic import PHILLY_STATS
from benchmarks.service_submit import fresh_schema, postgres_reachable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench-out" / "service_cycle.json"
RACKS, RACK_GPUS, PENDING = 144, 72, 5_000
QUICK_RACKS, QUICK_PENDING = 16, 1_000
TARGET_MS = 50.0
PROGRAMMES = {"sci": 0.5, "ind": 0.3, "pub": 0.2}
PROJECTS_PER_PROGRAMME = 5
DURATION_RANGE_S = (100, 10_000)
STEP_S = 1.0
# The first cycle starts every run at once; jumping past the shortest duration (100 s) before the samples
# makes runs end (and others start) in every sample, as in a factory that has been running for a while.
SETTLE_S = 300.0
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PHASES = ("council", "pending", "poll", "schedule", "commit", "launch", "reasons")


def log(message: str) -> None:
    print(f"[service-cycle] {message}", file=sys.stderr, flush=True)


class Clock:
    """The worker's clock: set by the benchmark, advanced by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class JobRows:
    """Rows of the ``jobs`` table: the Philly size mix, random projects, priorities and durations."""

    def __init__(self, rng: np.random.Generator, projects: list[str], max_gpus: int) -> None:
        mix = {g: p for g, p in PHILLY_STATS.size_mix.items() if g <= max_gpus}
        total = sum(mix.values())
        self.rng = rng
        self.projects = projects
        self.sizes = np.array(list(mix), dtype=np.int64)
        self.probs = np.array([p / total for p in mix.values()], dtype=np.float64)
        self.count = 0

    def make(self, n: int, submitted_at: dt.datetime) -> list[dict[str, Any]]:
        gpus = self.rng.choice(self.sizes, size=n, p=self.probs).tolist()
        owner = self.rng.integers(0, len(self.projects), size=n).tolist()
        priority = self.rng.choice([0, 0, 0, 1, 5], size=n).tolist()
        lo, hi = DURATION_RANGE_S
        duration = self.rng.integers(lo, hi + 1, size=n).tolist()
        rows = []
        for g, o, p, d in zip(gpus, owner, priority, duration, strict=True):
            self.count += 1
            rows.append(
                {
                    "id": f"j-{self.count:012x}",
                    "seq": self.count,
                    "project_id": self.projects[o],
                    "submitted_by": "bench",
                    "name": "bench",
                    "command": "train",
                    "gpus": g,
                    "time_limit_s": 2.0 * d,
                    "priority": p,
                    "preemptible": False,
                    "executor": "simulated",
                    "duration_s": float(d),
                    "state": "pending",
                    "cancel_requested": False,
                    "reason": "submitted; waiting for the scheduler",
                    "submitted_at": submitted_at,
                    "attempt": 0,
                }
            )
        return rows


def seed(url: str) -> list[str]:
    """Migrate; programmes, projects and their approved allocations. Returns the project ids."""
    from aifactory.service.db import Allocation, Programme, Project, make_engine, make_sessionmaker, upgrade

    engine = make_engine(url)
    projects: list[str] = []
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            for name, share in PROGRAMMES.items():
                session.add(Programme(id=name, name=name, share=share, created_at=START))
            session.flush()
            for name in PROGRAMMES:
                for k in range(PROJECTS_PER_PROGRAMME):
                    pid = f"{name}-{k}"
                    projects.append(pid)
                    session.add(Project(id=pid, programme_id=name, name=pid, weight=1.0, created_at=START))
            session.flush()
            for pid in projects:
                session.add(
                    Allocation(
                        project_id=pid,
                        state="approved",
                        gpu_hours_requested=1e9,
                        gpu_hours_granted=1e9,
                        start_at=START - dt.timedelta(days=30),
                        end_at=START + dt.timedelta(days=365),
                        justification="benchmark",
                        requested_by="bench",
                        reviewed_by="council",
                        created_at=START,
                        reviewed_at=START,
                    )
                )
            session.commit()
    finally:
        engine.dispose()
    return projects


@dataclass
class CycleRow:
    """One database's cycle timings (milliseconds)."""

    database: str
    racks: int
    gpus: int
    pending_target: int
    samples: int
    policy: str
    jobs_inserted_at_start: int = 0
    first_cycle_ms: float = 0.0
    first_cycle_started: int = 0
    running_after_first: int = 0
    totals_ms: list[float] = field(default_factory=list)
    median_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    phases_median_ms: dict[str, float] = field(default_factory=dict)
    phases_p95_ms: dict[str, float] = field(default_factory=dict)
    started: int = 0
    ended: int = 0
    preempted: int = 0
    pending_min: int = 0
    pending_max: int = 0
    running_min: int = 0
    running_max: int = 0
    checks: dict[str, bool] = field(default_factory=dict)


def phases(timings: dict[str, float]) -> dict[str, float]:
    """Milliseconds per phase from the cumulative ``CycleStats.timings`` (phases a worker does not time
    separately are folded into the next one it does)."""
    out: dict[str, float] = {}
    last = 0.0
    for name in (*PHASES, "total"):
        if name in timings:
            out[name if name != "total" else "rest"] = (timings[name] - last) * 1e3
            last = timings[name]
    out["total"] = timings["total"] * 1e3
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(database: str, url: str, *, racks: int, pending: int, samples: int, seed_: int) -> CycleRow:
    from sqlalchemy import func, insert, select

    from aifactory.service.db import Job as JobRow
    from aifactory.service.db import make_engine, make_sessionmaker
    from aifactory.service.executors.simulated import SimulatedExecutor
    from aifactory.service.worker import FactoryConfig, Worker

    projects = seed(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    config = FactoryConfig(racks=racks, rack_gpus=RACK_GPUS, policy="fairshare", interval_s=1.0)
    row = CycleRow(database, racks, racks * RACK_GPUS, pending, samples, config.policy)
    maker = JobRows(np.random.default_rng(seed_), projects, max_gpus=racks * RACK_GPUS // 4)
    clock = Clock(START.timestamp())
    # Enough jobs to fill the factory (the mean size of the mix) and leave ``pending`` waiting.
    mean_gpus = float((maker.sizes * maker.probs).sum())
    first = int(row.gpus / mean_gpus * 1.1) + pending
    with tempfile.TemporaryDirectory(prefix="aifactory-bench-") as logs:
        worker = Worker(sessions, config, {"simulated": SimulatedExecutor()}, Path(logs), clock=clock)

        def pending_count() -> int:
            with sessions() as session:
                return int(
                    session.scalar(select(func.count()).select_from(JobRow).where(JobRow.state == "pending"))
                    or 0
                )

        def insert_jobs(n: int) -> None:
            with sessions() as session, session.begin():
                at = dt.datetime.fromtimestamp(clock.now, dt.UTC)
                for chunk in range(0, n, 2_000):
                    session.execute(insert(JobRow), maker.make(min(2_000, n - chunk), at))

        log(f"{database}: inserting {first:,} jobs, first cycle on {racks} racks …")
        insert_jobs(first)
        row.jobs_inserted_at_start = first
        stats = worker.cycle()
        row.first_cycle_ms, row.first_cycle_started = stats.seconds * 1e3, stats.started
        row.running_after_first = len(worker.runs)
        insert_jobs(max(pending - pending_count(), 0))
        clock.now += SETTLE_S
        worker.cycle()  # settles: the top-up enters the queue, the shortest runs end, others start

        log(f"{database}: {samples} timed cycles …")
        per_phase: dict[str, list[float]] = {}
        pendings: list[int] = []
        runnings: list[int] = []
        for _ in range(samples):
            clock.now += STEP_S
            insert_jobs(max(pending - pending_count(), 0))
            stats = worker.cycle()
            for name, ms in phases(stats.timings).items():
                per_phase.setdefault(name, []).append(ms)
            row.started += stats.started
            row.ended += stats.ended
            row.preempted += stats.preempted
            pendings.append(len(worker.scheduler.queue))
            runnings.append(len(worker.runs))
    engine.dispose()
    row.totals_ms = per_phase["total"]
    row.median_ms = statistics.median(row.totals_ms)
    row.p95_ms = quantile(row.totals_ms, 0.95)
    row.max_ms = max(row.totals_ms)
    row.phases_median_ms = {k: statistics.median(v) for k, v in per_phase.items()}
    row.phases_p95_ms = {k: quantile(v, 0.95) for k, v in per_phase.items()}
    row.pending_min, row.pending_max = min(pendings), max(pendings)
    row.running_min, row.running_max = min(runnings), max(runnings)
    full = racks == RACKS and pending == PENDING
    row.checks = {"pending_kept": row.pending_min >= 0.95 * pending}
    if full:
        row.checks[f"median_le_{TARGET_MS:g}ms"] = row.median_ms <= TARGET_MS
        row.checks[f"p95_le_{TARGET_MS:g}ms"] = row.p95_ms <= TARGET_MS
    return row


def markdown(rows: list[CycleRow], notes: list[str]) -> str:
    names = [p for p in (*PHASES, "rest") if any(p in r.phases_median_ms for r in rows)]
    lines = [
        "| database | racks (GPUs) | pending | running | first cycle (starts) | median | p95 | max "
        "| starts / ends / preemptions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.database} | {r.racks} ({r.gpus:,}) | {r.pending_min:,}–{r.pending_max:,} "
            f"| {r.running_min:,}–{r.running_max:,} | {r.first_cycle_ms:,.0f} ms ({r.first_cycle_started:,}) "
            f"| **{r.median_ms:.1f} ms** | {r.p95_ms:.1f} ms | {r.max_ms:.1f} ms "
            f"| {r.started} / {r.ended} / {r.preempted} |"
        )
    lines += ["", "Median (p95) per phase, ms:", ""]
    lines += ["| database | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for r in rows:
        cells = [
            f"{r.phases_median_ms[n]:.1f} ({r.phases_p95_ms[n]:.1f})" if n in r.phases_median_ms else "—"
            for n in names
        ]
        lines.append(f"| {r.database} | " + " | ".join(cells) + " |")
    lines += ["", "| database | check | result |", "|---|---|---|"]
    for r in rows:
        lines += [f"| {r.database} | {name} | {'pass' if ok else 'FAIL'} |" for name, ok in r.checks.items()]
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def main(
    *,
    quick: bool = False,
    info: dict[str, Any] | None = None,
    command: str = "",
    out: Path = DEFAULT_OUT,
    samples: int | None = None,
    seed: int = 0,
    databases: tuple[str, ...] = ("postgresql", "sqlite"),
) -> list[CycleRow]:
    """Run the benchmark on each database, print the tables and write ``out``."""
    racks, pending = (QUICK_RACKS, QUICK_PENDING) if quick else (RACKS, PENDING)
    samples = samples or (5 if quick else 30)
    rows: list[CycleRow] = []
    notes: list[str] = []
    for database in databases:
        if database == "postgresql":
            reason = postgres_reachable()
            if reason is not None:
                log(f"postgresql skipped: {reason}")
                notes.append(f"postgresql skipped: {reason}")
                continue
            with fresh_schema("benchcycle") as url:
                rows.append(bench(database, url, racks=racks, pending=pending, samples=samples, seed_=seed))
        else:
            with tempfile.TemporaryDirectory(prefix="aifactory-bench-db-") as folder:
                url = f"sqlite:///{Path(folder) / 'service.db'}"
                rows.append(bench(database, url, racks=racks, pending=pending, samples=samples, seed_=seed))
    text = markdown(rows, notes)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "service_cycle",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "quick": quick,
        "machine": info,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "target_ms": TARGET_MS,
        "rows": [asdict(r) for r in rows],
        "notes": notes,
        "markdown": text,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {out}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service_cycle", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RACKS} racks, {QUICK_PENDING} pending")
    parser.add_argument("--samples", type=int, help="timed cycles (default 30; 5 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--databases", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    main(
        quick=args.quick,
        command=" ".join(["python", "-m", "benchmarks.service_cycle", *sys.argv[1:]]),
        out=args.out,
        samples=args.samples,
        seed=args.seed,
        databases=tuple(args.databases),
    )
    log(f"done in {time.perf_counter() - started:.0f} s")
