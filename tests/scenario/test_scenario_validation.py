"""Bad scenario input: exit 2 with ONE line naming the file, the field path and the reason (docs/scenario.md).

Each bad file is the bundled ``serial-line`` scenario with one mutation, checked through
``aifactory scenario validate FILE`` run in-process.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.scenario import load_scenario
from aifactory.scenario.distributions import DISTRIBUTIONS
from aifactory.scenario.loading import bundled_text
from cli_invoke import invoke

Data = dict[str, Any]


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Assert the command fails as bad input with exactly one line on stderr; return that line."""
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert lines[0].strip()
    return lines[0]


def serial_line() -> Data:
    data = yaml.safe_load(bundled_text("serial-line"))
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, data: Data | str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# -------------------------------------------------------------------------------- mutations


def _unknown_field(d: Data) -> None:
    d["stages"]["fab"]["capcity"] = 100


def _negative_capacity(d: Data) -> None:
    d["stages"]["fab"]["capacity"] = -1


def _lane_to_undefined_stage(d: Data) -> None:
    d["lanes"].append({"from": "pack", "to": "nowhere"})


def _cycle_without_source(d: Data) -> None:
    d["items"].update({"x": {}, "y": {}})
    d["stages"]["a"] = {"site": "s1", "produces": "x", "consumes": {"y": 1}, "capacity": 1}
    d["stages"]["b"] = {"site": "s1", "produces": "y", "consumes": {"x": 1}, "capacity": 1}
    d["lanes"] += [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]


def _uniform_low_above_high(d: Data) -> None:
    d["stages"]["fab"]["cycle_time_days"] = {"dist": "uniform", "low": 95, "high": 85}


def _triangular_low_above_high(d: Data) -> None:
    d["stages"]["fab"]["cycle_time_days"] = {"dist": "triangular", "low": 95, "mode": 90, "high": 85}


def _triangular_mode_outside(d: Data) -> None:
    d["stages"]["fab"]["cycle_time_days"] = {"dist": "triangular", "low": 80, "mode": 120, "high": 100}


def _normal_clip_low_above_high(d: Data) -> None:
    d["stages"]["pack"]["cycle_time_days"] = {"dist": "normal", "mean": 30, "sd": 3, "low": 40, "high": 20}


def _yield_above_one(d: Data) -> None:
    d["stages"]["fab"]["yield"] = 1.2


def _yield_distribution_above_one(d: Data) -> None:
    d["stages"]["pack"]["yield"] = {"dist": "uniform", "low": 0.8, "high": 1.05}


def _wrong_format(d: Data) -> None:
    d["format"] = "aifactory/v2"


def _consumes_unsupplied_item(d: Data) -> None:
    d["stages"]["integrate"]["consumes"]["wafer"] = 1


def _destination_from_unknown_stage(d: Data) -> None:
    d["destinations"]["eu-dc"] = {"from": "ghost"}


def _unknown_distribution(d: Data) -> None:
    d["stages"]["fab"]["cycle_time_days"] = {"dist": "weibull", "shape": 2, "scale": 90}


def _distribution_without_tag(d: Data) -> None:
    d["stages"]["fab"]["cycle_time_days"] = {"low": 80, "high": 100}


def _target_unknown_destination(d: Data) -> None:
    d["targets"].append({"metric": "value_usd", "by": "2026-12-31", "value": 1, "destinations": ["eu-dc"]})


def _capacity_points_out_of_order(d: Data) -> None:
    d["stages"]["fab"]["capacity"] = [
        {"date": "2026-07-01", "per_day": 100},
        {"date": "2026-01-01", "per_day": 0},
    ]


def _capacity_point_negative(d: Data) -> None:
    d["stages"]["fab"]["capacity"] = [{"date": "2026-01-01", "per_day": -3}]


def _horizon_zero(d: Data) -> None:
    d["horizon_days"] = 0


def _missing_required(d: Data) -> None:
    del d["stages"]["pack"]["capacity"]


def _not_a_number(d: Data) -> None:
    d["stages"]["fab"]["capacity"] = "lots"


def _unknown_site(d: Data) -> None:
    d["stages"]["pack"]["site"] = "s9"


def _unknown_target_metric(d: Data) -> None:
    d["targets"][0]["metric"] = "happiness"


CASES: list[tuple[str, Callable[[Data], None], str, tuple[str, ...]]] = [
    # id, mutation, field path that must be named, words the reason must contain
    ("unknown-field", _unknown_field, "stages.fab.capcity", ("unknown field",)),
    ("negative-capacity", _negative_capacity, "stages.fab.capacity", (">= 0",)),
    ("lane-to-undefined-stage", _lane_to_undefined_stage, "lanes.2.to", ("unknown stage", "nowhere")),
    ("cycle-without-source", _cycle_without_source, "stages.a", ("cycle", "source")),
    ("uniform-low-above-high", _uniform_low_above_high, "stages.fab.cycle_time_days", ("low", "high")),
    ("triangular-low-above-high", _triangular_low_above_high, "stages.fab.cycle_time_days", ("low",)),
    ("triangular-mode-outside", _triangular_mode_outside, "stages.fab.cycle_time_days", ("mode",)),
    ("normal-clip-low-above-high", _normal_clip_low_above_high, "stages.pack.cycle_time_days", ("low",)),
    ("yield-above-one", _yield_above_one, "stages.fab.yield", ("<= 1",)),
    ("yield-distribution-above-one", _yield_distribution_above_one, "stages.pack.yield", ("<= 1",)),
    ("wrong-format", _wrong_format, "format", ("aifactory/v1",)),
    (
        "consumes-unsupplied-item",
        _consumes_unsupplied_item,
        "stages.integrate.consumes.wafer",
        ("no lane",),
    ),
    (
        "destination-from-unknown-stage",
        _destination_from_unknown_stage,
        "destinations.eu-dc.from",
        ("unknown stage", "ghost"),
    ),
    (
        "unknown-distribution",
        _unknown_distribution,
        "stages.fab.cycle_time_days",
        ("weibull", *DISTRIBUTIONS),
    ),
    ("distribution-without-tag", _distribution_without_tag, "stages.fab.cycle_time_days", ("dist",)),
    (
        "target-unknown-destination",
        _target_unknown_destination,
        "targets.1.destinations",
        ("unknown destination", "eu-dc"),
    ),
    ("capacity-points-out-of-order", _capacity_points_out_of_order, "stages.fab.capacity", ("order",)),
    ("capacity-point-negative", _capacity_point_negative, "stages.fab.capacity.0.per_day", ("0",)),
    ("horizon-zero", _horizon_zero, "horizon_days", ("greater than 0",)),
    ("missing-required", _missing_required, "stages.pack.capacity", ("missing",)),
    ("not-a-number", _not_a_number, "stages.fab.capacity", ("lots",)),
    ("unknown-site", _unknown_site, "stages.pack.site", ("s9",)),
    ("unknown-target-metric", _unknown_target_metric, "targets.0.metric", ("value_usd",)),
]


@pytest.mark.parametrize(("mutate", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_file_names_file_field_and_reason(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    mutate: Callable[[Data], None],
    field: str,
    words: tuple[str, ...],
) -> None:
    data = serial_line()
    mutate(data)
    path = write(tmp_path, data)
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert f"{path}: {field}: " in line, line
    for word in words:
        assert word in line, line


def test_mutations_start_from_a_valid_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, copy.deepcopy(serial_line()), "good.yaml")
    code, out, err = invoke(capsys, "scenario", "validate", str(path))
    assert code == 0, err
    assert "ok" in out


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert str(path) in line
    assert "no such file" in line


def test_folder_instead_of_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = one_line_error(capsys, "scenario", "validate", str(tmp_path))
    assert str(tmp_path) in line


def test_malformed_yaml_gives_line_number(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = bundled_text("serial-line").splitlines()
    broken = next(i for i, text in enumerate(lines) if text.startswith("horizon_days:"))
    lines[broken] = "horizon_days: [365"
    path = write(tmp_path, "\n".join(lines) + "\n")
    line = one_line_error(capsys, "scenario", "validate", str(path))
    match = re.search(re.escape(str(path)) + r":(\d+):\d+: malformed YAML", line)
    assert match, line
    # the parser notices the unclosed list on the next key, one line down
    assert int(match.group(1)) in (broken + 1, broken + 2)


def test_tab_indentation_is_malformed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "format: aifactory/v1\n\tname: x\n")
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert f"{path}:2:" in line
    assert "malformed YAML" in line


def test_duplicate_key_is_rejected_not_silently_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = bundled_text("serial-line") + "horizon_days: 30\n"
    path = write(tmp_path, text)
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert f"{path}:{len(text.splitlines())}:" in line
    assert "duplicate key 'horizon_days'" in line


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("just a string\n", "str"), ("", "NoneType")], ids=str
)
def test_top_level_must_be_a_mapping(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, kind: str
) -> None:
    path = write(tmp_path, text)
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert str(path) in line
    assert "mapping" in line
    assert kind in line


def test_markup_like_path_is_printed_verbatim(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "[bold]x"
    folder.mkdir()
    data = serial_line()
    _yield_above_one(data)
    path = write(folder, data)
    line = one_line_error(capsys, "scenario", "validate", str(path))
    assert f"{path}: stages.fab.yield: " in line


# ------------------------------------------------------------------------------------ --set


@pytest.mark.parametrize(
    ("assignment", "field", "words"),
    [
        ("stages.fab.nonexistent.x=1", "stages.fab.nonexistent", ("no such field",)),
        ("stages.fab.capacity.x=1", "stages.fab.capacity.x", ("number",)),
        ("stages=notamapping", "stages", ("dictionary",)),
        ("stages.fab.capacity=-5", "stages.fab.capacity", (">= 0",)),
        ("stages.fab.capcity=5", "stages.fab.capcity", ("unknown field",)),
        ("stages.fab.capacity=[1", "stages.fab.capacity", ("not valid YAML",)),
        ("lanes.5.transit_days=1", "lanes.5", ("no element",)),
        ("lanes.0.to=ghost", "lanes.0.to", ("unknown stage", "ghost")),
        ("stages.fab.yield={dist: gamma, k: 2}", "stages.fab.yield", ("gamma", "triangular")),
    ],
    ids=str,
)
def test_bad_set_names_scenario_and_field(
    capsys: pytest.CaptureFixture[str], assignment: str, field: str, words: tuple[str, ...]
) -> None:
    line = one_line_error(capsys, "scenario", "validate", "serial-line", "--set", assignment)
    assert "serial-line" in line
    assert re.search(rf"(^|[ :]){re.escape(field)}: ", line), line
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("assignment", ["stagesfab", "=1"], ids=str)
def test_set_without_path_or_equals(capsys: pytest.CaptureFixture[str], assignment: str) -> None:
    line = one_line_error(capsys, "scenario", "validate", "serial-line", "--set", assignment)
    assert "--set" in line
    assert assignment in line


def test_set_on_a_file_names_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, serial_line(), "good.yaml")
    line = one_line_error(capsys, "scenario", "validate", str(path), "--set", "stages.fab.capacity=-5")
    assert f"{path}: stages.fab.capacity: " in line


@pytest.mark.parametrize(("name", "hint"), [("no-such-scenario", False), ("serial-lin", True)], ids=str)
def test_unknown_bundled_name(capsys: pytest.CaptureFixture[str], name: str, hint: bool) -> None:
    line = one_line_error(capsys, "scenario", "validate", name)
    assert line.startswith(f"error: {name}: ")
    assert "serial-line" in line
    assert "nvidia-2025" in line
    assert ("did you mean 'serial-line'" in line) is hint


@pytest.mark.parametrize("command", [["scenario", "show"], ["supply", "simulate"], ["run"]], ids=" ".join)
def test_every_scenario_command_reports_bad_set(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    args = [*command, "serial-line", "--set", "stages.fab.capacity=-5"]
    if command[0] != "scenario":
        args += ["--out", str(tmp_path / "out"), "--runs", "4", "--quiet"]
    line = one_line_error(capsys, *args)
    assert "serial-line: stages.fab.capacity: " in line
    assert not (tmp_path / "out").exists()


def test_network_errors_keep_hyphenated_ids_in_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    # ids are read from the reference scenario, which is still being edited; they contain hyphens
    s = load_scenario("nvidia-2025")
    did = next(d for d in s.destinations if "-" in d)
    sid = next(st for st, stage in s.stages.items() if "-" in st and stage.consumes)
    for assignment, field in (
        (f"destinations.{did}.from=ghost", f"destinations.{did}.from"),
        (f"stages.{sid}.consumes={{unobtainium: 1}}", f"stages.{sid}.consumes.unobtainium"),
    ):
        line = one_line_error(capsys, "scenario", "validate", "nvidia-2025", "--set", assignment)
        assert f"error: nvidia-2025: {field}: " in line, line
        assert "(top level)" not in line
