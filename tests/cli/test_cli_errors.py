"""Exit codes and error lines of the ``aifactory`` command: 0 success, 2 bad input (one line, no traceback),
1 internal error. A few run as real subprocesses (``python -m aifactory``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import aifactory.scenario.loading as scenario_loading
from aifactory.cli.main import run_cli
from aifactory.scenario.loading import bundled_text
from cli_invoke import invoke


def aifactory(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AIFACTORY_DEBUG", "FORCE_COLOR")}
    env["COLUMNS"] = "60"  # a narrow terminal must not wrap the one-line message
    return subprocess.run(
        [sys.executable, "-m", "aifactory", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].strip()
    return lines[0]


# ------------------------------------------------------------------------------- subprocesses


def test_subprocess_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    data = yaml.safe_load(bundled_text("serial-line"))
    data["stages"]["fab"]["capacity"] = -1
    path = tmp_path / "a-rather-long-file-name-so-that-the-message-exceeds-sixty-columns.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = aifactory("scenario", "validate", str(path))
    assert proc.returncode == 2
    line = assert_one_line(proc.stderr)
    assert f"{path}: stages.fab.capacity: " in line
    assert proc.stdout == ""


def test_subprocess_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: aifactory/v1\nname: [unclosed\nstart: 2026-01-01\n", encoding="utf-8")
    proc = aifactory("scenario", "validate", str(path))
    assert proc.returncode == 2
    assert re.search(re.escape(str(path)) + r":\d+:\d+: malformed YAML", assert_one_line(proc.stderr))


def test_subprocess_bad_set_on_simulate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = aifactory(
        "supply", "simulate", "serial-line", "--runs", "16", "--out", str(out), "--set", "stages=notamapping"
    )
    assert proc.returncode == 2
    assert "serial-line: stages: " in assert_one_line(proc.stderr)
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["supply", "simulate", "serial-line", "--runs", "0"],
        ["supply", "simulate", "serial-line", "--no-such-option"],
        ["scenario", "validate"],
        ["scenario", "frobnicate"],
    ],
    ids=" ".join,
)
def test_subprocess_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    proc = aifactory(*args)
    assert proc.returncode == 2, proc.stderr
    line = assert_one_line(proc.stderr)
    assert "internal error" not in line


def test_subprocess_simulate_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["supply", "simulate", "serial-line", "--runs", "16", "--seed", "1", "--out", str(out), "--quiet"]
    proc = aifactory(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "summary.json").is_file()
    assert (out / "series.parquet").is_file()


def test_subprocess_validate_succeeds() -> None:
    proc = aifactory("scenario", "validate", "serial-line")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "ok serial-line" in proc.stdout


# --------------------------------------------------------------------------------- in-process


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["supply", "simulate", "serial-line", "--runs", "0"], ("--runs",)),
        (["supply", "simulate", "serial-line", "--runs", "abc"], ("--runs",)),
        (["supply", "simulate", "serial-line", "--bucket-days", "0"], ("--bucket-days",)),
        (["supply", "simulate", "serial-line", "--workers", "0"], ("--workers",)),
        (["supply", "simulate", "serial-line", "--no-such-option"], ("--no-such-option",)),
        (["scenario", "validate"], ("scenario",)),
        (["scenario", "frobnicate"], ("frobnicate",)),
        (["frobnicate"], ("frobnicate",)),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], words: tuple[str, ...]) -> None:
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    line = assert_one_line(err)
    assert line.startswith("error: ")
    for word in words:
        assert word in line


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys)
    assert code == 2
    assert "Traceback" not in err
    assert "scenario" in out + err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--help")
    assert code == 0
    for command in ("scenario", "supply", "run"):
        assert command in out


def test_internal_error_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom [bold]x[/bold]")

    monkeypatch.delenv("AIFACTORY_DEBUG", raising=False)
    monkeypatch.setattr(scenario_loading, "load_scenario", broken)
    code, _, err = invoke(capsys, "scenario", "validate", "serial-line")
    assert code == 1
    line = assert_one_line(err)
    assert "internal error: RuntimeError: boom [bold]x[/bold]" in line
    assert "AIFACTORY_DEBUG" in err


def test_internal_error_with_debug_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("AIFACTORY_DEBUG", "1")
    monkeypatch.setattr(scenario_loading, "load_scenario", broken)
    with pytest.raises(RuntimeError, match="boom"):
        run_cli(["scenario", "validate", "serial-line"])


@pytest.mark.parametrize(
    "args",
    [
        ("run", "serial-line", "--runs", "10", "--seed", "-1"),
        ("supply", "simulate", "serial-line", "--runs", "10", "--seed", "-1"),
        ("replay", "--racks", "1", "--seed", "-1", "trace.csv"),
        ("plant", "simulate", "foxconn-houston", "--days", "1", "--seed", "-1"),
    ],
)
def test_a_negative_seed_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "trace.csv").write_text("job_id,submit_time,num_gpus,duration,tenant\nj1,0,4,10,a\n")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, _, stderr = invoke(capsys, *args, "--out", str(tmp_path / "out"))
    finally:
        os.chdir(cwd)
    assert code == 2
    assert "--seed" in assert_one_line(stderr)


def test_a_trace_with_an_absurd_gpu_count_skips_the_row_on_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A count beyond int64 once overflowed and ended in an internal error (exit 1)."""
    trace = tmp_path / "t.csv"
    trace.write_text(
        "job_id,submit_time,num_gpus,duration,tenant\nj1,0,99999999999999999999999,10,a\nj2,1,4,10,a\n"
    )
    code, _, stderr = invoke(
        capsys, "replay", str(trace), "--racks", "1", "--quiet", "--out", str(tmp_path / "o")
    )
    assert code == 0, stderr
    (line,) = [x for x in stderr.splitlines() if "row 1" in x]
    assert line.endswith("num_gpus: more than 10,000,000 GPUs: '99999999999999999999999' (skipped)")


@pytest.mark.parametrize(
    "args",
    [
        ("run", "serial-line", "--runs", "10"),
        ("supply", "simulate", "serial-line", "--runs", "10"),
        ("replay", "trace.csv", "--racks", "1"),
        ("plant", "simulate", "foxconn-houston", "--days", "1"),
        ("fab", "simulate", "fab", "--days", "1"),
    ],
)
def test_an_out_folder_that_cannot_be_made_exits_2_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Under a file, ``--out`` cannot be a folder: refused at once (it once ended replay and fab runs in
    an internal error, after the simulation)."""
    (tmp_path / "trace.csv").write_text("job_id,submit_time,num_gpus,duration,tenant\nj1,0,4,10,a\n")
    (tmp_path / "fab").mkdir()  # not read: the output folder is checked first
    (tmp_path / "a-file").write_text("")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, _, stderr = invoke(capsys, *args, "--out", "a-file/out")
    finally:
        os.chdir(cwd)
    assert code == 2
    line = assert_one_line(stderr)
    assert line.startswith("error: --out a-file/out") and line.endswith(": a-file exists and is not a folder")
