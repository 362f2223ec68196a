"""``aifactory supply simulate`` and ``aifactory run``: the files docs/cli.md lists, and that bad
input never damages what an earlier run stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aifactory.cli.main import run_cli
from aifactory.scenario import load_scenario
from cli_invoke import invoke

QUANTILES = {"mean", "p10", "p50", "p90"}
RUNS = "16"
NOISY_YIELD = "stages.fab.yield={dist: triangular, low: 0.8, mode: 0.9, high: 0.95}"


def simulate(capsys: pytest.CaptureFixture[str], out: Path, *extra: str, seed: str = "1") -> dict[str, Any]:
    args = ["supply", "simulate", "serial-line", "--runs", RUNS, "--seed", seed, "--out", str(out), "--quiet"]
    code, _, err = invoke(capsys, *args, *extra)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert isinstance(summary, dict)
    return summary


def assert_q(value: Any, where: str) -> None:
    assert isinstance(value, dict), where
    assert set(value) >= QUANTILES, f"{where}: {value}"
    for key in QUANTILES:
        assert isinstance(value[key], int | float), f"{where}.{key}"
    assert value["p10"] <= value["p50"] <= value["p90"], where


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("supply") / "nested" / "out"
    try:
        run_cli(["supply", "simulate", "serial-line", "--runs", RUNS, "--seed", "1", "--out", str(out), "-q"])
    except SystemExit as exc:  # pragma: no cover - reported by the assertion below
        pytest.fail(f"supply simulate exited {exc.code}")
    return out, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_summary_header(study: tuple[Path, dict[str, Any]]) -> None:
    _, summary = study
    assert summary["scenario"] == "serial-line"
    assert summary["runs"] == int(RUNS)
    assert summary["seed"] == 1
    assert summary["start"] == "2026-01-01"
    assert summary["horizon_days"] == 365
    assert isinstance(summary["wall_seconds"], float)
    assert summary["wall_seconds"] >= 0


def test_summary_has_every_contract_key(study: tuple[Path, dict[str, Any]]) -> None:
    _, summary = study
    s = load_scenario("serial-line")
    assert set(summary["items"]) == set(s.items)
    for item, entry in summary["items"].items():
        assert_q(entry["produced"], f"items.{item}.produced")
        assert_q(entry["delivered"], f"items.{item}.delivered")
    assert set(summary["destinations"]) == set(s.destinations)
    for did, dest in s.destinations.items():
        item = s.stages[dest.sources[0]].produces
        entry = summary["destinations"][did]
        for key in (item, "gpus", "value_usd"):
            assert_q(entry[key], f"destinations.{did}.{key}")
    assert_q(summary["value_usd"], "value_usd")
    assert_q(summary["gpus_delivered"], "gpus_delivered")
    assert set(summary["stages"]) == set(s.stages)
    for sid, entry in summary["stages"].items():
        for key in ("started", "good_output", "utilization", "binding_days"):
            assert_q(entry[key], f"stages.{sid}.{key}")
    assert len(summary["targets"]) == len(s.targets)
    for target in summary["targets"]:
        assert {"metric", "by", "target", "p50", "probability_met"} <= set(target)
        assert target["metric"] == "value_usd"
        assert target["by"] == "2026-12-31"
        assert target["target"] == 1.0e10
        assert 0 <= target["probability_met"] <= 1


# serial-line is deterministic: integrate is starved and turns out 100 × 0.9 × 0.88 × 17 / 72 × 0.98
# racks a day from day 151 (90 + 14 + 30 + 7 + 10 days of cycle and transit times) to day 364
RACKS = (365 - (90 + 14 + 30 + 7 + 10)) * 100 * 0.9 * 0.88 * 17 / 72 * 0.98  # 214 days × 18.3 = 3,921.8


def test_summary_numbers_match_the_serial_line_by_hand(study: tuple[Path, dict[str, Any]]) -> None:
    _, summary = study
    assert summary["destinations"]["us-dc"]["rack"]["mean"] == pytest.approx(RACKS, rel=1e-6)
    assert summary["items"]["rack"]["delivered"]["mean"] == pytest.approx(RACKS, rel=1e-6)
    assert summary["gpus_delivered"]["mean"] == pytest.approx(72 * RACKS, rel=1e-6)  # 72 GPUs a rack
    assert summary["value_usd"]["mean"] == pytest.approx(3.5e6 * RACKS, rel=1e-6)  # US$3.5M a rack
    fab = summary["stages"]["fab"]
    # 100 wafers started a day; only those started by day 365 - 90 leave the stage within the horizon
    assert fab["started"]["mean"] == pytest.approx(100 * 365)
    assert fab["good_output"]["mean"] == pytest.approx(0.9 * 100 * (365 - 90))
    assert 0 <= fab["utilization"]["mean"] <= 1 + 1e-9
    assert 0 <= fab["binding_days"]["mean"] <= 365


def test_series_parquet(study: tuple[Path, dict[str, Any]]) -> None:
    out, _ = study
    table = pq.read_table(out / "series.parquet")
    assert {"date", "series", "mean", "p10", "p50", "p90"} <= set(table.column_names)
    assert table.num_rows > 0
    dates = table.column("date").to_pylist()
    assert str(min(dates)) >= "2026-01-01"


def test_same_seed_same_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    first = simulate(capsys, tmp_path / "a", "--set", NOISY_YIELD)
    again = simulate(capsys, tmp_path / "b", "--set", NOISY_YIELD)
    other = simulate(capsys, tmp_path / "c", "--set", NOISY_YIELD, seed="2")
    for summary in (first, again, other):
        summary.pop("wall_seconds")
    assert first == again
    assert first["value_usd"] != other["value_usd"]


def test_set_changes_the_simulation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    summary = simulate(capsys, tmp_path, "--set", "stages.fab.capacity=50", "--deterministic")
    assert summary["stages"]["fab"]["started"]["mean"] == pytest.approx(50 * 365)


def test_bucket_days(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    simulate(capsys, tmp_path, "--bucket-days", "7")
    table = pq.read_table(tmp_path / "series.parquet")
    dates = sorted(set(table.column("date").to_pylist()))
    assert len(dates) >= 2
    assert (dates[1] - dates[0]).days == 7


def test_run_writes_report_and_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = invoke(capsys, "run", "serial-line", "--out", str(tmp_path), "--runs", RUNS, "--quiet")
    assert code == 0, err
    assert (tmp_path / "report.html").stat().st_size > 0
    top = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert top["scenario"] == "serial-line"
    assert (tmp_path / "supply" / "summary.json").is_file()
    assert (tmp_path / "supply" / "series.parquet").is_file()


# ---------------------------------------------------------------------------- nothing is lost


BAD_ARGS = [
    ["--set", "stages.fab.capacity=-5"],
    ["--set", "stages.fab.nonexistent.x=1"],
    ["--set", "stagesfab"],
    ["--runs", "0"],
    ["--bogus-option"],
]


@pytest.mark.parametrize("bad", BAD_ARGS, ids=" ".join)
def test_bad_input_leaves_stored_results_untouched(
    capsys: pytest.CaptureFixture[str], study: tuple[Path, dict[str, Any]], tmp_path: Path, bad: list[str]
) -> None:
    source, _ = study
    out = tmp_path / "out"
    out.mkdir()
    stored = {name: (source / name).read_bytes() for name in ("summary.json", "series.parquet")}
    for name, content in stored.items():
        (out / name).write_bytes(content)
    args = ["supply", "simulate", "serial-line", "--runs", RUNS, "--out", str(out), "--quiet", *bad]
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in out.iterdir()) == sorted(stored)
    for name, content in stored.items():
        assert (out / name).read_bytes() == content


def test_run_bad_input_leaves_stored_results_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "summary.json").write_text('{"previous": true}\n', encoding="utf-8")
    before = (tmp_path / "summary.json").read_bytes()
    args = ["run", "serial-line", "--out", str(tmp_path), "--runs", RUNS, "-q", "--set", "horizon_days=0"]
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    assert "horizon_days" in err
    assert (tmp_path / "summary.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


@pytest.mark.parametrize("command", ["supply", "run"])
def test_out_that_is_a_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("keep me\n", encoding="utf-8")
    prefix = ["supply", "simulate"] if command == "supply" else ["run"]
    code, _, err = invoke(capsys, *prefix, "serial-line", "--runs", "4", "--out", str(blocker), "--quiet")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(blocker) in lines[0]
    assert "not a folder" in lines[0]
    assert blocker.read_text(encoding="utf-8") == "keep me\n"
