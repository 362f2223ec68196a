"""Bad input to ``aifactory plant``: exit code 2, exactly one line on stderr naming the file and the
field (or the option), never a traceback, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli_invoke import invoke

GOOD = """\
format: aifactory/plant-v1
name: bad
release: {item: rack, interarrival_hours: 1.0}
stations:
  a: {time_hours: 0.5}
  b: {time_hours: 0.5}
"""


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def plant_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "a-plant-file.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def with_(**changes: object) -> str:
    """GOOD with fields replaced or added (dotted paths into the YAML mapping)."""
    data = yaml.safe_load(GOOD)
    for dotted, value in changes.items():
        keys = dotted.split("__")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return yaml.safe_dump(data, sort_keys=False)


BAD_FILES = {
    "unknown station in route": (with_(route=["a", "nope"]), "route.1", "no such station 'nope'"),
    "unknown rework station": (
        with_(stations__a={"time_hours": 0.5, "yield": 0.9, "rework": "nope"}),
        "stations.a.rework",
        "no such station 'nope'",
    ),
    "negative time": (with_(stations__a={"time_hours": -0.5}), "stations.a.time_hours", "negative"),
    "negative time in a distribution": (
        with_(stations__b={"time_hours": {"dist": "uniform", "low": -1, "high": 2}}),
        "stations.b.time_hours",
        "negative",
    ),
    "negative repair time": (
        with_(stations__a={"time_hours": 0.5, "mtbf_hours": 10, "mttr_hours": -1}),
        "stations.a.mttr_hours",
        "negative",
    ),
    "operator pool that does not exist": (
        with_(stations__a={"time_hours": 0.5, "operator": "ghost"}),
        "stations.a.operator",
        "no such operator pool 'ghost'",
    ),
    "shift that ends before it starts": (
        with_(
            stations__a={"time_hours": 0.5, "operator": "tech"},
            operators={"tech": {"count": 2, "shifts": [{"start": "14:00", "end": "06:00"}]}},
        ),
        "operators.tech.shifts.0.end",
        "before it starts",
    ),
    "cycle with no exit": (
        with_(
            stations__a={"time_hours": 0.5, "yield": 0, "rework": "fix"}, stations__fix={"time_hours": 0.5}
        ),
        "stations.a.yield",
        "no exit",
    ),
    "buffer of 0 on the only path": (
        with_(stations__b={"time_hours": 0.5, "buffer": 0}),
        "stations.b.buffer",
        "0 places",
    ),
    "batch larger than the buffer": (
        with_(stations__b={"time_hours": 0.5, "buffer": 3, "batch": 4}),
        "stations.b.batch",
        "larger than its buffer",
    ),
    "malformed YAML": ("format: aifactory/plant-v1\nname: [bad\nrelease: {}\n", None, "malformed YAML"),
    "wrong format": (GOOD.replace("aifactory/plant-v1", "aifactory/v1"), "format", "aifactory/plant-v1"),
    "no format": (GOOD.replace("format: aifactory/plant-v1\n", ""), "format", "expected"),
    "unknown field": (
        with_(stations__a={"time_hours": 0.5, "speed": 3}),
        "stations.a.speed",
        "unknown field",
    ),
    "unknown top-level field": (with_(colour="red"), "colour", "unknown field"),
    "NaN time": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: .nan}"),
        "stations.a.time_hours",
        "finite",
    ),
    "infinite time": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: .inf}"),
        "stations.a.time_hours",
        "finite",
    ),
    "infinite mean": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: {dist: exponential, mean: .inf}}"),
        "stations.a.time_hours.mean",
        "finite",
    ),
    "NaN interarrival": (
        GOOD.replace("interarrival_hours: 1.0", "interarrival_hours: .nan"),
        "release.interarrival_hours",
        "finite",
    ),
    "NaN mtbf": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: 0.5, mtbf_hours: .nan, mttr_hours: 1}"),
        "stations.a.mtbf_hours",
        "finite",
    ),
    "infinite yield": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: 0.5, yield: -.inf}"),
        "stations.a.yield",
        "finite",
    ),
    "unknown distribution": (
        GOOD.replace("a: {time_hours: 0.5}", "a: {time_hours: {dist: weibull, mean: 1}}"),
        "stations.a.time_hours",
        "weibull",
    ),
    "not a mapping": ("- just\n- a list\n", None, "mapping"),
    "unknown fleet for an item": (
        with_(items={"rack": {"route": ["a", "b"], "move_by": "ghost"}}),
        "items.rack.move_by",
        "no such robot fleet",
    ),
}


@pytest.mark.parametrize("command", ["validate", "simulate"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_plant_file_exits_2_naming_file_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, command: str
) -> None:
    text, field, fragment = BAD_FILES[case]
    path = plant_file(tmp_path, text)
    out = tmp_path / "out"
    extra = ["--days", "2", "--out", str(out), "-q"] if command == "simulate" else []
    code, stdout, stderr = invoke(capsys, "plant", command, str(path), *extra)
    assert code == 2, (stdout, stderr)
    line = one_line(stderr)
    assert str(path) in line, line
    if field is not None:
        assert f"{path}: {field}: " in line, line
    else:
        assert f"{path}:" in line, line
    assert fragment in line, line
    assert not out.exists()


BAD_OPTIONS = {
    "--days 0": (["--days", "0"], "--days"),
    "--days -1": (["--days", "-1"], "--days"),
    "--days nan": (["--days", "nan"], "--days"),
    "--days inf": (["--days", "inf"], "--days"),
    "--warmup-days = --days": (["--days", "10", "--warmup-days", "10"], "--warmup-days"),
    "--warmup-days > --days": (["--days", "10", "--warmup-days", "12"], "--warmup-days"),
    "--warmup-days negative": (["--days", "10", "--warmup-days", "-1"], "--warmup-days"),
    "--warmup-days nan": (["--days", "10", "--warmup-days", "nan"], "--warmup-days"),
    "--seed -1": (["--days", "2", "--seed", "-1"], "--seed"),
    "--replications 0": (["--days", "2", "--replications", "0"], "--replications"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_exits_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    args, option = BAD_OPTIONS[case]
    path = plant_file(tmp_path, GOOD)
    out = tmp_path / "out"
    code, _, stderr = invoke(capsys, "plant", "simulate", str(path), *args, "--out", str(out), "-q")
    assert code == 2, stderr
    assert option in one_line(stderr)
    assert not out.exists()


@pytest.mark.parametrize("target", ["file", "file/below"])
def test_out_that_is_an_existing_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str
) -> None:
    path = plant_file(tmp_path, GOOD)
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    out = tmp_path / target
    code, _, stderr = invoke(capsys, "plant", "simulate", str(path), "--days", "2", "--out", str(out), "-q")
    assert code == 2
    line = one_line(stderr)
    assert "--out" in line and "not a folder" in line, line
    assert (tmp_path / "file").read_text(encoding="utf-8") == "not a folder"


SETS = {
    "unknown field": ("stations.a.speed=3", "stations.a.speed", "unknown field"),
    "unknown station": ("stations.zz.time_hours=1", "stations.zz", "no such field"),
    "unknown top-level path": ("nope.x=1", "nope", "no such field"),
    "negative time": ("stations.a.time_hours=-1", "stations.a.time_hours", "negative"),
    "NaN": ("stations.a.time_hours=.nan", "stations.a.time_hours", "finite"),
    "not PATH=VALUE": ("stations.a.time_hours", "stations.a.time_hours", "PATH=VALUE"),
}


@pytest.mark.parametrize("command", ["validate", "simulate", "show"])
@pytest.mark.parametrize("case", list(SETS))
def test_bad_set_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, command: str
) -> None:
    assignment, field, fragment = SETS[case]
    path = plant_file(tmp_path, GOOD)
    out = tmp_path / "out"
    extra = ["--days", "2", "--out", str(out), "-q"] if command == "simulate" else []
    code, _, stderr = invoke(capsys, "plant", command, str(path), "--set", assignment, *extra)
    assert code == 2, stderr
    line = one_line(stderr)
    assert str(path) in line and field in line and fragment in line, line
    assert not out.exists()


def test_a_missing_file_or_unknown_bundled_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, stderr = invoke(capsys, "plant", "validate", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "missing.yaml" in one_line(stderr)
    code, _, stderr = invoke(capsys, "plant", "simulate", "foxconn-houstn", "--days", "1", "-q")
    assert code == 2
    line = one_line(stderr)
    assert "foxconn-houstn" in line and "foxconn-houston" in line  # did you mean


def test_the_good_file_is_good(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The base of every bad case above is itself accepted (so each case fails for its own reason)."""
    code, stdout, stderr = invoke(capsys, "plant", "validate", str(plant_file(tmp_path, GOOD)))
    assert code == 0, stderr
    assert stdout.startswith("ok ")
