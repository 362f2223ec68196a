"""What the records say about units still in the plant when the run ends, and the station measures
computed from them, on runs small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from plant_builders import job_table, make_plant, simulate_checked, station

from aifactory.plant.measures import run_measures


def two_units(hours: float):  # type: ignore[no-untyped-def]
    """One station of 10 h; units released at hours 0 and 1 (the second waits 0 → 10 h)."""
    plant = make_plant({"s": station(10.0)}, release={"item": "rack", "interarrival_hours": 1.0, "limit": 2})
    return simulate_checked(plant, days=hours / 24, seed=0)[0]


def test_a_unit_waiting_at_the_end_has_an_open_visit() -> None:
    run = two_units(5.0)  # unit 0 on the server, unit 1 in the queue
    v = run.records.visits
    queued = v[v[:, 0] == 1]
    assert len(queued) == 1
    assert queued[0, 2] == -1  # no job yet
    assert queued[0, 3] == 1.0 and queued[0, 6] == -1  # arrived at 1 h, still there


def test_a_unit_in_process_at_the_end_has_an_open_visit() -> None:
    """At 15 h unit 1 is on the server (started at 10 h after waiting 9 h): the visits table has a row
    for it, still there (outcome −1), with the job it is in."""
    run = two_units(15.0)
    jobs = job_table(run)
    assert jobs["job"][~jobs["finished"]].tolist() == [1]  # job 1 under way at the end
    v = run.records.visits
    rows = v[v[:, 0] == 1]
    assert len(rows) == 1, f"no visit recorded for the unit on the server: {v.tolist()}"
    assert rows[0, 2] == 1 and rows[0, 3] == 1.0 and rows[0, 6] == -1


def test_station_measures_count_the_unit_in_process_at_the_end() -> None:
    """Over 0–15 h: both units started in the window (waits 0 and 9 h): wait_hours 4.5, units_started
    2; one unit waited from 1 to 10 h: queue 9 / 15."""
    m = run_measures(two_units(15.0), 0.0)["stations"]["s"]
    assert m["units_started"] == 2
    assert m["wait_hours"] == pytest.approx(4.5)
    assert m["queue"] == pytest.approx(9 / 15)
    assert m["utilization"] == pytest.approx(1.0)


def test_every_unit_in_the_plant_at_the_end_is_somewhere() -> None:
    """A unit still in the plant is in a buffer, on a server (open visit) or at the door."""
    plant = make_plant(
        {"a": station(0.7, buffer=2), "b": station(1.3, servers=1, buffer=1)},
        release={"item": "rack", "interarrival_hours": 0.5, "limit": 30},
    )
    run, _ = simulate_checked(plant, days=0.5, seed=0)
    released = set(run.records.released[:, 0].astype(int))
    ended = set(run.records.ended[:, 0].astype(int))
    v = run.records.visits
    open_visits = v[v[:, 6] == -1]
    located = set(open_visits[:, 0].astype(int))
    assert len(open_visits) == len(located), "a unit is in two places"
    in_plant = released - ended
    never_arrived = released - set(v[:, 0].astype(int))  # waiting at the door of the first station
    assert located <= in_plant
    assert sorted(in_plant - located) == sorted(never_arrived), "units in the plant, nowhere in the records"
    # the servers that hold a job at the end: one open visit each
    jobs = job_table(run)
    for job in jobs["job"][~jobs["finished"]]:
        assert (open_visits[:, 2] == job).sum() >= 1, f"job {job} under way at the end: no open visit"
    assert len(np.unique(open_visits[:, 0])) == len(open_visits)
