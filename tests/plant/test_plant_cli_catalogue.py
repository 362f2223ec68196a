"""``aifactory plant list|show|schema|validate`` on the bundled plants, and a short simulate of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from plant_builders import assert_all_intervals, measures_of, read_kpis

from aifactory.plant.loading import bundled_plant_text, bundled_plants, load_plant, plant_from_data
from cli_invoke import invoke

BUNDLED = bundled_plants()


def test_there_are_bundled_plants() -> None:
    assert "foxconn-houston" in BUNDLED


def test_list_names_every_bundled_plant(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = invoke(capsys, "plant", "list")
    assert code == 0, stderr
    for name in BUNDLED:
        assert name in stdout


@pytest.mark.parametrize("name", BUNDLED)
def test_validate_a_bundled_plant(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, stdout, stderr = invoke(capsys, "plant", "validate", name)
    assert code == 0, stderr
    plant = load_plant(name)
    assert stdout.startswith(f"ok {name}: {len(plant.stations)} stations")
    assert "error" not in stderr.lower()


@pytest.mark.parametrize("name", BUNDLED)
def test_show_prints_the_yaml_as_written(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, stdout, stderr = invoke(capsys, "plant", "show", name)
    assert code == 0, stderr
    assert stdout == bundled_plant_text(name)
    data = yaml.safe_load(stdout)
    assert data["format"] == "aifactory/plant-v1"
    assert plant_from_data(data, name) == load_plant(name)


@pytest.mark.parametrize("name", BUNDLED)
def test_show_with_set_prints_the_validated_yaml(capsys: pytest.CaptureFixture[str], name: str) -> None:
    station = next(iter(load_plant(name).stations))
    code, stdout, stderr = invoke(capsys, "plant", "show", name, "--set", f"stations.{station}.servers=7")
    assert code == 0, stderr
    data = yaml.safe_load(stdout)
    assert data["stations"][station]["servers"] == 7
    again = plant_from_data(data, "shown")
    assert again.stations[station].servers == 7


def test_show_of_a_file_prints_it_as_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (
        "# a comment kept\nformat: aifactory/plant-v1\nname: f\n"
        "release: {interarrival_hours: 2}\nstations:\n  a: {time_hours: 1}\n"
    )
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    code, stdout, _ = invoke(capsys, "plant", "show", str(path))
    assert code == 0
    assert stdout == text


def test_schema_is_json_schema_of_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = invoke(capsys, "plant", "schema")
    assert code == 0, stderr
    schema = json.loads(stdout)
    assert schema["type"] == "object"
    for key in (
        "format",
        "name",
        "release",
        "stations",
        "operators",
        "robots",
        "layout",
        "items",
        "materials",
    ):
        assert key in schema["properties"], key
    assert set(schema["required"]) >= {"format", "name", "release", "stations"}
    assert schema["additionalProperties"] is False
    station = schema["$defs"]["Station"]["properties"]
    assert {"servers", "time_hours", "yield", "rework", "buffer", "batch", "operator"} <= set(station)


def test_the_schema_accepts_the_bundled_plants(capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _, stdout, _ = invoke(capsys, "plant", "schema")
    schema = json.loads(stdout)
    for name in BUNDLED:  # the validated plant, as JSON (PyYAML reads YAML 1.1: 4.5e8 is a string there)
        jsonschema.validate(
            load_plant(name).model_dump(mode="json", by_alias=True, exclude_none=True), schema
        )


@pytest.mark.parametrize("name", BUNDLED)
def test_simulate_a_bundled_plant_writes_every_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = invoke(
        capsys,
        "plant",
        "simulate",
        name,
        "--days",
        "8",
        "--warmup-days",
        "2",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    assert code == 0, stderr
    assert "wrote" in stdout
    kpis = read_kpis(out)
    assert kpis["plant"] == name and kpis["days"] == 8 and kpis["warmup_days"] == 2
    assert_all_intervals(measures_of(kpis))
    assert set(kpis["stations"]) == set(load_plant(name).stations)
    for f in (
        "report.html",
        "units.parquet",
        "visits.parquet",
        "jobs.parquet",
        "outages.parquet",
        "trips.parquet",
    ):
        assert (out / f).is_file(), f
    assert mean_positive(kpis)


def mean_positive(kpis: dict) -> bool:  # type: ignore[type-arg]
    """The plant released and moved units (8 days is enough for every bundled plant to make some)."""
    return kpis["events"] > 1000 and kpis["wip"]["mean"] > 0


def test_a_folder_named_like_a_bundled_plant_does_not_hide_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out wistron-fort-worth`` makes a folder of that name; the name still means the bundled plant."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wistron-fort-worth").mkdir()
    code, _, err = invoke(capsys, "plant", "validate", "wistron-fort-worth")
    assert code == 0, err
    (tmp_path / "other").mkdir()
    code, _, err = invoke(capsys, "plant", "validate", "other")
    assert code == 2 and "other: is a folder, not a file" in err
