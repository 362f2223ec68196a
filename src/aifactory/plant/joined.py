"""A run's records joined up once: units and jobs by id, visits with their jobs, rows grouped by station.

The engine logs as little as it can (:mod:`aifactory.plant.log`); everything derivable — a job's
station, how long it was paused and why, how long its units occupied the server — is derived here with
numpy, and the tables are sorted by station once so that per-station measures take slices, not masks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aifactory.plant.intervals import DisjointCoverage
from aifactory.plant.log import PAUSE_CREW
from aifactory.plant.result import PlantRun

F = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class Groups:
    """Rows of a table grouped by an integer key in ``[0, n)``: one stable sort, then a slice per key."""

    __slots__ = ("_bounds", "_order")

    def __init__(self, keys: Ints, n: int) -> None:
        self._order = np.argsort(keys, kind="stable")
        self._bounds = np.searchsorted(keys[self._order], np.arange(n + 1))

    def rows(self, key: int) -> Ints:
        return np.asarray(self._order[self._bounds[key] : self._bounds[key + 1]], dtype=np.int64)


class Joined:
    """The records of ``run`` as dense arrays (units and jobs indexed by their ids) and groups."""

    def __init__(self, run: PlantRun) -> None:
        r = run.records
        index = run.index
        self.run = run
        self.hours = run.hours
        n_stations = len(index.stations)
        # units
        n_units = len(r.released)
        self.unit_item = np.full(n_units, -1, dtype=np.int64)
        self.unit_release = np.full(n_units, np.nan)
        uid = r.released[:, 0].astype(np.int64)
        self.unit_item[uid] = r.released[:, 1].astype(np.int64)
        self.unit_release[uid] = r.released[:, 2]
        self.unit_end = np.full(n_units, np.nan)
        self.unit_outcome = np.full(n_units, -1, dtype=np.int64)
        if len(r.ended):
            e = r.ended[:, 0].astype(np.int64)
            self.unit_end[e] = r.ended[:, 1]
            self.unit_outcome[e] = r.ended[:, 2].astype(np.int64)
        # jobs: (job, server, start, end, crew a, crew b); the first `finished_jobs` rows ended in the run
        jobs = r.jobs
        self.job_ids = jobs[:, 0].astype(np.int64)
        n_jobs = int(self.job_ids.max()) + 1 if len(jobs) else 0
        self.job_server = np.full(n_jobs, 0, dtype=np.int64)
        self.job_start = np.full(n_jobs, np.nan)
        self.job_end = np.full(n_jobs, np.nan)
        self.job_crew_a = np.full(n_jobs, -1, dtype=np.int64)
        self.job_crew_b = np.full(n_jobs, -1, dtype=np.int64)
        self.job_finished = np.zeros(n_jobs, dtype=bool)
        j = self.job_ids
        self.job_server[j] = jobs[:, 1].astype(np.int64)
        self.job_start[j] = jobs[:, 2]
        self.job_end[j] = jobs[:, 3]
        self.job_crew_a[j] = jobs[:, 4].astype(np.int64)
        self.job_crew_b[j] = jobs[:, 5].astype(np.int64)
        self.job_finished[j[: r.finished_jobs]] = True
        self.job_station = np.asarray(index.server_station[self.job_server], dtype=np.int64)
        # pauses: (job, from, to, cause)
        p = r.pauses
        self.p_job = p[:, 0].astype(np.int64)
        self.p_from, self.p_to = p[:, 1], p[:, 2]
        self.p_cause = p[:, 3].astype(np.int64)
        self.p_station = self.job_station[self.p_job] if len(p) else np.zeros(0, dtype=np.int64)
        held = self.p_to - self.p_from
        crew_held = np.where(self.p_cause == PAUSE_CREW, held, 0.0)
        down_held = np.where(self.p_cause != PAUSE_CREW, held, 0.0)
        self.job_paused_crew = np.bincount(self.p_job, weights=crew_held, minlength=n_jobs)[:n_jobs]
        self.job_paused_down = np.bincount(self.p_job, weights=down_held, minlength=n_jobs)[:n_jobs]
        # outages: (server, from, to, kind)
        o = r.outages
        self.o_server = o[:, 0].astype(np.int64)
        self.o_from, self.o_to = o[:, 1], o[:, 2]
        self.o_kind = o[:, 3].astype(np.int64)
        self.o_station = index.server_station[self.o_server] if len(o) else np.zeros(0, dtype=np.int64)
        # visits: (unit, station, job, arrived, space, left, outcome, flags)
        v = r.visits
        self.v_unit = v[:, 0].astype(np.int64)
        self.v_station = v[:, 1].astype(np.int64)
        self.v_job = v[:, 2].astype(np.int64)
        self.v_arrived = v[:, 3]
        self.v_space = v[:, 4]
        self.v_left = v[:, 5]
        self.v_outcome = v[:, 6].astype(np.int64)
        self.v_flags = v[:, 7].astype(np.int64)
        started = self.v_job >= 0
        safe = np.where(started, self.v_job, 0)
        if n_jobs:
            self.v_start = np.where(started, self.job_start[safe], self.v_left)
            self.v_end = np.where(started, self.job_end[safe], self.v_left)
            self.v_paused_crew = np.where(started, self.job_paused_crew[safe], 0.0)
            self.v_paused_down = np.where(started, self.job_paused_down[safe], 0.0)
        else:
            self.v_start = self.v_end = self.v_left.copy()
            self.v_paused_crew = self.v_paused_down = np.zeros(len(v))
        self.job_occupied_until = np.full(n_jobs, -np.inf)
        np.maximum.at(self.job_occupied_until, self.v_job[started], self.v_left[started])
        # groups by station
        self.jobs_by_station = Groups(self.job_station[self.job_ids], n_stations)
        self.pauses_by_station = Groups(self.p_station, n_stations)
        self.outages_by_station = Groups(self.o_station, n_stations)
        self.visits_by_station = Groups(self.v_station, n_stations)
        rs = r.reasons
        self._reason_rows = Groups(rs[:, 0].astype(np.int64) * 8 + rs[:, 1].astype(np.int64), n_stations * 8)

    def station_jobs(self, station: int) -> Ints:
        """Ids of the jobs of ``station``."""
        return np.asarray(self.job_ids[self.jobs_by_station.rows(station)], dtype=np.int64)

    def reasons(self, station: int, reason: int) -> DisjointCoverage | None:
        rows = self._reason_rows.rows(station * 8 + reason)
        if not len(rows):
            return None
        rs = self.run.records.reasons
        return DisjointCoverage(rs[rows, 2], rs[rows, 3])
