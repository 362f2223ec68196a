"""Opening a trace file (CSV or Parquet) into a raw table of columns, untyped for CSV, each row numbered as
in the file; a file that cannot be read at all raises :class:`TraceError`.

Part of the trace loader; its public API is :mod:`aifactory.replay.trace`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "PARQUET_SUFFIXES",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "RawTable",
    "TraceError",
    "np_bool",
    "read_table",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_MAGIC = b"PAR1"


class TraceError(ValueError):
    """A trace that cannot be read at all; ``str()`` is one line naming the file and the reason."""


@dataclass
class RawTable:
    """A file's columns (as read, untyped for CSV) and the 1-based file row of each table row."""

    label: str
    columns: dict[str, Any]  # name -> pyarrow.ChunkedArray
    rows: IntArray
    broken: list[tuple[int, str, str]]  # rows the CSV parser could not split: (row, text, reason)

    @property
    def names(self) -> list[str]:
        return list(self.columns)


def np_bool(arr: Any) -> BoolArray:
    """A pyarrow boolean (chunked) array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


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


def _read_csv(path: Path, label: str) -> RawTable:
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
        blank &= np_bool(pc.equal(col, ""))
    if blank.any():
        keep = pa.array(~blank)
        columns = {name: col.filter(keep) for name, col in columns.items()}
        rows = rows[~blank]
    return RawTable(label, columns, rows, broken)


def _read_parquet(path: Path, label: str) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise TraceError(f"{label}: cannot read as Parquet: {_first_line(exc)}") from exc
    names = [str(n).strip() for n in table.column_names]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise TraceError(f"{label}: column {dup!r} appears twice")
    columns = {name: table.column(i) for i, name in enumerate(names)}
    return RawTable(label, columns, np.arange(1, table.num_rows + 1, dtype=np.int64), [])


def read_table(path: Path, label: str) -> RawTable:
    """The raw table of ``path``: Parquet by suffix or magic bytes, else CSV; ``label`` names the file."""
    if not path.exists():
        raise TraceError(f"{label}: no such file")
    if not path.is_file():
        raise TraceError(f"{label}: not a file")
    try:
        parquet = _is_parquet(path)
    except OSError as exc:
        raise TraceError(f"{label}: cannot read: {exc.strerror or _first_line(exc)}") from exc
    return _read_parquet(path, label) if parquet else _read_csv(path, label)
