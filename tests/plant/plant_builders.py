"""Small builders and record checks shared by the plant-twin tests.

A plant is built as plain data (what a YAML file would hold) and validated by the same function the
loader uses, so a test plant is exactly a file a user could write. ``simulate_checked`` runs a plant and
checks, on every run, the invariants that hold whatever the plant: Little's law (recomputed from the
records), conservation of units, and the lead-time breakdown adding up.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from aifactory.plant.engine import PlantRun, simulate
from aifactory.plant.joined import Joined
from aifactory.plant.loading import plant_from_data
from aifactory.plant.log import FINISHED, PAUSE_CREW, SCRAPPED
from aifactory.plant.measures import CATEGORIES, lead_time_parts, run_measures
from aifactory.plant.model import Plant

FORMAT = "aifactory/plant-v1"
EXACT = 1e-9


def exponential(mean: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": mean}


def station(time: Any, **fields: Any) -> dict[str, Any]:
    """A station's data: ``time_hours`` and any other field (``yield_`` is written ``yield``)."""
    data: dict[str, Any] = {"time_hours": time}
    for key, value in fields.items():
        data[key.rstrip("_") if key == "yield_" else key] = value
    return data


def plant_data(
    stations: dict[str, dict[str, Any]],
    *,
    release: dict[str, Any] | None = None,
    name: str = "test-plant",
    **extra: Any,
) -> dict[str, Any]:
    """The raw data of a plant (a dict as read from YAML)."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "name": name,
        "release": release if release is not None else {"item": "rack", "interarrival_hours": 1.0},
        "stations": stations,
    }
    data.update(extra)
    return copy.deepcopy(data)


def make_plant(stations: dict[str, dict[str, Any]], **kw: Any) -> Plant:
    """A validated plant (raises PlantError just as loading the same file would)."""
    return plant_from_data(plant_data(stations, **kw), "test-plant")


def write_plant(folder: Path, data: dict[str, Any], name: str = "plant.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------- records


def job_table(run: PlantRun) -> dict[str, np.ndarray]:
    """The jobs of a run as named columns, derived from ``run.records`` alone: job, station, server,
    start, end, units (visits that name the job), paused_crew and paused_down (summed from the pauses),
    finished (the job ended in the run). Rows sorted by job id."""
    r = run.records
    jobs = r.jobs  # (job, server, start, end, crew a, crew b); rows past `finished_jobs` were under way
    finished = np.zeros(len(jobs), dtype=bool)
    finished[: r.finished_jobs] = True
    cols = {
        "job": jobs[:, 0].astype(int),
        "server": jobs[:, 1].astype(int),
        "start": jobs[:, 2],
        "end": jobs[:, 3],
        "finished": finished,
    }
    order = np.argsort(cols["job"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    cols["station"] = np.asarray(run.index.server_station)[cols["server"]]
    n = int(cols["job"].max()) + 1 if len(jobs) else 0
    v_job = r.visits[:, 2].astype(int)
    cols["units"] = np.bincount(v_job[v_job >= 0], minlength=n)[cols["job"]] if n else np.zeros(0, int)
    p = r.pauses
    p_job = p[:, 0].astype(int)
    held = p[:, 2] - p[:, 1]
    for name, down in (("paused_crew", False), ("paused_down", True)):  # down: the server down (crew or not)
        w = np.where((p[:, 3] != PAUSE_CREW) == down, held, 0.0)
        cols[name] = np.bincount(p_job, weights=w, minlength=n)[cols["job"]] if n else np.zeros(0)
    return cols


# ------------------------------------------------------------------------------------------- runs


def simulate_checked(
    plant: Plant,
    *,
    days: float,
    seed: int = 0,
    warmup_days: float = 0.0,
    little_tolerance: float | str | None = "auto",
) -> tuple[PlantRun, dict[str, Any]]:
    """Simulate and measure ``plant``; check Little's law, conservation and the lead-time breakdown.

    ``little_tolerance`` bounds the relative difference between the two sides of Little's law. The
    difference is an edge effect: units in the plant at the start and at the end of the window, each
    side about L·W/2 of an area of L·T, so |difference| ≈ W/T for a mean time in the plant W over a
    window of T hours. "auto" allows 0.5 % + 5·W/T (W measured from the run's departures); a number is
    used as given; None checks only the exact identity (a random plant need not be stable)."""
    run = simulate(plant, days=days, seed=seed)
    measures = run_measures(run, warmup_days * 24.0)
    assert_littles_law(run, warmup_days * 24.0, measures, little_tolerance)
    assert_conserved(run)
    assert_breakdown_adds_up(run, measures)
    return run, measures


def product_times(run: PlantRun) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Release, end (NaN: still in the plant) and outcome of every unit of the product (item 0)."""
    r = run.records
    n = len(r.released)
    release = np.full(n, np.nan)
    item = np.full(n, -1)
    uid = r.released[:, 0].astype(int)
    release[uid] = r.released[:, 2]
    item[uid] = r.released[:, 1].astype(int)
    end = np.full(n, np.nan)
    outcome = np.full(n, -1)
    if len(r.ended):
        e = r.ended[:, 0].astype(int)
        end[e] = r.ended[:, 1]
        outcome[e] = r.ended[:, 2].astype(int)
    keep = item == 0
    return release[keep], end[keep], outcome[keep]


def assert_littles_law(
    run: PlantRun, w0: float, measures: dict[str, Any], tolerance: float | str | None
) -> None:
    """Recompute both sides of Little's law from the records and compare with the measures.

    Over the window [w0, w1], ∫ N(t) dt (units of the product in the plant) and Σ (end − release) over
    the units that left in the window differ exactly by the edge terms: what units still in the plant at
    w1 spent in the window, less what the units that left spent before w0. That identity is checked to
    rounding; the relative difference the measures report is then checked against ``tolerance``."""
    w1 = run.hours
    span = w1 - w0
    release, end, _ = product_times(run)
    until = np.where(np.isnan(end), w1, end)
    overlap = np.clip(np.minimum(until, w1) - np.maximum(release, w0), 0.0, None)
    area = float(overlap.sum())
    departed = (end > w0) & (end <= w1)
    sojourn = float((end[departed] - release[departed]).sum())
    still = np.isnan(end) & (release <= w1)
    edge_in = float(np.clip(w1 - np.maximum(release[still], w0), 0.0, None).sum())
    edge_out = float(np.clip(w0 - release[departed], 0.0, None).sum())
    assert math.isclose(area - sojourn, edge_in - edge_out, rel_tol=1e-9, abs_tol=1e-6 * max(span, 1.0))
    little = measures["littles_law"]
    assert math.isclose(measures["wip"], area / span, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(little["departures_x_time_in_plant"], sojourn / span, rel_tol=1e-9, abs_tol=1e-12)
    if tolerance == "auto":
        w = sojourn / departed.sum() if departed.any() else span
        tolerance = 0.005 + 5 * w / span
    if tolerance is not None and measures["wip"] > 0:
        assert abs(little["relative_difference"]) <= float(tolerance), (little, tolerance)


def assert_conserved(run: PlantRun) -> dict[str, dict[str, int]]:
    """Released = finished + in plant + scrapped, per item, and each ended unit's last visit says how.

    Returns the counts per item name."""
    r = run.records
    names = run.index.items
    uid = r.released[:, 0].astype(int)
    assert np.array_equal(np.sort(uid), np.arange(len(uid))), "unit ids are not 0..n-1"
    item = np.empty(len(uid), dtype=int)
    item[uid] = r.released[:, 1].astype(int)
    ended = r.ended[:, 0].astype(int)
    assert len(np.unique(ended)) == len(ended), "a unit ended twice"
    outcome = np.full(len(uid), -1)
    outcome[ended] = r.ended[:, 2].astype(int)
    v = r.visits
    last_outcome = {}
    for row in v[np.lexsort((v[:, 5], v[:, 0]))]:
        last_outcome[int(row[0])] = int(row[6])
    counts: dict[str, dict[str, int]] = {}
    for idx, name in enumerate(names):
        mine = item == idx
        finished = int((mine & (outcome == FINISHED)).sum())
        scrapped = int((mine & (outcome == SCRAPPED)).sum())
        in_plant = int((mine & (outcome == -1)).sum())
        assert int(mine.sum()) == finished + scrapped + in_plant
        counts[name] = {
            "released": int(mine.sum()),
            "finished": finished,
            "scrapped": scrapped,
            "in_plant": in_plant,
        }
    for u in ended:
        assert last_outcome.get(int(u)) == outcome[u], f"unit {u}: ended {outcome[u]}, last visit differs"
    for u, last in last_outcome.items():
        if outcome[u] == -1:
            assert last not in (FINISHED, SCRAPPED), f"unit {u} finished a visit as ended but did not end"
    return counts


def assert_breakdown_adds_up(run: PlantRun, measures: dict[str, Any]) -> None:
    """Every finished unit's lead-time parts are >= 0 and add up to its lead time; so do the means."""
    j = Joined(run)
    done = np.flatnonzero(j.unit_outcome == FINISHED)
    parts = lead_time_parts(j, done)
    total = np.sum([parts[c] for c in CATEGORIES], axis=0) if len(done) else np.zeros(0)
    lead = j.unit_end[done] - j.unit_release[done]
    np.testing.assert_allclose(total, lead, rtol=1e-9, atol=1e-7)
    for c in CATEGORIES:
        assert (parts[c] >= -1e-7).all(), f"negative {c}: {parts[c].min()}"
    breakdown = measures["lead_time_breakdown_hours"]
    assert set(breakdown) == set(CATEGORIES)
    assert math.isclose(sum(breakdown.values()), measures["lead_time_hours"], rel_tol=1e-9, abs_tol=1e-7), (
        breakdown
    )


# ------------------------------------------------------------------------------------------- CLI


def read_kpis(out: Path) -> dict[str, Any]:
    return json.loads((out / "kpis.json").read_text(encoding="utf-8"))


def mean(kpis: dict[str, Any], *path: str) -> float:
    node: Any = kpis
    for key in path:
        node = node[key]
    assert set(node) == {"mean", "ci95"}, node
    return float(node["mean"])


def ci95(kpis: dict[str, Any], *path: str) -> float:
    node: Any = kpis
    for key in path:
        node = node[key]
    return float(node["ci95"])


def assert_all_intervals(node: Any, path: str = "") -> None:
    """Every measure in a kpis.json (below the header) is ``{"mean": x, "ci95": h}`` with finite x, h >= 0."""
    if isinstance(node, dict) and set(node) == {"mean", "ci95"}:
        assert math.isfinite(node["mean"]), path
        assert math.isfinite(node["ci95"]) and node["ci95"] >= 0, path
        return
    assert isinstance(node, dict), f"{path}: {node!r} is not an interval"
    for key, value in node.items():
        assert_all_intervals(value, f"{path}.{key}")


HEADER = ("plant", "days", "warmup_days", "replications", "seed", "seeds", "wall_seconds", "events")


def measures_of(kpis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kpis.items() if k not in HEADER}


def assert_records_little(out: Path, product: str, warmup_days: float, days: float, tolerance: float) -> None:
    """Little's law recomputed from the Parquet records (units.parquet) of the first replication."""
    import pyarrow.parquet as pq

    units = pq.read_table(out / "units.parquet")
    keep = np.array(units.column("item").to_pylist()) == product
    assert keep.any()
    w0, w1 = warmup_days * 24.0, days * 24.0
    release = units.column("released_h").to_numpy()[keep]
    end = units.column("ended_h").to_numpy()[keep]
    until = np.where(np.isnan(end), w1, end)
    area = np.clip(np.minimum(until, w1) - np.maximum(release, w0), 0.0, None).sum()
    departed = (end > w0) & (end <= w1)
    sojourn = (end[departed] - release[departed]).sum()
    assert area > 0
    assert abs(area - sojourn) / area <= tolerance, (area, sojourn)


def simulate_cli(
    capsys: Any,
    folder: Path,
    plant: dict[str, Any] | Path | str,
    *,
    days: float,
    warmup_days: float,
    replications: int = 1,
    seed: int = 0,
    records: bool = False,
    little_tolerance: float | str | None = "auto",
    extra: tuple[str, ...] = (),
    out_name: str = "out",
) -> dict[str, Any]:
    """``aifactory plant simulate`` in-process; the kpis.json it wrote, checked for the contract's shape
    and for Little's law (in the kpis, and from the Parquet records when they are written)."""
    from cli_invoke import invoke

    path = write_plant(folder, plant) if isinstance(plant, dict) else plant
    out = folder / out_name
    code, _, stderr = invoke(
        capsys,
        "plant",
        "simulate",
        str(path),
        "--days",
        f"{days:g}",
        "--warmup-days",
        f"{warmup_days:g}",
        "--replications",
        str(replications),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--no-html",
        "--records" if records else "--no-records",
        "-q",
        *extra,
    )
    assert code == 0, stderr
    assert "error" not in stderr.lower(), stderr
    kpis = read_kpis(out)
    assert kpis["days"] == days and kpis["warmup_days"] == warmup_days
    assert kpis["replications"] == replications and kpis["seed"] == seed
    assert kpis["events"] > 0 and kpis["wall_seconds"] >= 0
    assert_all_intervals(measures_of(kpis))
    if little_tolerance == "auto":  # as in simulate_checked: 0.5 % + 5 W / T, W = L / departure rate
        hours = (days - warmup_days) * 24
        departures = mean(kpis, "completed") + mean(kpis, "scrapped")
        w = (
            mean(kpis, "littles_law", "departures_x_time_in_plant") * hours / departures
            if departures
            else hours
        )
        little_tolerance = 0.005 + 5 * w / hours
    if little_tolerance is not None:
        tolerance = float(little_tolerance)
        assert abs(mean(kpis, "littles_law", "relative_difference")) <= tolerance, (
            kpis["littles_law"],
            tolerance,
        )
    if records:
        product = plant.get("release", {}).get("item", "unit") if isinstance(plant, dict) else None
        if product is not None:
            assert_records_little(out, product, warmup_days, days, float(little_tolerance or 1.0))
    return kpis
