"""Checking and converting a raw table's columns (numbers, whole GPUs, timestamps, true/false, text) whole
columns at a time; a bad cell rejects its row as a :class:`Rejection` naming the row, the job and the column.

Part of the trace loader; its public API is :mod:`aifactory.replay.trace`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aifactory.replay.trace_read import BoolArray, FloatArray, IntArray, np_bool

__all__ = ["Checks", "Rejection", "as_bools", "as_text", "as_timestamps", "shown"]

# A decimal number: optional sign, digits with an optional fraction (or a bare fraction), optional exponent.
# "nan", "inf" and thousands separators are not numbers in a trace.
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_NOT_FINITE = r"(?i)^[+-]?(nan|inf|infinity)$"
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_MAX_SHOWN = 40  # longest raw value quoted in a reason

MAX_JOB_GPUS = 10_000_000
"""Most GPUs one job of a trace may ask for (larger counts are typos or overflows; int64-safe)."""


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


def as_text(col: Any) -> Any:
    """A column as trimmed text, nulls as empty strings (Parquet columns may be typed)."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    return pc.fill_null(pc.utf8_trim_whitespace(col), "")


@dataclass
class _Numbers:
    """A numeric column: ``values`` (NaN where not usable), ``empty`` cells, ``invalid`` (not a number) and,
    among those, ``not_finite`` (NaN, infinity, or a number too large for a float such as ``1e999``)."""

    values: FloatArray
    empty: BoolArray
    invalid: BoolArray
    not_finite: BoolArray


def _numbers(col: Any) -> _Numbers:
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
        values = np.asarray(
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        ).copy()
        empty = np_bool(pc.is_null(col))
        invalid = ~empty & ~np.isfinite(values)
        values[invalid] = np.nan
        return _Numbers(values, empty, invalid, invalid.copy())
    text = as_text(col)
    ok = pc.match_substring_regex(text, _NUMBER)
    parsed = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64).copy()
    empty = np_bool(pc.equal(text, ""))
    invalid = ~empty & ~np_bool(ok)
    overflow = ~invalid & ~empty & ~np.isfinite(values)  # "1e999"
    not_finite = overflow | np_bool(pc.match_substring_regex(text, _NOT_FINITE))
    invalid |= overflow
    values[overflow] = np.nan
    return _Numbers(values, empty, invalid, not_finite)


def as_timestamps(col: Any) -> tuple[IntArray, BoolArray, BoolArray]:
    """Seconds since the Unix epoch (naive, as written), an ``ok`` mask and an ``empty`` mask.

    Text must be ``YYYY-MM-DD HH:MM:SS`` (a ``T`` between date and time is accepted) and a real date:
    ``strptime`` would quietly turn 2017-02-30 into March 2nd, so each parsed value is printed back and
    compared with the input.
    """
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        stamps = pc.cast(col, pa.timestamp("s"), safe=False)
        ok = np_bool(pc.is_valid(stamps))
        empty = ~ok
    else:
        text = pc.replace_substring(as_text(col), "T", " ")
        shaped = pc.match_substring_regex(text, _TIMESTAMP)
        stamps = pc.strptime(
            pc.if_else(shaped, text, pa.scalar(None, pa.string())),
            format=_TIMESTAMP_FORMAT,
            unit="s",
            error_is_null=True,
        )
        printed = pc.strftime(stamps, format=_TIMESTAMP_FORMAT)
        ok = np_bool(pc.equal(printed, text))
        empty = np_bool(pc.equal(text, ""))
    seconds = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return np.asarray(seconds, dtype=np.int64), ok, empty


def as_bools(col: Any) -> tuple[BoolArray, BoolArray, BoolArray]:
    """A true/false column: ``values``, ``empty`` and ``invalid`` masks (true/false/1/0/yes/no/t/f/y/n)."""
    if pa.types.is_boolean(col.type):
        empty = np_bool(pc.is_null(col))
        return np_bool(col), empty, np.zeros(len(col), dtype=bool)
    text = pc.utf8_lower(as_text(col))
    if pa.types.is_floating(col.type):  # 1.0 / 0.0 from a Parquet writer
        text = pc.replace_substring_regex(text, r"\.0+$", "")
    true = np_bool(pc.is_in(text, value_set=pa.array(_TRUE)))
    false = np_bool(pc.is_in(text, value_set=pa.array(_FALSE)))
    empty = np_bool(pc.equal(text, ""))
    return true, empty, ~(true | false | empty)


def shown(col: Any, i: int) -> str:
    """The raw cell ``i`` of ``col`` for a message (quoted, shortened)."""
    value = col[i].as_py()
    text = "" if value is None else str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


class Checks:
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
        """Check a numeric column: empty (if required), non-finite and non-numeric cells reject their row."""
        nums = _numbers(col)
        if required:
            self.reject(nums.empty, lambda i: f"{name}: missing value")
        self.reject(nums.not_finite, lambda i: f"{name}: not a finite number: {shown(col, i)}")
        self.reject(nums.invalid, lambda i: f"{name}: not a number: {shown(col, i)}")
        return nums.values

    def gpus(self, col: Any, name: str) -> IntArray:
        """Check a GPU-count column: whole numbers from 1 to :data:`MAX_JOB_GPUS`."""
        values = self.number(col, name)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (values == np.floor(values))
            self.reject(~whole, lambda i: f"{name}: not a whole number of GPUs: {shown(col, i)}")
            self.reject(values <= 0, lambda i: f"{name}: must be at least 1, got {shown(col, i)}")
            self.reject(
                values > MAX_JOB_GPUS, lambda i: f"{name}: more than {MAX_JOB_GPUS:,} GPUs: {shown(col, i)}"
            )
        return np.where(np.isfinite(values) & ~self.bad, values, 0).astype(np.int64)

    def duration(self, col: Any, name: str) -> FloatArray:
        values = self.number(col, name)
        with np.errstate(invalid="ignore"):
            self.reject(values < 0, lambda i: f"{name}: must not be negative, got {shown(col, i)}")
        return values

    def text(self, col: Any, name: str) -> list[str]:
        values: list[str] = as_text(col).to_pylist()
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
