"""Properties of every run, on random small plants (hypothesis): random servers, times, yields with
rework and retries, finite buffers, batches, operators on shifts, breakdowns and maintenance.

* units are conserved (released = finished + in the plant + scrapped, per item);
* a server holds one job at a time, and one unit at a non-batch station: its occupancy intervals
  [job start, last unit leaves] never overlap;
* a buffer never holds more units than its capacity (arrived → start intervals at a station);
* the lead-time breakdown of every finished unit is non-negative and adds up to its lead time;
* Little's law's two sides differ exactly by the window's edge terms (recomputed from the records);
* shares (utilisation, availability, blocked) lie in [0, 1]; an operator pool's utilisation too when
  operators leave at the end of their shift (``pause``; with ``finish`` they work past it).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from plant_builders import job_table, plant_data, simulate_checked

from aifactory.plant.engine import PlantRun
from aifactory.plant.loading import plant_from_data

EPS = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def durations(draw: st.DrawFn, low: float = 0.05, high: float = 2.0) -> Any:
    mean = draw(st.floats(low, high))
    kind = draw(st.sampled_from(["fixed", "exponential", "uniform", "erlang"]))
    if kind == "fixed":
        return round(mean, 3)
    if kind == "exponential":
        return {"dist": "exponential", "mean": mean}
    if kind == "erlang":
        return {"dist": "erlang", "mean": mean, "k": draw(st.integers(1, 4))}
    return {"dist": "uniform", "low": mean / 2, "high": mean * 1.5}


@st.composite
def plants(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    has_pool = draw(st.booleans())
    rework_station = draw(st.booleans())
    stations: dict[str, dict[str, Any]] = {}
    for i in range(n):
        s: dict[str, Any] = {"servers": draw(st.integers(1, 3)), "time_hours": draw(durations())}
        batch = draw(st.sampled_from([1, 1, 2, 3]))
        if batch > 1:
            s["batch"] = batch
            s["batch_min"] = draw(st.integers(1, batch))
            if draw(st.booleans()):
                s["batch_wait_hours"] = draw(st.floats(0.1, 3.0))
        if draw(st.booleans()):
            s["buffer"] = draw(st.integers(batch, batch + 4))
        if draw(st.booleans()):
            s["yield"] = draw(st.floats(0.5, 0.99))
            if rework_station and draw(st.booleans()):
                s["rework"] = "fix"
                retries = draw(st.sampled_from([None, 0, 1, 2]))
                if retries is not None:
                    s["retries"] = retries
        if draw(st.integers(0, 3)) == 0:
            s["mtbf_hours"] = draw(st.floats(5.0, 60.0))
            s["mttr_hours"] = draw(st.one_of(st.floats(0.2, 5.0), durations(0.2, 5.0)))
        if draw(st.integers(0, 5)) == 0:
            s["maintenance"] = {
                "every_hours": draw(st.floats(8.0, 48.0)),
                "duration_hours": draw(durations(0.1, 2.0)),
            }
        if has_pool and draw(st.booleans()):
            s["operator"] = "tech"
        stations[f"s{i}"] = s
    if rework_station:
        fix: dict[str, Any] = {"time_hours": draw(durations(0.05, 1.0)), "servers": draw(st.integers(1, 2))}
        if draw(st.booleans()):
            fix["yield"] = draw(st.floats(0.6, 1.0))
        if draw(st.booleans()):
            fix["buffer"] = draw(st.integers(1, 4))
        stations["fix"] = fix
    if draw(st.booleans()):
        release: dict[str, Any] = {"item": "rack", "interarrival_hours": draw(durations(0.3, 3.0))}
    else:
        release = {"item": "rack", "wip_limit": draw(st.integers(1, 8))}
    extra: dict[str, Any] = {}
    if has_pool:
        shifts = draw(
            st.sampled_from(
                [
                    [],
                    [{"start": "06:00", "end": "18:00"}],
                    [{"start": "08:00", "end": "16:00", "breaks": [{"start": "12:00", "end": "12:30"}]}],
                    [{"start": "22:00", "end": "30:00", "days": ["mon", "tue", "wed"]}],
                ]
            )
        )
        extra["operators"] = {
            "tech": {
                "count": draw(st.integers(1, 3)),
                "shifts": shifts,
                "at_shift_end": draw(st.sampled_from(["pause", "finish"])),
            }
        }
    if not rework_station or not any(s.get("rework") == "fix" for s in stations.values()):
        stations.pop("fix", None)
    return plant_data(stations, release=release, name="random", **extra)


def run_random(data: dict[str, Any], days: float, seed: int) -> tuple[PlantRun, dict[str, Any]]:
    note(f"plant: {json.dumps(data)}; days {days!r}, seed {seed}")  # printed when an example fails
    plant = plant_from_data(data, "random")
    # simulate_checked: conservation, Little's identity, breakdown non-negative and adding up
    return simulate_checked(plant, days=days, seed=seed, little_tolerance=None)


@SETTINGS
@given(plants(), st.floats(2.0, 8.0), st.integers(0, 2**31 - 1))
def test_runs_conserve_units_and_their_breakdowns_add_up(
    data: dict[str, Any], days: float, seed: int
) -> None:
    _, m = run_random(data, days, seed)
    for s in m["stations"].values():
        for share in ("utilization", "availability", "blocked", "maintenance"):
            assert -EPS <= s[share] <= 1 + EPS, (share, s)
        assert s["wait_hours"] >= 0 and s["queue"] >= 0
    for name, c in m["operators"].items():
        assert c["utilization"] >= -EPS, c
        if data["operators"][name]["at_shift_end"] == "pause":  # `finish` works overtime: may exceed 1
            assert c["utilization"] <= 1 + EPS, c


@SETTINGS
@given(plants(), st.floats(2.0, 8.0), st.integers(0, 2**31 - 1))
def test_a_server_holds_one_job_at_a_time(data: dict[str, Any], days: float, seed: int) -> None:
    run, _ = run_random(data, days, seed)
    jobs = job_table(run)
    v = run.records.visits
    n_jobs = int(jobs["job"].max()) + 1 if len(jobs["job"]) else 0
    occupied = np.full(n_jobs, -np.inf)
    has_job = v[:, 2] >= 0
    np.maximum.at(occupied, v[has_job, 2].astype(int), v[has_job, 5])
    until = np.maximum(occupied[jobs["job"]], jobs["end"]) if n_jobs else np.zeros(0)
    for server in np.unique(jobs["server"]):
        mine = np.flatnonzero(jobs["server"] == server)
        mine = mine[np.argsort(jobs["start"][mine], kind="stable")]
        starts, ends = jobs["start"][mine], until[mine]
        overlap = starts[1:] < ends[:-1] - EPS
        assert not overlap.any(), (
            f"server {server}: job {jobs['job'][mine][1:][overlap][0]} starts while busy"
        )
    batch = np.array([data["stations"][name].get("batch", 1) for name in run.index.stations])
    finished = jobs["finished"]
    assert (jobs["units"][finished] >= 1).all()
    assert (jobs["units"][finished] <= batch[jobs["station"][finished]]).all()


@SETTINGS
@given(plants(), st.floats(2.0, 8.0), st.integers(0, 2**31 - 1))
def test_a_buffer_never_holds_more_than_its_capacity(data: dict[str, Any], days: float, seed: int) -> None:
    run, _ = run_random(data, days, seed)
    jobs = job_table(run)
    start_of = dict(zip(jobs["job"].tolist(), jobs["start"].tolist(), strict=True))
    v = run.records.visits
    for idx, name in enumerate(run.index.stations):
        cap = data["stations"][name].get("buffer")
        if cap is None:
            continue
        rows = v[v[:, 1] == idx]
        arrived = rows[:, 3]
        started = np.array(
            [start_of[int(j)] if j >= 0 else left for j, left in zip(rows[:, 2], rows[:, 5], strict=True)]
        )
        # sweep: at equal times a start (a place freed) comes before an arrival (a place taken)
        events = sorted([(t, 0, -1) for t in started] + [(t, 1, +1) for t in arrived])
        level = np.cumsum([e[2] for e in events]) if events else np.zeros(1)
        assert level.max() <= cap, f"{name}: {int(level.max())} units in a buffer of {cap}"
