"""The trace formats, listed in :data:`FORMATS` (``philly`` and ``generic``, see ``docs/replay.md``): each
names its columns and parses a raw table into full-length job columns plus the rows it rejects.

Part of the trace loader; its public API is :mod:`aifactory.replay.trace`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from aifactory.replay.trace_columns import Checks, Rejection, as_bools, as_text, as_timestamps, shown
from aifactory.replay.trace_read import BoolArray, FloatArray, IntArray, RawTable, TraceError

__all__ = [
    "FORMATS",
    "GENERIC_COLUMNS",
    "GENERIC_OPTIONAL",
    "PHILLY_COLUMNS",
    "Parsed",
    "TraceFormat",
    "detect_format",
    "format_named",
]


@dataclass
class Parsed:
    """What a format parser hands back: full-length columns plus the rows it rejected (``checks.bad``)."""

    checks: Checks
    ids: list[str]
    tenants: list[str]
    gpus: IntArray
    submit: FloatArray
    duration: FloatArray
    priority: IntArray | None = None
    time_limit: FloatArray | None = None  # NaN = no limit
    preemptible: BoolArray | None = None
    origin: datetime | None = None
    check_order: bool = False  # report rows whose submit time goes back (generic files only)


@dataclass(frozen=True)
class TraceFormat:
    """A registered trace format: its columns and the parser turning a raw table into jobs."""

    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    parse: Callable[[RawTable], Parsed]


def _broken_rows(checks: Checks, table: RawTable, job_id: Callable[[int, str], str]) -> None:
    for row, text, reason in table.broken:
        checks.rejected.append(Rejection(row, job_id(row, text), reason))


def _parse_philly(table: RawTable) -> Parsed:
    cols = table.columns
    ids = [f"p{r}" for r in table.rows.tolist()]
    checks = Checks(table.rows, ids)
    _broken_rows(checks, table, lambda row, _text: f"p{row}")
    seconds, ok, empty = as_timestamps(cols["timestamp"])
    checks.reject(empty, lambda i: "timestamp: missing value")
    checks.reject(
        ~ok,
        lambda i: f"timestamp: not a date and time (YYYY-MM-DD HH:MM:SS): {shown(cols['timestamp'], i)}",
    )
    duration = checks.duration(cols["duration"], "duration")
    gpus = checks.gpus(cols["num_gpus"], "num_gpus")
    tenants = checks.text(cols["cluster"], "cluster")
    valid = ok & ~empty
    origin_s = int(seconds[valid].min()) if valid.any() else 0
    submit = (seconds - origin_s).astype(np.float64)
    # Naive wall-clock time as written in the file (the trace does not say which time zone).
    origin = datetime(1970, 1, 1) + timedelta(seconds=origin_s) if valid.any() else None
    return Parsed(checks, ids, tenants, gpus, submit, duration, origin=origin)


def _parse_generic(table: RawTable) -> Parsed:
    cols = table.columns
    n = len(table.rows)
    ids: list[str] = as_text(cols["job_id"]).to_pylist()
    checks = Checks(table.rows, ids)
    _broken_rows(checks, table, lambda _row, text: text.split(",", 1)[0].strip().strip('"'))
    checks.reject(np.array([not v for v in ids], dtype=bool), lambda i: "job_id: empty")
    checks.unique_ids(ids, "job_id")
    submit = checks.number(cols["submit_time"], "submit_time")
    with np.errstate(invalid="ignore"):
        checks.reject(
            submit < 0, lambda i: f"submit_time: negative ({shown(cols['submit_time'], i)} seconds)"
        )
    gpus = checks.gpus(cols["num_gpus"], "num_gpus")
    duration = checks.duration(cols["duration"], "duration")
    tenants = checks.text(cols["tenant"], "tenant")

    priority = np.zeros(n, dtype=np.int64)
    if "priority" in cols:
        values = checks.number(cols["priority"], "priority", required=False)
        with np.errstate(invalid="ignore"):
            fractional = np.isfinite(values) & (values != np.floor(values))
        checks.reject(fractional, lambda i: f"priority: not an integer: {shown(cols['priority'], i)}")
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) >= 2.0**63
        checks.reject(
            huge, lambda i: f"priority: too large for a 64-bit integer: {shown(cols['priority'], i)}"
        )
        priority = np.where(np.isfinite(values) & ~checks.bad, values, 0).astype(np.int64)

    time_limit = np.full(n, np.nan)
    if "time_limit" in cols:
        time_limit = checks.number(cols["time_limit"], "time_limit", required=False)
        with np.errstate(invalid="ignore"):
            checks.reject(
                time_limit <= 0,
                lambda i: f"time_limit: must be positive seconds, got {shown(cols['time_limit'], i)}",
            )

    preemptible = np.ones(n, dtype=bool)
    if "preemptible" in cols:
        values_b, empty_b, invalid_b = as_bools(cols["preemptible"])
        checks.reject(
            invalid_b,
            lambda i: f"preemptible: expected true/false/yes/no/1/0, got {shown(cols['preemptible'], i)}",
        )
        preemptible = values_b | empty_b

    return Parsed(
        checks,
        ids,
        tenants,
        gpus,
        submit,
        duration,
        priority=priority,
        time_limit=time_limit,
        preemptible=preemptible,
        check_order=True,
    )


PHILLY_COLUMNS = ("timestamp", "duration", "num_gpus", "cluster")
GENERIC_COLUMNS = ("job_id", "submit_time", "num_gpus", "duration", "tenant")
GENERIC_OPTIONAL = ("priority", "time_limit", "preemptible")

FORMATS: dict[str, TraceFormat] = {
    "philly": TraceFormat(
        name="philly",
        description="Philly-derived CSV: timestamp, duration, num_gpus, gpu_time, cluster (= tenant)",
        required=PHILLY_COLUMNS,
        optional=("gpu_time",),
        parse=_parse_philly,
    ),
    "generic": TraceFormat(
        name="generic",
        description="CSV or Parquet: job_id, submit_time, num_gpus, duration, tenant "
        "[, priority, time_limit, preemptible]",
        required=GENERIC_COLUMNS,
        optional=GENERIC_OPTIONAL,
        parse=_parse_generic,
    ),
}


def detect_format(columns: Iterable[str]) -> str:
    """The format a header suggests: ``philly`` if it has ``timestamp`` and ``cluster``, else ``generic``."""
    names = set(columns)
    return "philly" if {"timestamp", "cluster"} <= names else "generic"


def format_named(fmt: str | None, label: str) -> TraceFormat | None:
    """The format called ``fmt`` (``None`` for none given); an unknown name raises :class:`TraceError`."""
    if fmt is None:
        return None
    if fmt not in FORMATS:
        raise TraceError(f"{label}: unknown trace format {fmt!r} (valid: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt]


def check_columns(table: RawTable, trace_format: TraceFormat, *, detected: bool) -> None:
    """Raise :class:`TraceError` naming the columns ``trace_format`` requires that ``table`` lacks."""
    missing = [c for c in trace_format.required if c not in table.columns]
    if missing:
        what = "column" if len(missing) == 1 else "columns"
        how = ", detected from the header" if detected else ""
        raise TraceError(
            f"{table.label}: missing {what} {', '.join(repr(c) for c in missing)} "
            f"for the {trace_format.name} format{how} (columns: {', '.join(table.names) or 'none'})"
        )
