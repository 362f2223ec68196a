"""Forecasts from the floor: exact on a deterministic line, calibrated on the twin's own log (the
P10–P90 interval covers about 80 % of what happened), reproducible, and the CLI with its bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aifactory.parallel import make_mapper
from aifactory.plant.backtest import backtest, snapshots
from aifactory.plant.engine import PlantSim
from aifactory.plant.events import events_of, floor_state, to_lines
from aifactory.plant.forecast import forecast
from aifactory.plant.loading import load_plant
from cli_invoke import invoke

LINE = {
    "format": "aifactory/plant-v1",
    "name": "serial",
    "release": {"interarrival_hours": 100, "limit": 6},
    "stations": {"a": {"servers": 1, "time_hours": 2.0}, "b": {"servers": 1, "time_hours": 1.0}},
}


@pytest.fixture(scope="module")
def houston() -> tuple[object, list[str]]:
    plant = load_plant("foxconn-houston")
    run = PlantSim(plant, 11).run(24 * 24)
    return plant, list(to_lines(events_of(run)))


def _line(tmp_path: Path) -> object:
    path = tmp_path / "serial.yaml"
    path.write_text(json.dumps(LINE), encoding="utf-8")
    return load_plant(str(path))


def test_a_deterministic_line_is_forecast_exactly(tmp_path: Path) -> None:
    """Station a (2 h, one server) holds unit 0, started 0.5 h ago; units 1–3 wait; unit 4 is between a
    and b. By hand: a finishes 0 at 11.5, then 1, 2, 3 every 2 h; b takes 1 h after each; 4 is at b
    first (10 → 11)."""
    plant = _line(tmp_path)
    events = [
        {"t": 0.0, "kind": "released", "unit": u, "item": "unit", "order": "A" if u < 3 else "B"}
        for u in range(5)
    ]
    events += [{"t": 1.0 + u, "kind": "moved", "unit": u, "station": "a"} for u in range(4)]
    events += [
        {"t": 8.0, "kind": "moved", "unit": 4, "station": "a"},
        {"t": 8.0, "kind": "started", "unit": 4, "station": "a", "server": 0},
        {"t": 10.0, "kind": "finished", "unit": 4, "station": "a"},
        {"t": 10.0, "kind": "moved", "unit": 4, "station": "b"},
        {"t": 10.0, "kind": "started", "unit": 4, "station": "b", "server": 0},
        {"t": 10.0, "kind": "started", "unit": 0, "station": "a", "server": 0},
    ]
    events.sort(key=lambda e: e["t"])
    state = floor_state(plant, [json.dumps(e) for e in events], now=10.5)  # type: ignore[arg-type]
    assert state.rejected == []
    fc = forecast(plant, state, replications=3, new_releases=False)  # type: ignore[arg-type]
    done = {k: float(v) for k, v in zip(fc.ids, fc.ends[0], strict=True)}
    assert done == pytest.approx({4: 11.0, 0: 13.0, 1: 15.0, 2: 17.0, 3: 19.0})
    assert np.all(fc.ends == fc.ends[0])  # nothing random: every replication the same
    orders = {r["order"]: r["p50_hours"] for r in fc.order_rows()}
    assert orders == pytest.approx({"A": 17.0, "B": 19.0})


def test_new_releases_go_on_from_the_calendar(tmp_path: Path) -> None:
    """A release every 100 h (6 in all): at 150 h two are released; the twin releases the third at 200."""
    plant = _line(tmp_path)
    run = PlantSim(plant, 0).run(150.0)  # type: ignore[arg-type]
    state = floor_state(plant, list(to_lines(events_of(run))))  # type: ignore[arg-type]
    state.now = 150.0
    assert state.released == {"unit": 2} and not state.snapshot().units
    sim = PlantSim(plant, 1)  # type: ignore[arg-type]
    sim.kernel.now = 150.0
    sim.releases.start_warm(released=2, in_plant=0)
    sim.kernel.run(1000.0)
    assert sim.log.released[2::3] == [200.0, 300.0, 400.0, 500.0]  # and no more: the limit is 6


def test_the_twins_log_is_forecast_with_about_80_percent_coverage(houston: tuple) -> None:  # type: ignore[type-arg]
    plant, lines = houston
    result = backtest(plant, lines, [150.0, 300.0, 420.0], replications=24, seed=5)
    overall = result["overall"]
    assert overall["scored"] > 500
    assert 0.65 <= overall["coverage_p10_p90"] <= 0.93, overall
    # the median is close: within a tenth of the mean time the open units had left
    remaining = []
    states, final = snapshots(plant, lines, [150.0, 300.0, 420.0])
    for s in states:
        remaining += [
            final.units[k].since - s.now for k, u in s.units.items() if final.units[k].status == "left"
        ]
    assert overall["mae_p50_hours"] < 0.15 * float(np.mean(remaining)), (overall, np.mean(remaining))


def test_forecasts_repeat_with_the_seed_and_on_workers(houston: tuple) -> None:  # type: ignore[type-arg]
    plant, lines = houston
    state = floor_state(plant, lines, 200.0)
    a = forecast(plant, state, replications=4, seed=3)
    b = forecast(plant, state, replications=4, seed=3, mapper=make_mapper(2))  # type: ignore[arg-type]
    c = forecast(plant, state, replications=4, seed=4)
    assert np.array_equal(a.ended, b.ended) and not np.array_equal(a.ended, c.ended)
    assert a.replications == 4 and len(a.ids) == len(state.snapshot().units) > 100


def test_the_cli_forecasts_and_backtests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "events.jsonl"
    code, _, err = invoke(
        capsys, "plant", "simulate", "foxconn-houston", "--days", "12", "--out", str(tmp_path / "sim"),
        "--no-html", "--no-records", "--events-out", str(log), "-q",
    )  # fmt: skip
    assert code == 0, err
    out = tmp_path / "fc"
    code, text, err = invoke(
        capsys, "plant", "forecast", "foxconn-houston", "--events", str(log), "--now", "150",
        "-r", "8", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "open units at 150 h" in text and "Orders" in text
    data = json.loads((out / "forecast.json").read_text())
    racks = [u for u in data["units"] if u["item"] == "rack"]
    assert racks and all(u["p50_hours"] is None or u["p50_hours"] > 150 for u in racks)
    assert data["orders"] and (out / "forecast.csv").read_text().startswith("kind,id,item")
    assert "When each open rack ships" in (out / "report.html").read_text()
    code, text, err = invoke(
        capsys, "plant", "backtest", "foxconn-houston", "--events", str(log), "--cutoff", "100",
        "--cutoff", "150", "-r", "8", "--open-only", "--out", str(tmp_path / "bt"),
    )  # fmt: skip
    assert code == 0, err
    bt = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert [c["now_hours"] for c in bt["cutoffs"]] == [100.0, 150.0] and bt["overall"]["scored"] > 0
    assert "P10–P90 coverage" in (tmp_path / "bt" / "backtest.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["forecast", "foxconn-houston", "--events", "missing.jsonl"],
            "--events missing.jsonl: no such file",
        ),
        (["forecast", "foxconn-houston", "--events", "{log}", "--now", "inf"], "--now inf: must be a number"),
        (
            ["forecast", "foxconn-houston", "--events", "{log}", "--horizon-days", "0"],
            "--horizon-days 0: must be",
        ),
        (["backtest", "foxconn-houston", "--events", "{log}", "--cutoff", "nan"], "--cutoff nan: must be"),
        (["backtest", "foxconn-houston", "--events", "{empty}"], "no event with a time"),
    ],
)
def test_the_cli_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"t": 0, "kind": "released", "unit": 0, "item": "rack"}\n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not an event\n", encoding="utf-8")
    argv = [a.format(log=log, empty=empty) for a in args]
    code, _, err = invoke(capsys, "plant", *argv, "--out", str(tmp_path / "out"))
    assert code == 2 and message in err, err
    assert not (tmp_path / "out").exists()
