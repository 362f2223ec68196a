"""Trace loading (docs/replay.md): the real Philly file, hand-written bad files, generic CSV and Parquet.

The Philly tests need the data folder (``AIFACTORY_DATA_DIR``, set by the Makefile; by hand:
``AIFACTORY_DATA_DIR=/work/shared/data``) and skip with the reason when it is absent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifactory.replay.trace import (
    FORMATS,
    Rejection,
    Trace,
    TraceError,
    detect_format,
    load_trace,
    write_generic,
)
from aifactory.scheduler.job import Job
from data_paths import philly_path

PHILLY_HEADER = "timestamp,duration,num_gpus,gpu_time,cluster\n"
GENERIC_HEADER = "job_id,submit_time,num_gpus,duration,tenant\n"


@pytest.fixture(scope="module")
def philly() -> Trace:
    return load_trace(philly_path())  # how fast: benchmarks/scheduler.py times the load (trace_load_s)


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_line(path: Path, fmt: str | None = None) -> str:
    """Load ``path`` expecting a TraceError; check its message is one line naming the file; return it."""
    with pytest.raises(TraceError) as info:
        load_trace(path, fmt)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    return message


def rejected_rows(trace: Trace) -> dict[int, str]:
    return {r.row: r.reason for r in trace.rejected}


# ------------------------------------------------------------------------------------------ Philly


def test_philly_loads_whole_file(philly: Trace) -> None:
    assert philly.format == "philly"
    assert len(philly.jobs) == 82_247
    assert philly.rejected == []
    assert philly.warnings == []
    assert len(philly.tenants) == 15
    submits = [j.submit for j in philly.jobs]
    assert submits[0] == 0.0
    assert submits == sorted(submits)
    assert philly.gpu_seconds / 3600 == pytest.approx(978_078, rel=0.005)
    assert len({j.id for j in philly.jobs}) == len(philly.jobs)
    assert philly.origin == datetime(2017, 9, 4, 10, 30, 41)
    assert philly.span / 86_400 == pytest.approx(108.9, abs=0.1)


def test_philly_rows_keep_their_numbers(philly: Trace) -> None:
    """Job ``p1`` is the first data row: 2017-10-09 07:01:55, 66 s, 1 GPU, cluster 11cb48."""
    first = next(j for j in philly.jobs if j.id == "p1")
    assert first == Job(
        "p1",
        "11cb48",
        1,
        (datetime(2017, 10, 9, 7, 1, 55) - datetime(2017, 9, 4, 10, 30, 41)).total_seconds(),
        66.0,
    )
    assert max(int(j.id[1:]) for j in philly.jobs) == 82_247


def test_philly_bad_rows_are_rejected_and_the_rest_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        PHILLY_HEADER
        + "2017-10-01 00:00:10,100,1,100,a\n"  # 1 ok
        + "2017-10-01 00:00:20,-5,1,-5,a\n"  # 2 negative duration
        + "2017-10-01 00:00:30,100,0,0,a\n"  # 3 zero GPUs
        + "2017-10-01 00:00:40,100,1.5,150,a\n"  # 4 non-integer GPUs
        + "2017-10-01 25:00:00,100,1,100,a\n"  # 5 bad timestamp
        + "2017-02-30 00:00:00,100,1,100,a\n"  # 6 no such date
        + "2017-10-01 00:01:00,100,2,200,\n"  # 7 empty tenant
        + "2017-10-01 00:01:10,abc,1,100,b\n"  # 8 non-numeric duration
        + "2017-10-01 00:01:20,100,-2,100,b\n"  # 9 negative GPUs
        + "2017-10-01 00:00:00,7,2.0,14,b\n",  # 10 ok: earliest time, "2.0" GPUs is 2
    )
    trace = load_trace(path)
    rows = rejected_rows(trace)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "duration" in rows[2] and "negative" in rows[2]
    assert "num_gpus" in rows[3]
    assert "num_gpus" in rows[4] and "whole number" in rows[4]
    assert "timestamp" in rows[5] and "'2017-10-01 25:00:00'" in rows[5]
    assert "timestamp" in rows[6]
    assert "cluster" in rows[7] and "empty" in rows[7]
    assert "duration" in rows[8] and "not a number" in rows[8]
    assert "num_gpus" in rows[9]
    assert all(r.job_id == f"p{r.row}" for r in trace.rejected)
    assert [(j.id, j.submit, j.gpus, j.tenant) for j in trace.jobs] == [
        ("p10", 0.0, 2, "b"),
        ("p1", 10.0, 1, "a"),
    ]
    assert trace.tenants == ["a", "b"]


def test_rows_with_wrong_field_count_and_blank_lines_keep_numbering(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        PHILLY_HEADER
        + "2017-10-01 00:00:00,100,1,100,a\n"  # 1
        + "\n"  # 2 blank: skipped silently
        + "2017-10-01 00:00:10,100,1,100\n"  # 3 four fields
        + "2017-10-01 00:00:20,100,1,100,a,extra\n"  # 4 six fields
        + "2017-10-01 00:00:30,100,1,100,a\n"  # 5
        + "\n",
    )
    trace = load_trace(path)
    assert [j.id for j in trace.jobs] == ["p1", "p5"]
    assert [(r.row, r.job_id) for r in trace.rejected] == [(3, "p3"), (4, "p4")]
    assert "expected 5 fields, got 4" in trace.rejected[0].reason


def test_missing_column_is_one_line_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,duration,gpu_time,cluster\n2017-10-01 00:00:00,1,1,a\n", "philly.csv")
    message = error_line(path)
    assert "missing column 'num_gpus'" in message
    assert "columns: timestamp, duration, gpu_time, cluster" in message


def test_unreadable_files_raise_trace_error(tmp_path: Path) -> None:
    assert "no such file" in error_line(tmp_path / "absent.csv")
    assert "not a file" in error_line(tmp_path)
    assert "empty file" in error_line(write(tmp_path, ""))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x00\n")
    assert "UTF-8" in error_line(binary)
    broken = write(tmp_path, "not parquet", "broken.parquet")
    assert "Parquet" in error_line(broken)


def test_unknown_format_lists_valid_names(tmp_path: Path) -> None:
    path = write(tmp_path, GENERIC_HEADER)
    message = error_line(path, "slurm")
    assert "unknown trace format 'slurm'" in message
    assert all(name in message for name in FORMATS)


# ------------------------------------------------------------------------------------------ generic


def test_generic_csv_with_optional_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job_id,submit_time,num_gpus,duration,tenant,priority,time_limit,preemptible\n"
        "a,0,8,3600,t1,2,7200,no\n"
        "b,10.5,72,60,t2,,,\n"
        "c,11,1,0,t1,-1,30,TRUE\n",
    )
    trace = load_trace(path)
    assert trace.format == "generic"
    assert trace.rejected == [] and trace.warnings == []
    assert trace.origin is None
    assert trace.jobs == [
        Job("a", "t1", 8, 0.0, 3600.0, 2, 7200.0, False),
        Job("b", "t2", 72, 10.5, 60.0, 0, None, True),
        Job("c", "t1", 1, 11.0, 0.0, -1, 30.0, True),
    ]


def test_generic_bad_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job_id,submit_time,num_gpus,duration,tenant,priority,time_limit,preemptible\n"
        "j1,0,1,10,t,,,\n"  # 1 ok
        "j2,1,1,10,t,,0,\n"  # 2 non-positive time limit
        "j1,2,1,10,t,,,\n"  # 3 duplicate of row 1
        "j4,-1,1,10,t,,,\n"  # 4 negative submit time
        "j5,soon,1,10,t,,,\n"  # 5 unparsable submit time
        "j6,5,1,10,t,1.5,,\n"  # 6 fractional priority
        "j7,6,1,10,t,,,maybe\n"  # 7 not a boolean
        ",7,1,10,t,,,\n"  # 8 no id
        "j9,8,1,10,  ,,,\n"  # 9 blank tenant
        "j10,9,1,10,t,,-3,\n",  # 10 negative time limit
    )
    trace = load_trace(path)
    rows = rejected_rows(trace)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "time_limit" in rows[2] and "time_limit" in rows[10]
    assert "job_id: duplicate 'j1'" in rows[3] and "row 1" in rows[3]
    assert "submit_time" in rows[4] and "negative" in rows[4]
    assert "submit_time" in rows[5] and "'soon'" in rows[5]
    assert "priority" in rows[6]
    assert "preemptible" in rows[7] and "'maybe'" in rows[7]
    assert "job_id" in rows[8]
    assert "tenant" in rows[9]
    assert next(r for r in trace.rejected if r.row == 3).job_id == "j1"
    assert [j.id for j in trace.jobs] == ["j1"]


def test_unsorted_submit_times_are_sorted_with_warnings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GENERIC_HEADER + "a,100,1,1,t\nb,50,1,1,t\nc,60,1,1,t\nd,-1,1,1,t\ne,10,1,1,t\nf,10,1,1,t\n",
    )
    trace = load_trace(path)
    assert [j.id for j in trace.jobs] == ["e", "f", "b", "c", "a"]  # ties keep file order
    assert [(w.row, w.job_id) for w in trace.warnings] == [(2, "b"), (5, "e")]
    assert "row 2" in trace.warnings[0].reason and "row 1" in trace.warnings[0].reason
    assert "row 5" in trace.warnings[1].reason and "row 3" in trace.warnings[1].reason  # row 4 was rejected
    assert [r.row for r in trace.rejected] == [4]


def sample_jobs() -> list[Job]:
    return [
        Job("x-1", "lab, inc", 4, 0.0, 3600.25, 1, 7200.0, False),
        Job("x-2", "uni", 72, 1.0 / 3.0, 1e-05, 0, None, True),
        Job("x-3", "uni", 1, 86_400.5, 12.0, -3, 1.5, True),
    ]


@pytest.mark.parametrize("name", ["round.csv", "round.parquet"])
def test_write_generic_round_trip(tmp_path: Path, name: str) -> None:
    jobs = sample_jobs()
    path = write_generic(tmp_path / name, jobs)
    trace = load_trace(path)
    assert trace.format == "generic"
    assert trace.jobs == jobs
    assert trace.rejected == []


def test_typed_parquet_columns(tmp_path: Path) -> None:
    """A Parquet file written by another tool: integer ids, integer times, 0/1 flags, nulls."""
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "job_id": pa.array([7, 8, 9, 7]),
            "submit_time": pa.array([5, 0, 3, 9]),
            "num_gpus": pa.array([2, 1, 0, 1]),
            "duration": pa.array([1.5, None, 4.0, 1.0]),
            "tenant": pa.array(["a", "b", "c", "d"]),
            "preemptible": pa.array([0, 1, None, 1]),
        }
    )
    pq.write_table(table, path)
    trace = load_trace(path)
    assert [(j.id, j.submit, j.gpus, j.preemptible) for j in trace.jobs] == [("7", 5.0, 2, False)]
    rows = rejected_rows(trace)
    assert sorted(rows) == [2, 3, 4]
    assert "duration" in rows[2] and "missing" in rows[2]
    assert "num_gpus" in rows[3]
    assert "duplicate" in rows[4]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e400", "-1e999"])
@pytest.mark.parametrize("column", ["submit_time", "num_gpus", "duration", "priority", "time_limit"])
def test_nan_and_infinity_skip_their_row_naming_the_column(tmp_path: Path, column: str, value: str) -> None:
    """Not a silent zero and not a crash: the row is skipped like any other bad row, and says why."""
    cells = {"job_id": "j1", "submit_time": "0", "num_gpus": "4", "duration": "10", "tenant": "a",
             "priority": "0", "time_limit": "60"}  # fmt: skip
    cells[column] = value
    trace = load_trace(write(tmp_path, f"{','.join(cells)}\n{','.join(cells.values())}\nj2,1,4,10,a,0,60\n"))
    assert [j.id for j in trace.jobs] == ["j2"]
    assert [str(r) for r in trace.rejected] == [f"row 1 (j1): {column}: not a finite number: {value!r}"]


def test_nan_and_infinity_in_typed_parquet_columns_skip_their_row(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    nan, inf = float("nan"), float("inf")
    pq.write_table(
        pa.table({"job_id": ["j1", "j2", "j3", "j4"], "submit_time": [nan, 0.0, 1.0, 2.0],
                  "num_gpus": [4.0, inf, 4.0, 4.0], "duration": [10.0, 10.0, -inf, 10.0],
                  "tenant": ["a"] * 4}),
        path,
    )  # fmt: skip
    trace = load_trace(path)
    assert [j.id for j in trace.jobs] == ["j4"]
    assert [r.reason for r in trace.rejected] == [
        "submit_time: not a finite number: 'nan'",
        "num_gpus: not a finite number: 'inf'",
        "duration: not a finite number: '-inf'",
    ]


def test_a_priority_beyond_int64_skips_its_row(tmp_path: Path) -> None:
    """It once wrapped around to -9223372036854775808 without a word."""
    trace = load_trace(
        write(tmp_path, "job_id,submit_time,num_gpus,duration,tenant,priority\nj1,0,4,10,a,1e30\n")
    )
    assert trace.jobs == []
    assert [r.reason for r in trace.rejected] == ["priority: too large for a 64-bit integer: '1e30'"]


def test_format_detection(tmp_path: Path) -> None:
    philly = write(tmp_path, PHILLY_HEADER + "2017-10-01 00:00:00,1,1,1,a\n", "p.csv")
    generic = write(tmp_path, GENERIC_HEADER + "a,0,1,1,t\n", "g.csv")
    assert load_trace(philly).format == "philly"
    assert load_trace(generic).format == "generic"
    assert detect_format(["timestamp", "cluster", "num_gpus"]) == "philly"
    assert detect_format(["job_id", "timestamp"]) == "generic"
    # Forcing a format checks that format's columns.
    assert "missing columns 'job_id', 'submit_time', 'tenant'" in error_line(philly, "generic")
    # A header that is neither: detected as generic, and the message says so.
    other = write(tmp_path, "a,b\n1,2\n", "other.csv")
    assert "detected" in error_line(other)


def test_rejection_text() -> None:
    assert str(Rejection(3, "p3", "num_gpus: must be at least 1, got '0'")) == (
        "row 3 (p3): num_gpus: must be at least 1, got '0'"
    )
