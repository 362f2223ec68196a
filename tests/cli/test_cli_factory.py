"""``aifactory factory simulate`` end to end: factory.json as the contract fixes it, the per-run table,
the daily bands and the page; bad input exits 2 naming the field; ``aifactory run`` answers in one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from cli_invoke import invoke
from small_factory import factory_data

Q_KEYS = {"mean", "p10", "p50", "p90"}
DEMAND = {
    "research": {"offered_load": {"dist": "uniform", "low": 0.3, "high": 0.6}, "rate_usd_per_gpu_hour": 1.5},
    "market": {
        "offered_load": 0.2,
        "reference_price_usd_per_gpu_hour": 4.0,
        "rate_usd_per_gpu_hour": {"dist": "uniform", "low": 3.0, "high": 5.0},
        "elasticity": -1.0,
    },
}


def _scenario(tmp_path: Path, **kwargs: object) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(factory_data(demand=DEMAND, **kwargs)), encoding="utf-8")  # type: ignore[arg-type]
    return path


def test_factory_simulate_writes_the_contracts_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = _scenario(tmp_path, power_budget_mw=0.9, tray_mtbf_hours=5000)
    out = tmp_path / "out"
    code, stdout, stderr = invoke(
        capsys, "factory", "simulate", str(scenario), "--factory", "f", "--days", "4", "--runs", "4",
        "--seed", "5", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "P50 utilisation" in stdout and "(P10" in stdout
    doc = json.loads((out / "factory.json").read_text())
    for key in ("factory", "gpus", "days", "runs", "seed", "wall_seconds"):
        assert key in doc
    assert (doc["factory"], doc["gpus"], doc["days"], doc["runs"], doc["seed"]) == ("f", 4 * 64, 4, 4, 5)
    for key in ("utilization", "gpu_hours_used", "energy_mwh", "revenue_usd", "cost_usd"):
        assert set(doc[key]) == Q_KEYS
        assert doc[key]["p10"] <= doc[key]["p50"] <= doc[key]["p90"]
    assert 0 < doc["utilization"]["p50"] < 1
    assert set(doc["programmes"]) == {"research", "market"}
    for p in doc["programmes"].values():
        for key in ("gpu_hours", "avg_wait_hours", "usage_share"):
            assert set(p[key]) == Q_KEYS
    assert doc["programmes"]["market"]["marketplace"] is True
    used = doc["gpu_hours_used"]["mean"]
    assert sum(p["gpu_hours"]["mean"] for p in doc["programmes"].values()) == pytest.approx(used)
    with (out / "runs.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {"utilization", "margin_usd", "demand.research.offered_load"} <= set(rows[0])
    with (out / "daily.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 4
    page = (out / "factory.html").read_text()
    for title in ("Utilisation over time", "Outcomes over runs", "Programmes", "Energy and PUE", "Money",
                  "What moves the utilisation", "power budget 0.9 MW"):  # fmt: skip
        assert title in page


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("ai_factories.f.demand.nobody={offered_load: 0.1}", "demand.nobody: not a programme of the council"),
        ("ai_factories.f.demand.research.offered_load=-0.2", "offered_load: must be ≥ 0"),
        ("ai_factories.f.demand.market.elasticity=0.5", "elasticity: must be negative"),
        (
            "ai_factories.f.demand.market.rate_usd_per_gpu_hour={dist: uniform, low: 6, high: 3}",
            "rate_usd_per_gpu_hour",
        ),
        ("ai_factories.f.demand.research.offered_load=.nan", "offered_load"),
        (
            "ai_factories.f.economics.electricity_usd_per_mwh={dist: uniform, low: 200, high: 100}",
            "electricity",
        ),
    ],
)
def test_bad_demand_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, field: str
) -> None:
    scenario = _scenario(tmp_path)
    out = tmp_path / "out"
    code, _, stderr = invoke(
        capsys, "factory", "simulate", str(scenario), "--days", "1", "--runs", "1", "--out", str(out),
        "--set", override,
    )  # fmt: skip
    assert code == 2, stderr
    assert field in stderr and "ai_factories.f" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_price_range_low_above_high_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path)
    code, _, stderr = invoke(
        capsys, "factory", "simulate", str(scenario), "--runs", "1", "--out", str(tmp_path / "o"),
        "--set", "ai_factories.f.demand.market.rate_usd_per_gpu_hour={dist: uniform, low: 6, high: 3}",
    )  # fmt: skip
    assert code == 2 and "low (6) is greater than high (3)" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--factory", "nope"], "--factory nope"),
        (["--days", "0"], "--days 0"),
        (["--days", "nan"], "--days nan"),
        (["--policy", "nope"], "--policy nope"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    scenario = _scenario(tmp_path)
    code, _, stderr = invoke(
        capsys, "factory", "simulate", str(scenario), "--out", str(tmp_path / "o"), *args
    )
    assert code == 2, stderr
    assert message in stderr


def test_a_budget_below_the_idle_draw_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path, power_budget_mw=0.05)
    code, _, stderr = invoke(capsys, "factory", "simulate", str(scenario), "--out", str(tmp_path / "o"))
    assert code == 2 and "ai_factories.f.power_budget_mw: the idle factory alone draws" in stderr


def test_run_answers_the_seeds_question_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = invoke(
        capsys, "run", "--runs", "16", "--factory-runs", "3", "--factory-days", "10", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    line = next(x for x in stdout.splitlines() if "P50 utilisation" in x)
    assert " %" in line and "(P10" in line and "P90" in line
    summary = json.loads((out / "summary.json").read_text())
    doc = summary["ai_factories"]["taiwan-ai-factory"]
    assert doc["runs"] == 3 and doc["days"] == 10 and doc["gpus"] == 144 * 64
    assert (out / "factories" / "taiwan-ai-factory" / "factory.json").exists()
    page = (out / "report.html").read_text()
    assert "AI factory: taiwan-ai-factory" in page and "Utilisation over time" in page
