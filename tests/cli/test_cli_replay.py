"""``aifactory replay``: the outputs docs/replay.md lists, policies, bad traces and options."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli_invoke import invoke

GENERIC = """job_id,submit_time,num_gpus,duration,tenant
j1,0,4,100,a
j2,10,72,50,b
j3,20,144,30,a
j4,30,2,20,b
j5,40,999,10,a
"""

METRIC_KEYS = {
    "jobs", "completed", "gpus", "policy", "wall_seconds", "avg_jct_s", "p50_jct_s", "p99_jct_s",
    "avg_wait_s", "p99_wait_s", "makespan_s", "utilization", "tenants",
}  # fmt: skip


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(GENERIC)
    return path


@pytest.mark.parametrize("policy", ["fifo", "backfill", "fairshare"])
def test_replay_writes_the_contract_outputs(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path, policy: str
) -> None:
    out = tmp_path / "out"
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--out", str(out), "--racks", "2", "--policy", policy
    )
    assert code == 0, stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics.keys() >= METRIC_KEYS
    assert metrics["completed"] == 4 and metrics["policy"] == policy and metrics["gpus"] == 144
    assert set(metrics["tenants"]["a"]) >= {"jobs", "gpu_seconds", "usage_share", "entitlement", "avg_wait_s"}
    with (out / "jobs.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "job_id", "tenant", "num_gpus", "submit", "start", "end", "duration", "wait", "jct", "preemptions",
        "timed_out", "interruptions",
    ]  # fmt: skip
    with (out / "allocations.csv").open() as f:
        allocations = list(csv.DictReader(f))
    assert list(allocations[0]) == ["job_id", "segment", "start", "end", "rack", "gpus"]
    assert {r["job_id"] for r in allocations if r["job_id"] == "j3"} == {"j3"}
    assert sum(int(r["gpus"]) for r in allocations if r["job_id"] == "j3") == 144
    with (out / "rejected.csv").open() as f:
        rejected = list(csv.DictReader(f))
    assert [r["job_id"] for r in rejected] == ["j5"]  # bigger than the factory: listed, the rest ran
    assert "1 jobs can never run" in stderr


def test_list_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = invoke(capsys, "replay", "--list-policies")
    assert code == 0
    for name in ("fifo", "backfill", "fairshare"):
        assert name in stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("job_id,submit_time,duration,tenant\nj1,0,10,a\n", "num_gpus"),
        ("", "trace"),
    ],
)
def test_a_trace_that_cannot_be_read_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(content)
    code, _, stderr = invoke(capsys, "replay", str(path), "--out", str(tmp_path / "o"))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert fragment in stderr and "Traceback" not in stderr


def test_bad_rows_are_reported_with_their_row_and_skipped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(GENERIC.replace("j4,30,2,20,b", "j4,30,0,20,b") + "j6,50,1,-5,a\n")
    out = tmp_path / "o"
    code, _, stderr = invoke(capsys, "replay", str(path), "--out", str(out), "--racks", "2")
    assert code == 0
    assert "row 4" in stderr and "row 6" in stderr
    with (out / "rejected.csv").open() as f:
        rows = {r["job_id"]: r["row"] for r in csv.DictReader(f)}
    assert rows["j4"] == "4" and rows["j6"] == "6" and rows["j5"] == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policy", "lottery"], "unknown policy"),
        (["--shares", "a=x"], "--shares"),
        (["--schedulable-trays", "30"], "schedulable_trays"),
    ],
)
def test_bad_options_exit_2(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    code, _, stderr = invoke(capsys, "replay", str(trace), "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert fragment in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_missing_trace_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, stderr = invoke(capsys, "replay", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "nope.csv" in stderr


def test_budgets_hold_a_tenants_jobs_and_list_them(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--out", str(out), "--racks", "2", "--budgets", "b=0.3"
    )  # b may use 0.3 GPU-h: j2 (72 GPUs from t=10) has used 0.4 GPU-h when j4 arrives at t=30: held
    assert code == 0, stderr
    assert "1 jobs held" in stderr
    with (out / "rejected.csv").open() as f:
        reasons = {r["job_id"]: r["reason"] for r in csv.DictReader(f)}
    assert "budget" in reasons["j4"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["held"] == 1 and metrics["completed"] == 3


@pytest.mark.parametrize("value", ["b=x", "b=-1", "=3", "b=inf"])
def test_bad_budgets_exit_2(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path, value: str
) -> None:
    code, _, stderr = invoke(capsys, "replay", str(trace), "--out", str(tmp_path / "o"), "--budgets", value)
    assert code == 2 and "--budgets" in stderr


def test_replay_with_random_tray_failures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "long.csv"
    trace.write_text(
        "job_id,submit_time,num_gpus,duration,tenant\n"
        + "".join(f"j{i},{i * 60},36,{200_000 + i},a\n" for i in range(20))
    )
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        code, stdout, stderr = invoke(
            capsys, "replay", str(trace), "--out", str(out), "--racks", "4", "--tray-mtbf-hours", "100",
            "--tray-repair-hours", "2", "--checkpoint-minutes", "30", "--seed", "7",
        )  # fmt: skip
        assert code == 0, stderr
        assert "tray failures" in stdout
        outs.append(json.loads((out / "metrics.json").read_text()))
    m = outs[0]
    assert m["tray_failures"] > 0 and m["jobs_interrupted"] > 0 and m["gpu_hours_lost"] > 0
    assert outs[0]["avg_jct_s"] == outs[1]["avg_jct_s"]  # the seed fixes the failures
    # one tenant, no preemption: a job runs in more than one segment exactly when a failure interrupted it
    allocations = list(csv.DictReader((tmp_path / "a" / "allocations.csv").open()))
    segments: dict[str, set[str]] = {}
    for r in allocations:
        segments.setdefault(r["job_id"], set()).add(r["segment"])
    interrupted = {job for job, s in segments.items() if len(s) > 1}
    assert len(interrupted) == m["jobs_interrupted"]
    rows = list(csv.DictReader((tmp_path / "a" / "jobs.csv").open()))
    assert {r["job_id"] for r in rows if int(r["interruptions"]) > 0} == interrupted
    # every job completed: the GPU time allocated beyond the jobs' own work (36 GPUs × 200,000 + i s) was lost
    spent = sum((float(r["end"]) - float(r["start"])) * int(r["gpus"]) for r in allocations)
    own = sum(36 * (200_000 + i) for i in range(20))
    assert m["completed"] == 20
    assert m["gpu_hours_lost"] == pytest.approx((spent - own) / 3600, rel=1e-6)


def test_a_bad_failure_option_is_refused(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--out", str(tmp_path / "o"), "--tray-mtbf-hours", "-1"
    )
    assert code == 2 and "--tray-mtbf-hours" in stderr
