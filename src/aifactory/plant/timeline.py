"""A run over time: utilisation per resource and bucket, WIP, racks finished per week, the bottleneck.

The bottleneck of a bucket is the station that was *active* the largest share of its server-hours —
processing, or down for a failure or maintenance (the "active period" view: a station that is idle,
starved or blocked is not what limits the line then). Stations no unit visited in the bucket are left
out. Everything here is computed from the run's records (:mod:`aifactory.plant.log`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aifactory.plant.calendar import duty_hours
from aifactory.plant.intervals import Coverage
from aifactory.plant.joined import Joined
from aifactory.plant.log import FINISHED, TRIP_MOVE
from aifactory.plant.measures import crew_held
from aifactory.plant.result import PlantRun

F = npt.NDArray[np.float64]
WEEK = 168.0


@dataclass(frozen=True)
class Timeline:
    """Per-bucket series of one run (hours from the start of the run)."""

    edges: F
    """Bucket edges, hours."""
    resources: tuple[str, ...]
    """Row names of ``utilization``: stations, then operator pools, then robot fleets."""
    kinds: tuple[str, ...]
    """``station``, ``operators`` or ``robots`` for each row."""
    utilization: F
    """(resources × buckets) busy share of what was available (on duty, for operators)."""
    active: F
    """(stations × buckets) share of server-hours processing or down."""
    wip: F
    """Time-average units of the product in the plant, per bucket."""
    bottleneck: npt.NDArray[np.int64]
    """Index of the bottleneck station per bucket (-1: nothing active)."""
    week_edges: F
    finished_per_week: F
    """Units of the product finished in each week."""


def timeline(run: PlantRun, bucket_hours: float = 24.0, joined: Joined | None = None) -> Timeline:
    """The series of ``run`` in buckets of ``bucket_hours``."""
    hours = run.hours
    edges = np.arange(0.0, hours + bucket_hours * 0.5, bucket_hours)
    if edges[-1] < hours:
        edges = np.append(edges, hours)
    edges[-1] = hours
    lengths = np.diff(edges)
    r = run.records
    index = run.index
    j = joined if joined is not None else Joined(run)
    rows: list[F] = []
    names: list[str] = []
    kinds: list[str] = []
    active_rows: list[F] = []
    for s, (name, servers) in enumerate(zip(index.stations, index.station_servers, strict=True)):
        cap = servers * lengths
        jobs = j.station_jobs(s)
        busy = Coverage(j.job_start[jobs], j.job_end[jobs]).per_bucket(edges)
        p = j.pauses_by_station.rows(s)
        busy -= Coverage(j.p_from[p], j.p_to[p]).per_bucket(edges)
        o = j.outages_by_station.rows(s)
        down = Coverage(j.o_from[o], j.o_to[o]).per_bucket(edges)
        rows.append(busy / cap)
        active_rows.append((busy + down) / cap)
        names.append(name)
        kinds.append("station")
    for c, (name, steps, count, robot) in enumerate(
        zip(index.crews, index.duty, index.crew_count, index.crew_is_robot, strict=True)
    ):
        held, away = crew_held(j, c)
        on_duty = duty_hours(steps, count, edges)
        busy = held.per_bucket(edges) - away.per_bucket(edges)
        rows.append(np.divide(busy, on_duty, out=np.zeros_like(busy), where=on_duty > 0))
        names.append(name)
        kinds.append("robots" if robot else "operators")
    trips = r.trips
    fleet_of = index.amr_fleet[trips[:, 0].astype(np.int64)] if len(trips) else np.zeros(0, np.int64)
    for f, (name, size) in enumerate(zip(index.fleets, index.fleet_size, strict=True)):
        moves = (fleet_of == f) & (trips[:, 1] == TRIP_MOVE)
        busy = Coverage(trips[moves, 3], trips[moves, 5]).per_bucket(edges)
        rows.append(busy / (max(size, 1) * lengths))
        names.append(name)
        kinds.append("robots")
    product = j.unit_item == 0
    end = np.where(np.isnan(j.unit_end), hours, j.unit_end)
    wip = Coverage(j.unit_release[product], end[product]).per_bucket(edges) / lengths
    active = np.array(active_rows) if active_rows else np.zeros((0, len(lengths)))
    visited = np.array(
        [np.histogram(j.v_start[j.v_station == s], edges)[0] for s in range(len(index.stations))]
    )
    ranked = np.where(visited > 0, active, -1.0) if len(active) else active
    bottleneck = np.where(ranked.max(axis=0) > 0, ranked.argmax(axis=0), -1) if len(ranked) else np.zeros(0)
    week_edges = np.arange(0.0, hours + WEEK, WEEK)
    week_edges = week_edges[week_edges <= hours + 1e-9]
    if week_edges[-1] < hours:
        week_edges = np.append(week_edges, hours)
    done = product & (j.unit_outcome == FINISHED)
    finished = np.histogram(j.unit_end[done], week_edges)[0].astype(np.float64)
    return Timeline(
        edges=edges,
        resources=tuple(names),
        kinds=tuple(kinds),
        utilization=np.array(rows) if rows else np.zeros((0, len(lengths))),
        active=active,
        wip=wip,
        bottleneck=np.asarray(bottleneck, dtype=np.int64),
        week_edges=week_edges,
        finished_per_week=finished,
    )
