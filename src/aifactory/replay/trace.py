"""Reading job traces (CSV or Parquet) into :class:`~aifactory.scheduler.job.Job` lists.

This is the I/O layer of replay: it turns a file into a sorted list of jobs plus a list of the rows it
could not use, so that the runner and the scheduler never see raw text. Two formats are registered in
:data:`FORMATS` (see ``docs/replay.md``):

``philly``
    the Philly-derived CSV (``timestamp, duration, num_gpus, gpu_time, cluster``); job ids are ``p<row>``,
    ``submit`` is seconds since the earliest valid timestamp in the file (rows rejected for another reason
    included), the tenant is the ``cluster``; rows are not sorted in the file, so no order warnings.
``generic``
    CSV or Parquet with ``job_id, submit_time, num_gpus, duration, tenant`` and optional ``priority``,
    ``time_limit`` (empty = none), ``preemptible`` (true/false/yes/no/1/0, default true). A repeated job id
    is rejected (the first row is kept); rows whose ``submit_time`` goes back in time are loaded (jobs are
    sorted) and listed in :attr:`Trace.warnings`.

A file that cannot be read at all raises :class:`TraceError` (one line naming the file and the reason).
A row that cannot be used is skipped and recorded as a :class:`Rejection` (row number, job id, reason);
loading goes on. Whether a job fits the cluster is not judged here: the runner decides that.

Parsing is vectorised (``pyarrow.csv`` reads every column as text, ``pyarrow.compute`` and numpy check and
convert whole columns), so the 82k-row Philly file loads in a fraction of a second.

This module is the loader's public API. Opening files is in :mod:`~aifactory.replay.trace_read`, checking
and converting columns in :mod:`~aifactory.replay.trace_columns`, and the formats in
:mod:`~aifactory.replay.trace_formats`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aifactory.replay.trace_columns import Rejection
from aifactory.replay.trace_formats import (
    FORMATS,
    GENERIC_COLUMNS,
    GENERIC_OPTIONAL,
    Parsed,
    TraceFormat,
    check_columns,
    detect_format,
    format_named,
)
from aifactory.replay.trace_read import PARQUET_SUFFIXES, BoolArray, IntArray, TraceError, read_table
from aifactory.scheduler.job import Job

__all__ = [
    "FORMATS",
    "GENERIC_COLUMNS",
    "Rejection",
    "Trace",
    "TraceError",
    "TraceFormat",
    "detect_format",
    "load_trace",
    "write_generic",
]


@dataclass
class Trace:
    """A loaded trace: the usable jobs sorted by submit time (then file order) and what was left out.

    ``origin`` is the wall-clock time of ``submit == 0`` when the file gives one (Philly timestamps), so that
    hour-of-day and weekday patterns can be measured; ``None`` for ``generic`` traces (relative times).
    """

    jobs: list[Job]
    rejected: list[Rejection]
    source: str
    format: str
    tenants: list[str]
    warnings: list[Rejection] = field(default_factory=list)
    origin: datetime | None = None

    @property
    def gpu_seconds(self) -> float:
        """Total work in the trace: sum of ``gpus × duration`` over the loaded jobs."""
        return float(sum(j.gpus * j.duration for j in self.jobs))

    @property
    def span(self) -> float:
        """Seconds from the first to the last submission (0 for fewer than two jobs)."""
        return self.jobs[-1].submit - self.jobs[0].submit if len(self.jobs) > 1 else 0.0


def _order_warnings(parsed: Parsed, keep: BoolArray) -> list[Rejection]:
    """Loaded rows whose submit time is earlier than the previous loaded row's (the file is not sorted)."""
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return []
    submit = parsed.submit[idx]
    back = np.flatnonzero(submit[1:] < submit[:-1]) + 1
    rows = parsed.checks.rows
    return [
        Rejection(
            int(rows[idx[k]]),
            parsed.ids[idx[k]],
            f"submit_time goes back in time (row {int(rows[idx[k]])} at {submit[k]:g} s is earlier than "
            f"row {int(rows[idx[k - 1]])} at {submit[k - 1]:g} s); jobs are sorted by submit time",
        )
        for k in back.tolist()
    ]


def load_trace(path: str | Path, fmt: str | None = None) -> Trace:
    """Load a trace file; ``fmt`` is a name in :data:`FORMATS` or ``None`` to detect it from the header.

    Returns the usable jobs sorted by submit time (ties in file order) with the rejected rows, and, for
    ``generic`` files, warnings for rows that go back in time. Raises :class:`TraceError` when the file
    cannot be read at all (missing, unreadable, unknown format, missing column).
    """
    label = str(path)
    chosen = format_named(fmt, label)
    table = read_table(Path(path), label)
    trace_format = chosen or FORMATS[detect_format(table.names)]
    check_columns(table, trace_format, detected=chosen is None)
    parsed = trace_format.parse(table)
    keep = ~parsed.checks.bad
    warnings = _order_warnings(parsed, keep) if parsed.check_order else []
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(parsed.submit[idx], kind="stable")]
    jobs = _jobs(parsed, idx)
    rejected = sorted(parsed.checks.rejected, key=lambda r: r.row)
    tenants = sorted({j.tenant for j in jobs})
    return Trace(jobs, rejected, label, trace_format.name, tenants, warnings, parsed.origin)


def _jobs(parsed: Parsed, idx: IntArray) -> list[Job]:
    """Build the :class:`Job` objects for rows ``idx`` (in that order) in one pass."""
    ids = [parsed.ids[i] for i in idx.tolist()]
    tenants = [parsed.tenants[i] for i in idx.tolist()]
    gpus = parsed.gpus[idx].tolist()
    submit = parsed.submit[idx].tolist()
    duration = parsed.duration[idx].tolist()
    if parsed.priority is None or parsed.time_limit is None or parsed.preemptible is None:
        return [Job(*row) for row in zip(ids, tenants, gpus, submit, duration, strict=True)]
    priority = parsed.priority[idx].tolist()
    limits = [None if math.isnan(x) else x for x in parsed.time_limit[idx].tolist()]
    preemptible = parsed.preemptible[idx].tolist()
    return [
        Job(*row)
        for row in zip(ids, tenants, gpus, submit, duration, priority, limits, preemptible, strict=True)
    ]


# ------------------------------------------------------------------------------------------ writing


def write_generic(path: str | Path, jobs: Iterable[Job]) -> Path:
    """Write ``jobs`` as a ``generic`` trace: Parquet if ``path`` ends in .parquet/.pq, else CSV.

    Used to convert traces (``load_trace`` then ``write_generic``) and by tests; floats are written so
    that they read back exactly.
    """
    out = Path(path)
    rows = list(jobs)
    columns = (*GENERIC_COLUMNS, *GENERIC_OPTIONAL)
    if out.suffix.lower() in PARQUET_SUFFIXES:
        table = pa.table(
            {
                "job_id": pa.array([j.id for j in rows], pa.string()),
                "submit_time": pa.array([j.submit for j in rows], pa.float64()),
                "num_gpus": pa.array([j.gpus for j in rows], pa.int64()),
                "duration": pa.array([j.duration for j in rows], pa.float64()),
                "tenant": pa.array([j.tenant for j in rows], pa.string()),
                "priority": pa.array([j.priority for j in rows], pa.int64()),
                "time_limit": pa.array([j.time_limit for j in rows], pa.float64()),
                "preemptible": pa.array([j.preemptible for j in rows], pa.bool_()),
            }
        )
        pq.write_table(table, out)
        return out
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for j in rows:
            writer.writerow(
                (
                    j.id,
                    repr(float(j.submit)),
                    j.gpus,
                    repr(float(j.duration)),
                    j.tenant,
                    j.priority,
                    "" if j.time_limit is None else repr(float(j.time_limit)),
                    "true" if j.preemptible else "false",
                )
            )
    return out
