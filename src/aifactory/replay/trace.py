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
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_MAGIC = b"PAR1"
# A decimal number: optional sign, digits with an optional fraction (or a bare fraction), optional exponent.
# "nan", "inf" and thousands separators are not numbers in a trace.
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_MAX_SHOWN = 40  # longest raw value quoted in a reason


class TraceError(ValueError):
    """A trace that cannot be read at all; ``str()`` is one line naming the file and the reason."""


@dataclass(frozen=True)
class Rejection:
    """One data row that was not loaded (or, in :attr:`Trace.warnings`, was loaded but looks wrong).

    ``row`` is the 1-based data row as in the file (the header is not counted), ``job_id`` the row's job id
    (``p<row>`` for Philly; empty if the row has none) and ``reason`` says what is wrong, naming the column.
    """

    row: int
    job_id: str
    reason: str

    def __str__(self) -> str:
        who = f" ({self.job_id})" if self.job_id else ""
        return f"row {self.row}{who}: {self.reason}"


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


# ------------------------------------------------------------------------------------------ raw tables


@dataclass
class _Table:
    """A file's columns (as read, untyped for CSV) and the 1-based file row of each table row."""

    label: str
    columns: dict[str, Any]  # name -> pyarrow.ChunkedArray
    rows: IntArray
    broken: list[tuple[int, str, str]]  # rows the CSV parser could not split: (row, text, reason)

    @property
    def names(self) -> list[str]:
        return list(self.columns)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) == _PARQUET_MAGIC


def _read_header(path: Path, label: str) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError as exc:
        raise TraceError(f"{label}: not a UTF-8 CSV file (byte {exc.start} of the header)") from exc
    except csv.Error as exc:
        raise TraceError(f"{label}: malformed CSV header: {_first_line(exc)}") from exc
    except OSError as exc:
        raise TraceError(f"{label}: cannot read: {exc.strerror or _first_line(exc)}") from exc
    if header is None or not any(h.strip() for h in header):
        raise TraceError(f"{label}: empty file (no header row)")
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TraceError(f"{label}: column {name!r} appears twice in the header")
        seen.add(name)
    return names


def _read_csv(path: Path, label: str) -> _Table:
    """Every column as trimmed text; rows with the wrong number of fields are kept aside with their row."""
    names = _read_header(path, label)
    broken_raw: list[tuple[int | None, str, str]] = []

    def on_bad_row(row: Any) -> str:
        reason = f"expected {row.expected_columns} fields, got {row.actual_columns}"
        broken_raw.append((row.number, str(row.text), reason))
        return "skip"

    def read(threads: bool) -> Any:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=threads),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_bad_row
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        table = read(threads=True)
        if any(number is None for number, _, _ in broken_raw):  # row numbers are known single-threaded only
            broken_raw.clear()
            table = read(threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise TraceError(f"{label}: cannot read as CSV: {_first_line(exc)}") from exc

    # pyarrow numbers records from the top of the file, header included: data row = number - 1.
    broken = [(int(number or 0) - 1, text, reason) for number, text, reason in broken_raw]
    total = table.num_rows + len(broken)
    rows = np.arange(1, total + 1, dtype=np.int64)
    if broken:
        rows = np.delete(rows, [r - 1 for r, _, _ in broken])
    columns = {name: pc.utf8_trim_whitespace(table.column(name)) for name in names}
    # Blank lines (e.g. a trailing newline) come out as all-empty rows: drop them, keep the numbering.
    blank = np.ones(table.num_rows, dtype=bool)
    for col in columns.values():
        blank &= _np_bool(pc.equal(col, ""))
    if blank.any():
        keep = pa.array(~blank)
        columns = {name: col.filter(keep) for name, col in columns.items()}
        rows = rows[~blank]
    return _Table(label, columns, rows, broken)


def _read_parquet(path: Path, label: str) -> _Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise TraceError(f"{label}: cannot read as Parquet: {_first_line(exc)}") from exc
    names = [str(n).strip() for n in table.column_names]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise TraceError(f"{label}: column {dup!r} appears twice")
    columns = {name: table.column(i) for i, name in enumerate(names)}
    return _Table(label, columns, np.arange(1, table.num_rows + 1, dtype=np.int64), [])


def _read_table(path: Path, label: str) -> _Table:
    if not path.exists():
        raise TraceError(f"{label}: no such file")
    if not path.is_file():
        raise TraceError(f"{label}: not a file")
    try:
        parquet = _is_parquet(path)
    except OSError as exc:
        raise TraceError(f"{label}: cannot read: {exc.strerror or _first_line(exc)}") from exc
    return _read_parquet(path, label) if parquet else _read_csv(path, label)


# ------------------------------------------------------------------------------------ column parsing


def _np_bool(arr: Any) -> BoolArray:
    """A pyarrow boolean (chunked) array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _text(col: Any) -> Any:
    """A column as trimmed text, nulls as empty strings (Parquet columns may be typed)."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    return pc.fill_null(pc.utf8_trim_whitespace(col), "")


@dataclass
class _Numbers:
    """A numeric column: ``values`` (NaN where not usable), ``empty`` cells and ``invalid`` (not a number)."""

    values: FloatArray
    empty: BoolArray
    invalid: BoolArray


def _numbers(col: Any) -> _Numbers:
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
        values = np.asarray(
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        ).copy()
        empty = _np_bool(pc.is_null(col))
        invalid = ~empty & ~np.isfinite(values)
        values[invalid] = np.nan
        return _Numbers(values, empty, invalid)
    text = _text(col)
    ok = pc.match_substring_regex(text, _NUMBER)
    parsed = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64).copy()
    empty = _np_bool(pc.equal(text, ""))
    invalid = ~empty & ~_np_bool(ok)
    overflow = ~invalid & ~empty & ~np.isfinite(values)  # "1e999"
    invalid |= overflow
    values[overflow] = np.nan
    return _Numbers(values, empty, invalid)


def _timestamps(col: Any) -> tuple[IntArray, BoolArray, BoolArray]:
    """Seconds since the Unix epoch (naive, as written), an ``ok`` mask and an ``empty`` mask.

    Text must be ``YYYY-MM-DD HH:MM:SS`` (a ``T`` between date and time is accepted) and a real date:
    ``strptime`` would quietly turn 2017-02-30 into March 2nd, so each parsed value is printed back and
    compared with the input.
    """
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        stamps = pc.cast(col, pa.timestamp("s"), safe=False)
        ok = _np_bool(pc.is_valid(stamps))
        empty = ~ok
    else:
        text = pc.replace_substring(_text(col), "T", " ")
        shaped = pc.match_substring_regex(text, _TIMESTAMP)
        stamps = pc.strptime(
            pc.if_else(shaped, text, pa.scalar(None, pa.string())),
            format=_TIMESTAMP_FORMAT,
            unit="s",
            error_is_null=True,
        )
        printed = pc.strftime(stamps, format=_TIMESTAMP_FORMAT)
        ok = _np_bool(pc.equal(printed, text))
        empty = _np_bool(pc.equal(text, ""))
    seconds = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return np.asarray(seconds, dtype=np.int64), ok, empty


def _bools(col: Any) -> tuple[BoolArray, BoolArray, BoolArray]:
    """A true/false column: ``values``, ``empty`` and ``invalid`` masks (true/false/1/0/yes/no/t/f/y/n)."""
    if pa.types.is_boolean(col.type):
        empty = _np_bool(pc.is_null(col))
        return _np_bool(col), empty, np.zeros(len(col), dtype=bool)
    text = pc.utf8_lower(_text(col))
    if pa.types.is_floating(col.type):  # 1.0 / 0.0 from a Parquet writer
        text = pc.replace_substring_regex(text, r"\.0+$", "")
    true = _np_bool(pc.is_in(text, value_set=pa.array(_TRUE)))
    false = _np_bool(pc.is_in(text, value_set=pa.array(_FALSE)))
    empty = _np_bool(pc.equal(text, ""))
    return true, empty, ~(true | false | empty)


def _shown(col: Any, i: int) -> str:
    """The raw cell ``i`` of ``col`` for a message (quoted, shortened)."""
    value = col[i].as_py()
    text = "" if value is None else str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


class _Checks:
    """Per-row problems: the first problem found for a row rejects it; later checks skip rejected rows."""

    def __init__(self, rows: IntArray, ids: list[str]) -> None:
        self.rows = rows
        self.ids = ids
        self.bad = np.zeros(len(rows), dtype=bool)
        self.rejected: list[Rejection] = []

    def reject(self, mask: BoolArray, reason: Callable[[int], str]) -> None:
        new = mask & ~self.bad
        for i in np.flatnonzero(new).tolist():
            self.rejected.append(Rejection(int(self.rows[i]), self.ids[i], reason(i)))
        self.bad |= new

    def number(self, col: Any, name: str, *, required: bool = True) -> FloatArray:
        """Check a numeric column: empty (if required) and non-numeric cells reject their row."""
        nums = _numbers(col)
        if required:
            self.reject(nums.empty, lambda i: f"{name}: missing value")
        self.reject(nums.invalid, lambda i: f"{name}: not a number: {_shown(col, i)}")
        return nums.values

    def gpus(self, col: Any, name: str) -> IntArray:
        values = self.number(col, name)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (values == np.floor(values))
            self.reject(~whole, lambda i: f"{name}: not a whole number of GPUs: {_shown(col, i)}")
            self.reject(values <= 0, lambda i: f"{name}: must be at least 1, got {_shown(col, i)}")
        return np.where(np.isfinite(values) & ~self.bad, values, 0).astype(np.int64)

    def duration(self, col: Any, name: str) -> FloatArray:
        values = self.number(col, name)
        with np.errstate(invalid="ignore"):
            self.reject(values < 0, lambda i: f"{name}: must not be negative, got {_shown(col, i)}")
        return values

    def text(self, col: Any, name: str) -> list[str]:
        values: list[str] = _text(col).to_pylist()
        self.reject(np.array([not v for v in values], dtype=bool), lambda i: f"{name}: empty")
        return values

    def unique_ids(self, ids: list[str], name: str) -> None:
        """Reject every later row repeating an earlier row's job id (the first one is kept)."""
        if len(set(ids)) == len(ids):
            return
        first: dict[str, int] = {}
        dup = np.zeros(len(ids), dtype=bool)
        seen_at: dict[int, int] = {}
        for i, job_id in enumerate(ids):
            if not job_id:
                continue
            if job_id in first:
                dup[i] = True
                seen_at[i] = first[job_id]
            else:
                first[job_id] = i
        self.reject(
            dup, lambda i: f"{name}: duplicate {ids[i]!r} (first at row {int(self.rows[seen_at[i]])})"
        )


# ------------------------------------------------------------------------------------------ formats


@dataclass
class _Parsed:
    """What a format parser hands back: full-length columns plus the rows it rejected (``checks.bad``)."""

    checks: _Checks
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
    parse: Callable[[_Table], _Parsed]


def _broken_rows(checks: _Checks, table: _Table, job_id: Callable[[int, str], str]) -> None:
    for row, text, reason in table.broken:
        checks.rejected.append(Rejection(row, job_id(row, text), reason))


def _parse_philly(table: _Table) -> _Parsed:
    cols = table.columns
    ids = [f"p{r}" for r in table.rows.tolist()]
    checks = _Checks(table.rows, ids)
    _broken_rows(checks, table, lambda row, _text: f"p{row}")
    seconds, ok, empty = _timestamps(cols["timestamp"])
    checks.reject(empty, lambda i: "timestamp: missing value")
    checks.reject(
        ~ok,
        lambda i: f"timestamp: not a date and time (YYYY-MM-DD HH:MM:SS): {_shown(cols['timestamp'], i)}",
    )
    duration = checks.duration(cols["duration"], "duration")
    gpus = checks.gpus(cols["num_gpus"], "num_gpus")
    tenants = checks.text(cols["cluster"], "cluster")
    valid = ok & ~empty
    origin_s = int(seconds[valid].min()) if valid.any() else 0
    submit = (seconds - origin_s).astype(np.float64)
    # Naive wall-clock time as written in the file (the trace does not say which time zone).
    origin = datetime(1970, 1, 1) + timedelta(seconds=origin_s) if valid.any() else None
    return _Parsed(checks, ids, tenants, gpus, submit, duration, origin=origin)


def _parse_generic(table: _Table) -> _Parsed:
    cols = table.columns
    n = len(table.rows)
    ids: list[str] = _text(cols["job_id"]).to_pylist()
    checks = _Checks(table.rows, ids)
    _broken_rows(checks, table, lambda _row, text: text.split(",", 1)[0].strip().strip('"'))
    checks.reject(np.array([not v for v in ids], dtype=bool), lambda i: "job_id: empty")
    checks.unique_ids(ids, "job_id")
    submit = checks.number(cols["submit_time"], "submit_time")
    with np.errstate(invalid="ignore"):
        checks.reject(
            submit < 0, lambda i: f"submit_time: negative ({_shown(cols['submit_time'], i)} seconds)"
        )
    gpus = checks.gpus(cols["num_gpus"], "num_gpus")
    duration = checks.duration(cols["duration"], "duration")
    tenants = checks.text(cols["tenant"], "tenant")

    priority = np.zeros(n, dtype=np.int64)
    if "priority" in cols:
        values = checks.number(cols["priority"], "priority", required=False)
        with np.errstate(invalid="ignore"):
            fractional = np.isfinite(values) & (values != np.floor(values))
        checks.reject(fractional, lambda i: f"priority: not an integer: {_shown(cols['priority'], i)}")
        priority = np.where(np.isfinite(values) & ~checks.bad, values, 0).astype(np.int64)

    time_limit = np.full(n, np.nan)
    if "time_limit" in cols:
        time_limit = checks.number(cols["time_limit"], "time_limit", required=False)
        with np.errstate(invalid="ignore"):
            checks.reject(
                time_limit <= 0,
                lambda i: f"time_limit: must be positive seconds, got {_shown(cols['time_limit'], i)}",
            )

    preemptible = np.ones(n, dtype=bool)
    if "preemptible" in cols:
        values_b, empty_b, invalid_b = _bools(cols["preemptible"])
        checks.reject(
            invalid_b,
            lambda i: f"preemptible: expected true/false/yes/no/1/0, got {_shown(cols['preemptible'], i)}",
        )
        preemptible = values_b | empty_b

    return _Parsed(
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


def _format(fmt: str | None, label: str) -> TraceFormat | None:
    if fmt is None:
        return None
    if fmt not in FORMATS:
        raise TraceError(f"{label}: unknown trace format {fmt!r} (valid: {', '.join(sorted(FORMATS))})")
    return FORMATS[fmt]


def _order_warnings(parsed: _Parsed, keep: BoolArray) -> list[Rejection]:
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
    chosen = _format(fmt, label)
    table = _read_table(Path(path), label)
    trace_format = chosen or FORMATS[detect_format(table.names)]
    missing = [c for c in trace_format.required if c not in table.columns]
    if missing:
        what = "column" if len(missing) == 1 else "columns"
        detected = "" if chosen else ", detected from the header"
        raise TraceError(
            f"{label}: missing {what} {', '.join(repr(c) for c in missing)} for the {trace_format.name} "
            f"format{detected} (columns: {', '.join(table.names) or 'none'})"
        )
    parsed = trace_format.parse(table)
    keep = ~parsed.checks.bad
    warnings = _order_warnings(parsed, keep) if parsed.check_order else []
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(parsed.submit[idx], kind="stable")]
    jobs = _jobs(parsed, idx)
    rejected = sorted(parsed.checks.rejected, key=lambda r: r.row)
    tenants = sorted({j.tenant for j in jobs})
    return Trace(jobs, rejected, label, trace_format.name, tenants, warnings, parsed.origin)


def _jobs(parsed: _Parsed, idx: IntArray) -> list[Job]:
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
