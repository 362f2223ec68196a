"""``aifactory plan`` and ``aifactory compare`` as users run them: the files they write, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.scenario.loading import load_scenario
from cli_invoke import invoke
from planner.networks import option, serial

PLAN_KEYS = {"scenario", "feasible", "cost_usd", "probability", "actions", "targets"}
ACTION_KEYS = {"stage", "option", "add_per_day", "online", "cost_usd"}
TARGET_KEYS = {"metric", "by", "target", "p50", "probability_met"}


def write_scenario(path: Path, **kwargs: Any) -> Path:
    data = serial(**kwargs).model_dump(mode="json", by_alias=True, exclude_unset=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_plan_writes_the_contracts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path / "s.yaml", options=[option(lead_time_days=20)])
    out = tmp_path / "plan"
    code, stdout, _ = invoke(
        capsys,
        "plan",
        str(scenario),
        "--out",
        str(out),
        "--runs",
        "50",
        "--probability",
        "0.6",
        "--samples",
        "2",
        "--bucket-days",
        "7",
    )
    assert code == 0, stdout
    doc = json.loads((out / "plan.json").read_text())
    assert set(doc) >= PLAN_KEYS and doc["feasible"] is True and doc["probability"] == 0.6
    [action] = doc["actions"]
    assert set(action) >= ACTION_KEYS and action["online"] == "2026-01-21"
    assert action["add_per_day"] == pytest.approx(1000 / 180, rel=1e-6)
    assert doc["cost_usd"] == pytest.approx(action["cost_usd"])
    [target] = doc["targets"]
    assert set(target) >= TARGET_KEYS and target["probability_met"] == 1.0
    assert target["probability_without_plan"] == 0.0
    assert doc["model"]["variables"] > 0 and doc["model"]["constraints"] > 0
    # plan.yaml is the scenario with the action applied; the supply twin meets the target with it
    planned = load_scenario(str(out / "plan.yaml"))
    assert planned.stages["line"].expansions[0].add_per_day == pytest.approx(action["add_per_day"])
    code, _, _ = invoke(
        capsys, "supply", "simulate", str(out / "plan.yaml"), "--runs", "8", "-o", str(tmp_path / "sim")
    )
    assert code == 0
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text())
    assert summary["targets"][0]["probability_met"] == 1.0
    html = (out / "report.html").read_text()
    assert "Shadow prices" in html and "more" in html and "plotly" in html.lower()
    assert "1 actions" in stdout or "Actions" in stdout


def test_an_unreachable_target_exits_0_with_feasible_false(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(tmp_path / "s.yaml", target_units=1e6, options=[option(max_=5.0)])
    code, stdout, _ = invoke(
        capsys,
        "plan",
        str(scenario),
        "--out",
        str(tmp_path / "p"),
        "--runs",
        "20",
        "--samples",
        "1",
        "--bucket-days",
        "7",
    )
    assert code == 0
    doc = json.loads((tmp_path / "p" / "plan.json").read_text())
    assert doc["feasible"] is False and doc["actions"] == []
    assert doc["unreachable"][0]["target"] == "units"
    assert doc["unreachable"][0]["capped_by"] == [{"stage": "line", "option": "more", "max_add_per_day": 5.0}]
    assert "units" in doc["message"] and "out of reach" in stdout


def bad(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_an_option_on_an_unknown_stage_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path / "s.yaml")
    opts = tmp_path / "options.yaml"
    opts.write_text(yaml.safe_dump({"options": [option() | {"stage": "nowhere"}]}), encoding="utf-8")
    line = bad(capsys, "plan", str(scenario), "--options", str(opts), "--out", str(tmp_path / "p"))
    assert "options.yaml: options.0.stage: unknown stage 'nowhere'" in line


def test_an_options_file_adds_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path / "s.yaml")
    opts = tmp_path / "options.yaml"
    opts.write_text(yaml.safe_dump({"options": [option("extra") | {"stage": "line"}]}), encoding="utf-8")
    code, _, err = invoke(
        capsys,
        "plan",
        str(scenario),
        "--options",
        str(opts),
        "--out",
        str(tmp_path / "p"),
        "--runs",
        "20",
        "--samples",
        "1",
        "--bucket-days",
        "7",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "p" / "plan.json").read_text())["actions"][0]["option"] == "extra"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"add_per_day": {"max": -1}}, "stages.line.options.0.add_per_day.max"),
        ({"earliest": "2027-01-01"}, "stages.line.options.0.earliest"),
        ({"cost_usd_per_unit_per_day": float("nan")}, "stages.line.options.0.cost_usd_per_unit_per_day"),
        ({"lead_time_days": -3}, "stages.line.options.0.lead_time_days"),
        ({"add_per_day": {"max": 5, "block": 10}}, "stages.line.options.0.add_per_day.block"),
    ],
)
def test_a_bad_option_names_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], field: str
) -> None:
    data = serial().model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["stages"]["line"]["options"] = [option() | change]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    line = bad(capsys, "plan", str(path), "--out", str(tmp_path / "p"))
    assert f"s.yaml: {field}:" in line


@pytest.mark.parametrize("p", ["0", "1", "-0.2", "1.5", "nan"])
def test_a_probability_outside_zero_one_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], p: str
) -> None:
    scenario = write_scenario(tmp_path / "s.yaml", options=[option()])
    line = bad(capsys, "plan", str(scenario), "--probability", p, "--out", str(tmp_path / "p"))
    assert "--probability" in line


def test_a_bad_budget_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path / "s.yaml", options=[option()])
    assert "--budget" in bad(capsys, "plan", str(scenario), "--budget", "inf", "--out", str(tmp_path / "p"))


def test_compare_puts_a_plan_beside_its_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(
        tmp_path / "s.yaml",
        options=[option()],
        yield_={"dist": "triangular", "low": 0.8, "mode": 0.9, "high": 1.0},
    )
    code, _, err = invoke(
        capsys,
        "plan",
        str(scenario),
        "--out",
        str(tmp_path / "p"),
        "--runs",
        "50",
        "--samples",
        "4",
        "--bucket-days",
        "7",
    )
    assert code == 0, err
    code, stdout, err = invoke(
        capsys, "compare", str(scenario), str(tmp_path / "p"), "--runs", "300", "-o", str(tmp_path / "c")
    )
    assert code == 0, err
    doc = json.loads((tmp_path / "c" / "compare.json").read_text())
    _, second = doc["studies"]
    assert second["label"] == "p" and second["capex_usd"] == pytest.approx(
        json.loads((tmp_path / "p" / "plan.json").read_text())["cost_usd"]
    )
    diff = second["differences"]["destinations.customer.unit"]
    added = json.loads((tmp_path / "p" / "plan.json").read_text())["actions"][0]["add_per_day"]
    # the same yields in both: the difference is the added capacity times each run's yield, 200 days
    assert diff["mean"] == pytest.approx(added * 200 * 0.9, rel=0.03)
    assert diff["ci95"] < diff["ci95_independent"] / 2  # common random numbers narrow the interval
    assert (tmp_path / "c" / "report.html").is_file() and "p" in stdout


def test_compare_needs_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "at least two" in bad(capsys, "compare", "serial-line", "-o", str(tmp_path / "c"))


def test_compare_rejects_a_folder_without_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    line = bad(capsys, "compare", "serial-line", str(tmp_path / "empty"), "-o", str(tmp_path / "c"))
    assert "without plan.yaml" in line
