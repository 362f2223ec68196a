"""Writing a replay's outputs (docs/replay.md): metrics.json, jobs.csv, allocations.csv, rejected.csv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from aifactory.replay.runner import ReplayResult


def write_outputs(
    out: Path,
    result: ReplayResult,
    metrics: dict[str, Any],
    trace_rejections: list[tuple[int, str, str]] | None = None,
) -> None:
    """All outputs; ``rejected.csv`` lists trace rows that could not be read (with their row number)
    and jobs the factory can never run (row left empty)."""
    out.mkdir(parents=True, exist_ok=True)
    records = sorted(result.records.values(), key=lambda r: (r.job.submit, r.job.id))
    jobs = pa.table(
        {
            "job_id": [r.job.id for r in records],
            "tenant": [r.job.tenant for r in records],
            "num_gpus": pa.array([r.job.gpus for r in records], pa.int64()),
            "submit": [r.job.submit for r in records],
            "start": [r.first_start for r in records],
            "end": [r.end for r in records],
            "duration": [r.job.duration for r in records],
            "wait": [r.wait for r in records],
            "jct": [r.jct for r in records],
            "preemptions": pa.array([r.preemptions for r in records], pa.int64()),
            "timed_out": pa.array([r.timed_out for r in records], pa.bool_()),
            "interruptions": pa.array([r.interruptions for r in records], pa.int64()),
        }
    )
    segments = sorted(result.segments, key=lambda s: (s.start, s.job_id, s.rack))
    allocations = pa.table(
        {
            "job_id": [s.job_id for s in segments],
            "segment": pa.array([s.segment for s in segments], pa.int64()),
            "start": [s.start for s in segments],
            "end": [s.end for s in segments],
            "rack": pa.array([s.rack for s in segments], pa.int64()),
            "gpus": pa.array([s.gpus for s in segments], pa.int64()),
        }
    )
    trace_rejections = trace_rejections or []
    never = result.rejected + result.held
    rows: list[int | None] = [row for row, _, _ in trace_rejections] + [None] * len(never)
    rejected = pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "job_id": [job_id for _, job_id, _ in trace_rejections] + [job.id for job, _ in never],
            "reason": [reason for _, _, reason in trace_rejections] + [reason for _, reason in never],
        }
    )
    pacsv.write_csv(jobs, out / "jobs.csv")
    pacsv.write_csv(allocations, out / "allocations.csv")
    pacsv.write_csv(rejected, out / "rejected.csv")
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "metrics.json")
