"""Good input to ``aifactory scenario list|show|schema|validate`` and ``--set`` overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aifactory.scenario import Scenario, bundled_names, load_scenario
from aifactory.scenario.distributions import Triangular
from aifactory.scenario.loading import bundled_text
from cli_invoke import invoke

BUNDLED = ["nvidia-2025", "serial-line"]


def test_bundled_names() -> None:
    assert set(BUNDLED) <= set(bundled_names())


def test_scenario_list_shows_bundled_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "scenario", "list")
    assert code == 0, err
    for name in BUNDLED:
        assert name in out


def test_scenario_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "scenario", "schema")
    assert code == 0, err
    schema = json.loads(out)
    assert "$defs" in schema
    assert "stages" in schema["properties"]
    assert {"format", "name", "start", "horizon_days", "items", "stages"} <= set(schema["required"])
    stage = schema["$defs"]["Stage"]["properties"]
    assert "yield" in stage  # the alias, as written in files
    assert "yield_" not in stage
    assert {"Triangular", "Uniform", "Normal", "Lognormal"} <= set(schema["$defs"])


@pytest.mark.parametrize("name", BUNDLED)
def test_scenario_validate_bundled(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = invoke(capsys, "scenario", "validate", name)
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"ok {name}:")


def test_scenario_show_prints_yaml_that_parses_back(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "scenario", "show", "serial-line")
    assert code == 0, err
    assert out == bundled_text("serial-line")
    data = yaml.safe_load(out)
    assert data["name"] == "serial-line"
    assert Scenario.model_validate(data) == load_scenario("serial-line")


def test_scenario_show_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(bundled_text("serial-line"), encoding="utf-8")
    code, out, err = invoke(capsys, "scenario", "show", str(path))
    assert code == 0, err
    assert yaml.safe_load(out)["name"] == "serial-line"


def test_scenario_show_with_set_prints_validated_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "scenario", "show", "serial-line", "--set", "stages.fab.capacity=120")
    assert code == 0, err
    data = json.loads(out)
    assert data["stages"]["fab"]["capacity"] == 120
    assert Scenario.model_validate(data).stages["fab"].capacity == 120


def test_set_capacity_takes_effect() -> None:
    assert load_scenario("serial-line").stages["fab"].capacity == 100
    s = load_scenario("serial-line", ["stages.fab.capacity=120"])
    assert s.stages["fab"].capacity == 120


def test_set_distribution_value() -> None:
    s = load_scenario("serial-line", ["stages.fab.yield={dist: triangular, low: 0.8, mode: 0.9, high: 0.95}"])
    value = s.stages["fab"].yield_
    assert isinstance(value, Triangular)
    assert (value.low, value.mode, value.high) == (0.8, 0.9, 0.95)


def test_set_validates_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(
        capsys,
        "scenario",
        "validate",
        "serial-line",
        "--set",
        "stages.fab.yield={dist: triangular, low: 0.8, mode: 0.9, high: 0.95}",
        "--set",
        "stages.fab.capacity=120",
    )
    assert code == 0, err


def test_set_several_kinds_of_values() -> None:
    s = load_scenario(
        "serial-line",
        [
            "horizon_days=30",
            "start=2026-03-01",
            "lanes.0.transit_days=3",
            "stages.fab.capacity=[{date: 2026-03-01, per_day: 0}, {date: 2026-04-01, per_day: 50}]",
            "description=a note with = inside",
        ],
    )
    assert s.horizon_days == 30
    assert str(s.start) == "2026-03-01"
    assert s.lanes[0].transit_days == 3
    assert isinstance(s.stages["fab"].capacity, list)
    assert s.description == "a note with = inside"


def test_set_later_override_wins() -> None:
    s = load_scenario("serial-line", ["stages.fab.capacity=120", "stages.fab.capacity=80"])
    assert s.stages["fab"].capacity == 80


def test_set_does_not_leak_into_the_next_load() -> None:
    load_scenario("serial-line", ["stages.fab.capacity=120"])
    assert load_scenario("serial-line").stages["fab"].capacity == 100


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "scenario", "validate", "--help")
    assert code == 0
    assert "--set" in out
