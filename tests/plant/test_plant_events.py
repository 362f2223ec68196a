"""Shop-floor events: the twin's own log replays into the state its records say, at any cut-off, with no
event refused; malformed and impossible events are counted with a reason and change nothing; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aifactory.plant.engine import PlantSim
from aifactory.plant.events import events_of, floor_state, to_lines
from aifactory.plant.joined import Joined
from aifactory.plant.loading import load_plant
from aifactory.plant.log import FINISHED, SCRAPPED
from cli_invoke import invoke


@pytest.fixture(scope="module")
def houston() -> tuple[object, object, list[str]]:
    plant = load_plant("foxconn-houston")
    run = PlantSim(plant, 3).run(10 * 24)
    return plant, run, list(to_lines(events_of(run)))


@pytest.mark.parametrize("now", [30.0, 111.5, 239.0])
def test_the_twins_log_replays_into_what_its_records_say(houston: tuple, now: float) -> None:  # type: ignore[type-arg]
    plant, run, lines = houston
    state = floor_state(plant, lines, now)
    assert state.rejected == []
    j = Joined(run)
    summary = state.summary(plant)
    for i, item in enumerate(run.index.items):
        mine = j.unit_item == i
        released = int(np.sum(mine & (j.unit_release <= now)))
        finished = int(np.sum(mine & (j.unit_outcome == FINISHED) & (j.unit_end <= now)))
        scrapped = int(np.sum(mine & (j.unit_outcome == SCRAPPED) & (j.unit_end <= now)))
        got = summary["units"].get(item, {"released": 0, "finished": 0, "scrapped": 0})
        assert (got["released"], got["finished"], got["scrapped"]) == (released, finished, scrapped), item
    # a unit is in process at a station exactly when a visit of it there has started and not ended
    started = (j.v_job >= 0) & (j.v_start <= now) & (j.v_end > now)
    for s, name in enumerate(run.index.stations):
        assert summary["stations"][name]["in_process"] == int(np.sum(started & (j.v_station == s))), name
    on_duty = summary["on_duty"]
    assert set(on_duty) == set(plant.operators) and all(v >= 0 for v in on_duty.values())
    # bought materials on hand: initial + delivered − taken by the units started, as the run's stock rows
    stock = run.records.stock
    for idx, name in enumerate(plant.materials):
        rows = stock[(stock[:, 0] == idx) & (stock[:, 1] <= now)]
        assert state.stock[name] == int(rows[-1, 2]), name


LINE = {
    "format": "aifactory/plant-v1",
    "name": "two",
    "release": {"interarrival_hours": 1},
    "stations": {"a": {"servers": 1, "time_hours": 0.5}, "b": {"servers": 2, "time_hours": 1}},
    "operators": {"tech": {"count": 2}},
}


def test_malformed_and_impossible_events_are_counted_and_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(json.dumps(LINE), encoding="utf-8")
    plant = load_plant(str(path))
    good = [
        {"t": 0, "kind": "released", "unit": 1, "item": "unit"},
        {"t": 0, "kind": "moved", "unit": 1, "station": "a"},
        {"t": 0.1, "kind": "started", "unit": 1, "station": "a", "server": 0},
        {"t": 0.6, "kind": "finished", "unit": 1, "station": "a"},
    ]
    bad = [
        "{not json",
        '{"t": NaN, "kind": "moved", "unit": 1, "station": "b"}',
        json.dumps({"t": 0.7, "kind": "moved", "unit": 1, "station": "nowhere"}),
        json.dumps({"t": 0.7, "kind": "finished", "unit": 1, "station": "a"}),  # finishing twice
        json.dumps({"t": 0.7, "kind": "started", "unit": 5, "station": "a", "server": 0}),
        json.dumps({"t": 0.7, "kind": "released", "unit": 1, "item": "unit"}),
        json.dumps({"t": 0.7, "kind": "teleported", "unit": 1}),
        json.dumps({"t": 0.7, "kind": "station_down", "station": "a", "server": 3}),
        json.dumps({"t": 0.7, "kind": "clock_out", "pool": "tech", "count": 1}),
        json.dumps({"t": 0.2, "kind": "moved", "unit": 1, "station": "b"}),  # back in time
    ]
    lines = [json.dumps(e) for e in good] + bad
    state = floor_state(plant, lines)
    reasons = [r for _, r in state.rejected]
    assert [n for n, _ in state.rejected] == list(range(5, 15))
    assert reasons == [
        "bad JSON: Expecting property name enclosed in double quotes",
        "bad event: t: Input should be a finite number",
        "unknown station: 'nowhere'",
        "impossible: unit 1 finished at a without starting there",
        "unknown unit: 5 was never released",
        "released twice: unit 1",
        "bad event: kind: Input should be 'released', 'moved', 'started', 'finished', 'failed', 'scrapped', "
        "'station_down', 'station_up', 'clock_in', 'clock_out' or 'delivered'",
        "unknown server: a has 1, not 3",
        "impossible: tech would have fewer than 0 operators on duty",
        "time goes backwards: 0.2 h after 0.6 h",
    ]
    assert state.accepted == len(good)
    unit = state.units[1]
    assert (unit.station, unit.status, unit.since) == ("a", "waiting", 0.6)  # as the good events left it
    summary = state.summary(plant)
    assert summary["events_rejected"] == 10 and summary["rejected_by_reason"]["impossible"] == 2


def test_the_cli_writes_a_log_and_reads_it_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "events.jsonl"
    code, _, err = invoke(
        capsys, "plant", "simulate", "foxconn-houston", "--days", "5", "--out", str(tmp_path / "sim"),
        "--no-html", "--no-records", "--events-out", str(log), "-q",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = invoke(
        capsys,
        "plant",
        "state",
        "foxconn-houston",
        "--events",
        str(log),
        "--now",
        "72",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    assert "events applied, 0 refused" in out
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["now_hours"] == 72 and state["units"]["rack"]["released"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state", "foxconn-houston", "--events", "missing.jsonl"], "--events missing.jsonl: no such file"),
        (["state", "foxconn-houston", "--events", "{log}", "--now", "nan"], "--now nan: must be a number"),
        (["simulate", "foxconn-houston", "--days", "1", "--events-out", "{dir}"], "is a folder, not a file"),
    ],
)
def test_the_cli_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("")
    args = [a.replace("{log}", str(log)).replace("{dir}", str(tmp_path)) for a in args]
    code, _, err = invoke(capsys, "plant", *args, "--out", str(tmp_path / "o"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
