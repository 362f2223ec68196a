"""A plant run's records as Parquet: one row per unit, per station visit, per job, outage and AMR trip,
and the per-bucket timeline. Times are hours from the start of the run (hour 0 = the plant's ``start``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aifactory.plant.joined import Joined
from aifactory.plant.log import FINISHED, OUTAGE_FAILURE, OUTCOMES, REWORK_IN, SCRAPPED, TRIP_MOVE
from aifactory.plant.measures import CATEGORIES, lead_time_parts
from aifactory.plant.result import PlantRun
from aifactory.plant.timeline import Timeline

FILES = (
    "units.parquet",
    "visits.parquet",
    "jobs.parquet",
    "outages.parquet",
    "trips.parquet",
    "timeline.parquet",
)


def _names(table: tuple[str, ...], idx: np.ndarray, missing: str = "") -> pa.Array:
    """Names by index as a dictionary-encoded column (-1: ``missing``)."""
    i = np.where(idx >= 0, idx, len(table)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(i), pa.array([*table, missing], type=pa.string()))


def units_table(run: PlantRun, j: Joined) -> pa.Table:
    """One row per unit: item, release, end, outcome, lead time and its breakdown (finished units)."""
    n = len(j.unit_item)
    outcome = np.where(j.unit_outcome == FINISHED, 0, np.where(j.unit_outcome == SCRAPPED, 1, 2))
    finished = np.flatnonzero(j.unit_outcome == FINISHED)
    parts = lead_time_parts(j, finished)
    cols: dict[str, pa.Array] = {
        "unit": pa.array(np.arange(n)),
        "item": _names(run.index.items, j.unit_item),
        "released_h": pa.array(j.unit_release),
        "ended_h": pa.array(j.unit_end),
        "outcome": _names(("finished", "scrapped", "in plant"), outcome),
        "lead_time_h": pa.array(j.unit_end - j.unit_release),
    }
    for name in CATEGORIES:
        values = np.full(n, np.nan)
        values[finished] = parts[name]
        cols[f"{name}_h"] = pa.array(values)
    return pa.table(cols)


def visits_table(run: PlantRun, j: Joined) -> pa.Table:
    outcome_names = (*OUTCOMES, "still there")
    outcome = np.where(j.v_outcome >= 0, j.v_outcome, len(OUTCOMES))
    return pa.table(
        {
            "unit": pa.array(j.v_unit),
            "item": _names(run.index.items, j.unit_item[j.v_unit]),
            "station": _names(run.index.stations, j.v_station),
            "job": pa.array(j.v_job),
            "arrived_h": pa.array(j.v_arrived),
            "started_h": pa.array(np.where(j.v_job >= 0, j.v_start, np.nan)),
            "processed_h": pa.array(np.where(j.v_job >= 0, j.v_end, np.nan)),
            "space_h": pa.array(j.v_space),
            "left_h": pa.array(j.v_left),
            "outcome": _names(outcome_names, outcome),
            "rework": pa.array((j.v_flags & REWORK_IN) > 0),
            "paused_for_operator_h": pa.array(j.v_paused_crew),
            "paused_down_h": pa.array(j.v_paused_down),
        }
    )


def jobs_table(run: PlantRun, j: Joined) -> pa.Table:
    """One row per job (a unit or a batch on a server): the per-station event records."""
    index = run.index
    ids = np.sort(j.job_ids)
    units = np.bincount(j.v_job[j.v_job >= 0], minlength=len(j.job_start))
    return pa.table({
        "job": pa.array(ids),
        "station": _names(index.stations, j.job_station[ids]),
        "server": pa.array(j.job_server[ids]),
        "start_h": pa.array(j.job_start[ids]),
        "end_h": pa.array(j.job_end[ids]),
        "units": pa.array(units[ids]),
        "crew": _names(index.crews, j.job_crew_a[ids]),
        "helper": _names(index.crews, j.job_crew_b[ids]),
        "paused_for_operator_h": pa.array(j.job_paused_crew[ids]),
        "paused_down_h": pa.array(j.job_paused_down[ids]),
        "finished": pa.array(j.job_finished[ids]),
    })  # fmt: skip


def outages_table(run: PlantRun) -> pa.Table:
    o = run.records.outages
    server = o[:, 0].astype(np.int64)
    station = run.index.server_station[server] if len(o) else np.zeros(0, np.int64)
    return pa.table(
        {
            "station": _names(run.index.stations, station),
            "server": pa.array(server),
            "kind": _names(("failure", "maintenance"), np.where(o[:, 3] == OUTAGE_FAILURE, 0, 1)),
            "start_h": pa.array(o[:, 1]),
            "end_h": pa.array(o[:, 2]),
        }
    )


def trips_table(run: PlantRun) -> pa.Table:
    t = run.records.trips
    index = run.index
    amr = t[:, 0].astype(np.int64)
    floor_names = index.floor.names if index.floor is not None else ()
    return pa.table(
        {
            "amr": pa.array(amr),
            "fleet": _names(index.fleets, index.amr_fleet[amr] if len(t) else np.zeros(0, np.int64)),
            "kind": _names(("move", "charge"), np.where(t[:, 1] == TRIP_MOVE, 0, 1)),
            "requested_h": pa.array(t[:, 2]),
            "started_h": pa.array(t[:, 3]),
            "picked_up_h": pa.array(t[:, 4]),
            "ended_h": pa.array(t[:, 5]),
            "from": _names(floor_names, t[:, 6].astype(np.int64)),
            "to": _names(floor_names, t[:, 7].astype(np.int64)),
            "metres": pa.array(t[:, 8]),
        }
    )


def timeline_table(series: Timeline) -> pa.Table:
    """Long format: one row per (bucket, resource) with its utilisation; stations' active share."""
    starts = series.edges[:-1]
    n = len(starts)
    rows = len(series.resources)
    stations = sum(1 for k in series.kinds if k == "station")
    active = np.full((rows, n), np.nan)
    active[:stations] = series.active
    return pa.table(
        {
            "bucket_start_h": pa.array(np.tile(starts, rows)),
            "resource": pa.array(
                np.repeat(np.array(series.resources, dtype=object), n).tolist(), type=pa.string()
            ),
            "kind": pa.array(np.repeat(np.array(series.kinds, dtype=object), n).tolist(), type=pa.string()),
            "utilization": pa.array(series.utilization.reshape(-1)),
            "active": pa.array(active.reshape(-1)),
        }
    )


def write_records(out: Path, run: PlantRun, series: Timeline, joined: Joined | None = None) -> list[str]:
    """Write the Parquet files of ``run`` into ``out``; their names."""
    out.mkdir(parents=True, exist_ok=True)
    j = joined if joined is not None else Joined(run)
    tables = {
        "units.parquet": units_table(run, j),
        "visits.parquet": visits_table(run, j),
        "jobs.parquet": jobs_table(run, j),
        "outages.parquet": outages_table(run),
        "trips.parquet": trips_table(run),
        "timeline.parquet": timeline_table(series),
    }
    for name, table in tables.items():
        # dictionary-encode the name columns only (trying it on float columns costs more than it saves)
        names = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
        pq.write_table(table, out / name, use_dictionary=names, compression="lz4")
    return list(tables)
