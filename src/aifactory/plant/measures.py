"""A run's measures, computed from its records after the run (numpy; the engine only logs).

Everything is measured in the window from the end of the warm-up to the end of the run:

* ``throughput_per_day``: units of the product that finished in the window, per day;
  ``lead_time_hours`` (mean) and ``lead_time_p90_hours``: release to finish of those units;
  ``wip``: time-average units of the product in the plant; ``scrapped``: units of it scrapped.
* per station: ``utilization`` = processing server-hours ÷ (servers × hours) (a paused job is not
  processing); ``wait_hours`` = mean hours a unit waited in its queue, over units that started there in
  the window; ``availability`` = share of server-hours not broken down (maintenance is not a failure:
  it is ``maintenance``); ``blocked`` = share of server-hours holding finished units that could not
  leave yet (no place downstream, or waiting for an AMR); ``queue`` = time-average units waiting.
* per operator pool: ``utilization`` = hours operators were held by jobs ÷ operator-hours on duty;
  arm and humanoid fleets the same with every robot always on duty; AMR fleets: hours on moves ÷
  (robots × hours), ``charging`` the same for charging.
* the breakdown of each finished unit's lead time: processing, waiting for a server, for a batch to
  form, for an operator (including jobs paused while operators were away), for parts, down (paused by
  a failure or a maintenance), blocked (finished but no place downstream, or at the door), AMR
  (waiting for one and riding on it) and rework (everything between a failure and passing the retest).
  Queue time is split by the reason the station's queue was not started at the time (a station logs
  each change of reason); what no other reason explains is waiting for a server. The parts add up to
  the lead time exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.plant.calendar import duty_hours
from aifactory.plant.intervals import Coverage
from aifactory.plant.joined import Groups, Joined
from aifactory.plant.log import (
    FAILED,
    FINISHED,
    OUTAGE_FAILURE,
    OUTAGE_MAINTENANCE,
    PAUSE_CREW,
    PAUSE_DOWN_NO_CREW,
    REWORK_IN,
    REWORK_OUT,
    SCRAPPED,
    TRIP_CHARGE,
    TRIP_MOVE,
)
from aifactory.plant.result import PlantRun
from aifactory.plant.runtime import WAIT_BATCH, WAIT_CREW, WAIT_PARTS

F = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

CATEGORIES = ("processing", "server", "batch", "operator", "parts", "down", "blocked", "amr", "rework")
"""The parts of a lead time, in the order they are reported."""


def lead_time_parts(j: Joined, units: Ints) -> dict[str, F]:
    """The breakdown of the lead times of ``units`` (finished ones), hours per category."""
    n = len(j.unit_item)
    sel = np.zeros(n, dtype=bool)
    sel[units] = True
    keep = sel[j.v_unit] & (j.v_outcome >= 0)
    # a unit's visits are logged as it leaves each station, so in the order it made them
    order = np.argsort(j.v_unit[keep], kind="stable")
    idx = np.flatnonzero(keep)[order]
    unit = j.v_unit[idx]
    arrived, start, end = j.v_arrived[idx], j.v_start[idx], j.v_end[idx]
    space, left = j.v_space[idx], j.v_left[idx]
    station = j.v_station[idx]
    same_next = np.concatenate([unit[1:] == unit[:-1], [False]])
    next_arrival = np.where(same_next, np.concatenate([arrived[1:], [0.0]]), left)
    paused_crew, paused_down = j.v_paused_crew[idx], j.v_paused_down[idx]
    queue = start - arrived
    part: dict[str, F] = {c: np.zeros(len(idx)) for c in CATEGORIES}
    by_station = Groups(station, len(j.run.index.stations))
    for s in range(len(j.run.index.stations)):
        rows = by_station.rows(s)
        if not len(rows):
            continue
        for reason, name in ((WAIT_BATCH, "batch"), (WAIT_CREW, "operator"), (WAIT_PARTS, "parts")):
            cover = j.reasons(s, reason)
            if cover is not None:
                part[name][rows] = np.minimum(cover.within(arrived[rows], start[rows]), queue[rows])
    part["server"] = np.clip(queue - part["batch"] - part["operator"] - part["parts"], 0.0, None)
    part["processing"] = end - start - paused_crew - paused_down
    part["operator"] = part["operator"] + paused_crew
    part["down"] = paused_down
    part["blocked"] = space - end
    part["amr"] = next_arrival - space
    flags, outcome = j.v_flags[idx], j.v_outcome[idx]
    rework_in = (flags & REWORK_IN) > 0
    rework_out = ((flags & REWORK_OUT) > 0) | (outcome == FAILED)
    rework = np.zeros(len(idx))
    for name in ("processing", "server", "batch", "operator", "parts", "down"):
        rework += np.where(rework_in, part[name], 0.0)
        part[name] = np.where(rework_in, 0.0, part[name])
    for name in ("blocked", "amr"):
        rework += np.where(rework_out, part[name], 0.0)
        part[name] = np.where(rework_out, 0.0, part[name])
    part["rework"] = rework
    first = np.concatenate([[True], unit[1:] != unit[:-1]]) if len(unit) else np.zeros(0, dtype=bool)
    door = np.where(first, arrived - j.unit_release[unit], 0.0)
    part["blocked"] = part["blocked"] + door
    return {c: np.bincount(unit, weights=v, minlength=n)[units].astype(np.float64) for c, v in part.items()}


def finished_lead_times(j: Joined, warmup_hours: float) -> F:
    """Lead times (hours) of the units of the product that finished after ``warmup_hours``."""
    done = (j.unit_item == 0) & (j.unit_outcome == FINISHED) & (j.unit_end > warmup_hours)
    return np.asarray(j.unit_end[done] - j.unit_release[done], dtype=np.float64)


def run_measures(run: PlantRun, warmup_hours: float, joined: Joined | None = None) -> dict[str, Any]:
    """The measures of one run (plain numbers), measured from ``warmup_hours`` to the end."""
    j = joined if joined is not None else Joined(run)
    w0, w1 = warmup_hours, run.hours
    span = w1 - w0
    days = span / 24.0
    index = run.index
    out: dict[str, Any] = {}
    end = np.where(np.isnan(j.unit_end), w1, j.unit_end)
    in_window = (j.unit_end > w0) & (j.unit_end <= w1)
    product = j.unit_item == 0
    done = np.flatnonzero(product & in_window & (j.unit_outcome == FINISHED))
    scrapped = product & in_window & (j.unit_outcome == SCRAPPED)
    lead = j.unit_end[done] - j.unit_release[done]
    units_cover = Coverage(j.unit_release[product], end[product])
    out["throughput_per_day"] = len(done) / days
    out["lead_time_hours"] = float(lead.mean()) if len(lead) else 0.0
    out["lead_time_p90_hours"] = float(np.percentile(lead, 90)) if len(lead) else 0.0
    out["wip"] = units_cover.between(w0, w1) / span
    out["scrapped"] = int(scrapped.sum())
    released = product & (j.unit_release >= w0) & (j.unit_release < w1)
    out["released"] = int(released.sum())
    out["completed"] = len(done)
    out["racks_per_week"] = len(done) / days * 7
    departed = np.flatnonzero(product & in_window)
    sojourn = j.unit_end[departed] - j.unit_release[departed]
    little = len(departed) / span * (float(sojourn.mean()) if len(sojourn) else 0.0)
    out["littles_law"] = {
        "wip": out["wip"],
        "departures_x_time_in_plant": little,
        "relative_difference": (out["wip"] - little) / out["wip"] if out["wip"] > 0 else 0.0,
    }
    parts = lead_time_parts(j, done)
    out["lead_time_breakdown_hours"] = {c: float(v.mean()) if len(v) else 0.0 for c, v in parts.items()}
    out["stations"] = _stations(j, w0, w1)
    crews = _crews(j, w0, w1)
    out["operators"] = {
        n: crews[n] for n, robot in zip(index.crews, index.crew_is_robot, strict=True) if not robot
    }
    out["robots"] = {
        n: crews[n] for n, robot in zip(index.crews, index.crew_is_robot, strict=True) if robot
    } | _amrs(j, w0, w1)
    out["items"] = _items(j, w0, w1)
    out["materials"] = _materials(j, w0, w1)
    return out


def _stations(j: Joined, w0: float, w1: float) -> dict[str, Any]:
    index = j.run.index
    span = w1 - w0
    out: dict[str, Any] = {}
    for st_idx, (name, servers) in enumerate(zip(index.stations, index.station_servers, strict=True)):
        c = servers * span
        jobs = j.station_jobs(st_idx)
        busy = Coverage(j.job_start[jobs], j.job_end[jobs]).between(w0, w1)
        p = j.pauses_by_station.rows(st_idx)
        paused = Coverage(j.p_from[p], j.p_to[p]).between(w0, w1)
        pc = p[j.p_cause[p] == PAUSE_CREW]
        paused_crew = Coverage(j.p_from[pc], j.p_to[pc]).between(w0, w1)
        o = j.outages_by_station.rows(st_idx)
        of = o[j.o_kind[o] == OUTAGE_FAILURE]
        om = o[j.o_kind[o] == OUTAGE_MAINTENANCE]
        failed = Coverage(j.o_from[of], j.o_to[of]).between(w0, w1)
        maint = Coverage(j.o_from[om], j.o_to[om]).between(w0, w1)
        done = jobs[j.job_finished[jobs]]
        ends = j.job_end[done]
        blocked = Coverage(ends, np.maximum(j.job_occupied_until[done], ends)).between(w0, w1)
        v = j.visits_by_station.rows(st_idx)
        start, arrived = j.v_start[v], j.v_arrived[v]
        started = (j.v_job[v] >= 0) & (start >= w0) & (start < w1)
        waits = start[started] - arrived[started]
        queue = Coverage(arrived, start).between(w0, w1)
        left, outcome = j.v_left[v], j.v_outcome[v]
        ended = (left > w0) & (left <= w1)
        out[name] = {
            "utilization": (busy - paused) / c,
            "wait_hours": float(waits.mean()) if len(waits) else 0.0,
            "availability": 1.0 - failed / c,
            "maintenance": maint / c,
            "blocked": blocked / c,
            "paused_for_operator": paused_crew / c,
            "queue": queue / span,
            "units_started": int(started.sum()),
            "failed": int((ended & (outcome == FAILED)).sum()),
            "scrapped": int((ended & (outcome == SCRAPPED)).sum()),
        }
    return out


def crew_held(j: Joined, crew: int) -> tuple[Coverage, Coverage]:
    """Coverage of the jobs that held a member of ``crew``, and of their pauses for want of crew."""
    mine = (j.job_crew_a == crew) | (j.job_crew_b == crew)
    ids = j.job_ids[mine[j.job_ids]]
    held = Coverage(j.job_start[ids], j.job_end[ids])
    away = (j.p_cause == PAUSE_CREW) | (j.p_cause == PAUSE_DOWN_NO_CREW)
    mp = mine[j.p_job] & away if len(j.p_job) else np.zeros(0, dtype=bool)
    return held, Coverage(j.p_from[mp], j.p_to[mp])


def _crews(j: Joined, w0: float, w1: float) -> dict[str, Any]:
    index = j.run.index
    out: dict[str, Any] = {}
    for idx, (name, steps, count) in enumerate(zip(index.crews, index.duty, index.crew_count, strict=True)):
        held, away = crew_held(j, idx)
        hours = held.between(w0, w1) - away.between(w0, w1)
        on_duty = float(duty_hours(steps, count, np.array([w0, w1]))[0])
        out[name] = {
            "utilization": hours / on_duty if on_duty > 0 else 0.0,
            "busy_hours": hours,
            "on_duty_hours": on_duty,
        }
    return out


def _amrs(j: Joined, w0: float, w1: float) -> dict[str, Any]:
    index = j.run.index
    trips = j.run.records.trips
    span = w1 - w0
    fleet_of = index.amr_fleet[trips[:, 0].astype(np.int64)] if len(trips) else np.zeros(0, np.int64)
    out: dict[str, Any] = {}
    for f_idx, (name, size) in enumerate(zip(index.fleets, index.fleet_size, strict=True)):
        c = size * span
        mine = fleet_of == f_idx
        moves = mine & (trips[:, 1] == TRIP_MOVE)
        charges = mine & (trips[:, 1] == TRIP_CHARGE)
        busy = Coverage(trips[moves, 3], trips[moves, 5]).between(w0, w1)
        charging = Coverage(trips[charges, 3], trips[charges, 5]).between(w0, w1)
        done = moves & (trips[:, 5] > w0) & (trips[:, 5] <= w1) & (trips[:, 7] >= 0)
        out[name] = {
            "utilization": busy / c if c > 0 else 0.0,
            "charging": charging / c if c > 0 else 0.0,
            "moves": int(done.sum()),
            "metres_per_move": float(trips[done, 8].mean()) if done.any() else 0.0,
            "wait_for_amr_hours": float((trips[done, 3] - trips[done, 2]).mean()) if done.any() else 0.0,
        }
    return out


def _items(j: Joined, w0: float, w1: float) -> dict[str, Any]:
    span = w1 - w0
    end = np.where(np.isnan(j.unit_end), w1, j.unit_end)
    out: dict[str, Any] = {}
    for item_idx, name in enumerate(j.run.index.items):
        m = j.unit_item == item_idx
        ended = m & (j.unit_end > w0) & (j.unit_end <= w1)
        fin = ended & (j.unit_outcome == FINISHED)
        lead = j.unit_end[fin] - j.unit_release[fin]
        out[name] = {
            "released": int((m & (j.unit_release >= w0) & (j.unit_release < w1)).sum()),
            "finished": int(fin.sum()),
            "scrapped": int((ended & (j.unit_outcome == SCRAPPED)).sum()),
            "wip": Coverage(j.unit_release[m], end[m]).between(w0, w1) / span,
            "lead_time_hours": float(lead.mean()) if len(lead) else 0.0,
            "throughput_per_day": int(fin.sum()) / span * 24.0,
        }
    return out


def _materials(j: Joined, w0: float, w1: float) -> dict[str, Any]:
    index = j.run.index
    rows = j.run.records.stock
    out: dict[str, Any] = {}
    for s_idx, (name, material, need) in enumerate(
        zip(index.stocks, index.stock_is_material, index.stock_need, strict=True)
    ):
        if not material:
            continue
        m = rows[:, 0] == s_idx
        t, level = rows[m, 1], rows[m, 2]
        nxt = np.concatenate([t[1:], [w1]])
        span = np.clip(np.minimum(nxt, w1) - np.maximum(t, w0), 0.0, None)
        delivered = np.clip(np.diff(np.concatenate([[level[0] if len(level) else 0.0], level])), 0.0, None)
        keep = (t >= w0) & (t < w1)
        out[name] = {
            "mean_on_hand": float((span * level).sum() / (w1 - w0)),
            "short_hours": float(span[level < need].sum()),
            "delivered": float(delivered[keep].sum()),
        }
    return out
