"""AMR moves: driving time = distance / speed, plus the load and unload minutes.

Two stations a known distance apart, one AMR, a unit an hour (the AMR is always back in time): every
trip drives empty from where the AMR is to the pick-up (0 m the first time, the AMR starts at the first
station), loads, drives the distance and unloads. All of it deterministic: the tolerance is rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plant_builders import mean, plant_data, simulate_checked, simulate_cli, station

from aifactory.plant.engine import PlantRun
from aifactory.plant.log import TRIP_MOVE

SPEED = 2.0  # m/s
MANHATTAN = 60.0 + 80.0  # (0, 0) to (60, 80) with no aisles


def amr_data(load: float, unload: float | None, **layout: Any) -> dict[str, Any]:
    fleet: dict[str, Any] = {"count": 1, "speed_m_s": SPEED, "load_minutes": load}
    if unload is not None:
        fleet["unload_minutes"] = unload
    return plant_data(
        {"a": station(0.1), "b": station(0.1)},
        release={"item": "rack", "interarrival_hours": 1.0},
        robots={"amr": fleet},
        layout={"nodes": {"a": [0, 0], "b": [60, 80]}, **layout},
    )


def check_trips(run: PlantRun, distance: float, load_h: float, unload_h: float) -> None:
    trips = run.records.trips
    moves = trips[(trips[:, 1] == TRIP_MOVE) & ~np.isnan(trips[:, 8])]
    assert len(moves) > 100
    leg = distance / SPEED / 3600
    empty = np.where(np.arange(len(moves)) == 0, 0.0, distance)  # the first starts at a
    np.testing.assert_allclose(moves[:, 2], moves[:, 3], atol=1e-12)  # never waited for the AMR
    np.testing.assert_allclose(moves[:, 4] - moves[:, 3], empty / SPEED / 3600 + load_h, atol=1e-9)
    np.testing.assert_allclose(moves[:, 5] - moves[:, 4], leg + unload_h, atol=1e-9)
    np.testing.assert_allclose(moves[:, 8], empty + distance, atol=1e-9)


@pytest.mark.parametrize(("load", "unload"), [(0.0, None), (3.0, None), (3.0, 1.0), (0.0, 2.5)])
def test_amr_travel_is_distance_over_speed(load: float, unload: float | None) -> None:
    run, m = simulate_checked(make_plant_from(amr_data(load, unload)), days=10)
    load_h = load / 60
    unload_h = (unload if unload is not None else load) / 60
    check_trips(run, MANHATTAN, load_h, unload_h)
    # a unit's lead time after the first: a, the AMR's trip back empty, the load, the ride, the unload, b
    trip = 2 * MANHATTAN / SPEED / 3600 + load_h + unload_h
    release, end = run.records.released, run.records.ended
    leads = end[1:, 1] - release[1 : len(end), 2]
    np.testing.assert_allclose(leads, 0.2 + trip, atol=1e-9)
    assert m["robots"]["amr"]["moves"] > 200
    assert m["robots"]["amr"]["wait_for_amr_hours"] == pytest.approx(0.0, abs=1e-12)
    parts = m["lead_time_breakdown_hours"]
    assert parts["processing"] == pytest.approx(0.2, abs=1e-9)
    assert parts["amr"] == pytest.approx(m["lead_time_hours"] - 0.2, abs=1e-9)


def test_amr_drives_the_aisle_length_when_given() -> None:
    data = amr_data(2.0, 1.0, edges=[{"from": "a", "to": "b", "distance_m": 250.0}])
    run, _ = simulate_checked(make_plant_from(data), days=10)
    check_trips(run, 250.0, 2 / 60, 1 / 60)


def test_amr_takes_the_shortest_path_over_the_aisles() -> None:
    """a → hub → b is 40 + 50 m; the direct aisle a → b is 200 m: the AMR drives 90 m each way."""
    data = amr_data(
        0.0,
        None,
        edges=[
            {"from": "a", "to": "b", "distance_m": 200.0},
            {"from": "a", "to": "hub", "distance_m": 40.0},
            {"from": "hub", "to": "b", "distance_m": 50.0},
        ],
    )
    data["layout"]["nodes"]["hub"] = [30, 30]
    run, _ = simulate_checked(make_plant_from(data), days=10)
    check_trips(run, 90.0, 0.0, 0.0)


def test_station_positions_alone_put_a_plant_without_items_on_the_layout() -> None:
    """docs/plant.md: a move between two stations that stand on the layout is made by the plant's only
    AMR fleet (for a plant without items); a station's ``position`` makes it a layout node."""
    data = plant_data(
        {"a": station(0.1, position=[0, 0]), "b": station(0.1, position=[60, 80])},
        release={"item": "rack", "interarrival_hours": 1.0},
        robots={"amr": {"count": 1, "speed_m_s": SPEED}},
    )
    run, _ = simulate_checked(make_plant_from(data), days=10)
    check_trips(run, MANHATTAN, 0.0, 0.0)


def test_items_move_by_names_the_fleet() -> None:
    data = plant_data(
        {"a": station(0.1, position=[0, 0]), "b": station(0.1, position=[60, 80])},
        release={"item": "rack", "interarrival_hours": 1.0},
        robots={"amr": {"count": 1, "speed_m_s": SPEED, "load_minutes": 1.0}},
        items={"rack": {"route": ["a", "b"], "move_by": "amr"}},
    )
    run, _ = simulate_checked(make_plant_from(data), days=10)
    check_trips(run, MANHATTAN, 1 / 60, 1 / 60)


def test_amr_travel_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    load, unload = 3.0, 1.0
    days = 20.0
    kpis = simulate_cli(capsys, tmp_path, amr_data(load, unload), days=days, warmup_days=1, records=True)
    trip = 2 * MANHATTAN / SPEED / 3600 + (load + unload) / 60
    assert mean(kpis, "lead_time_hours") == pytest.approx(0.2 + trip, abs=1e-9)
    assert mean(kpis, "robots", "amr", "metres_per_move") == pytest.approx(2 * MANHATTAN, abs=1e-9)
    # one move an hour, each taking `trip`: the AMR's utilisation
    assert mean(kpis, "robots", "amr", "utilization") == pytest.approx(
        trip, abs=trip / ((days - 1) * 24) + 1e-9
    )


def make_plant_from(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    from aifactory.plant.loading import plant_from_data

    return plant_from_data(data, "test-plant")
