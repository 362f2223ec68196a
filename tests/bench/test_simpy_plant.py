"""The SimPy model of a plant (``benchmarks.simpy_plant``) and the plant engine agree.

Why: the plant benchmark times the engine against "the same plant written as a straightforward SimPy
model", which only means something if the two implement the same model; and the SimPy model, written
from the rules of ``docs/plant.md``, is an independent check of the engine. Both draw from the same
named random streams in the same order, so where simultaneous events are ordered alike they must agree
*unit by unit*: every unit (racks and trays) released at the same hour, ending at the same hour with the
same outcome (finished or scrapped), bit for bit. Each plant below is small and exercises one rule; the
last ones are the bundled foxconn-houston plant, whose mean throughput and lead time must agree within
1 % (they agree exactly).

Simultaneous events: the engine's kernel orders equal times by priority, then by the order events were
scheduled; the SimPy model schedules the same events at the same moments with the same priorities (see
its docstring), so even deterministic plants full of ties agree exactly here.
``test_tie_between_a_job_end_and_a_release`` shows a tie whose order changes the result.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the repository root, beside `src`
    sys.path.insert(0, str(ROOT))

from benchmarks.simpy_plant import SimpyResult, simulate_simpy  # noqa: E402

from aifactory.plant.engine import PlantRun, simulate  # noqa: E402
from aifactory.plant.loading import load_plant, plant_from_data  # noqa: E402
from aifactory.plant.measures import run_measures  # noqa: E402
from aifactory.plant.model import Plant  # noqa: E402

FINISHED, SCRAPPED = 3, 2
AGREEMENT = 0.01


def exponential(mean: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": mean}


def triangular(low: float, mode: float, high: float) -> dict[str, Any]:
    return {"dist": "triangular", "low": low, "mode": mode, "high": high}


def make_plant(stations: dict[str, Any], release: dict[str, Any], **extra: Any) -> Plant:
    """A plant from plain data, validated as a plant file would be."""
    data = {"format": "aifactory/plant-v1", "name": "test", "release": release, "stations": stations}
    data.update(extra)
    return plant_from_data(copy.deepcopy(data), "test")


def unit_table(released: np.ndarray, ended: np.ndarray) -> dict[str, np.ndarray]:
    """Every unit's item, release hour, end hour (NaN: still in the plant) and outcome (-1: in the plant),
    indexed by unit id."""
    n = len(released)
    uid = released[:, 0].astype(np.int64)
    assert np.array_equal(np.sort(uid), np.arange(n))
    table = {
        "item": np.full(n, -1, dtype=np.int64),
        "release": np.full(n, np.nan),
        "end": np.full(n, np.nan),
        "outcome": np.full(n, -1, dtype=np.int64),
    }
    table["item"][uid] = released[:, 1].astype(np.int64)
    table["release"][uid] = released[:, 2]
    if len(ended):
        e = ended[:, 0].astype(np.int64)
        table["end"][e] = ended[:, 1]
        table["outcome"][e] = ended[:, 2].astype(np.int64)
    return table


def run_both(plant: Plant, days: float, seed: int = 0) -> tuple[PlantRun, SimpyResult]:
    return simulate(plant, days=days, seed=seed), simulate_simpy(plant, days=days, seed=seed)


def assert_same_units(run: PlantRun, res: SimpyResult) -> dict[str, np.ndarray]:
    """The two runs released the same units at the same hours, and each ended (or not) alike."""
    a = unit_table(run.records.released, run.records.ended)
    b = unit_table(res.released, res.ended)
    assert len(a["item"]) == len(b["item"]), (len(a["item"]), len(b["item"]))
    for key in ("item", "release", "end", "outcome"):
        same = a[key] == b[key]
        if key in ("release", "end"):
            same |= np.isnan(a[key]) & np.isnan(b[key])
        differ = ~same
        if differ.any():
            u = int(np.flatnonzero(differ)[0])
            engine = {k: v[u] for k, v in a.items()}
            simpy_ = {k: v[u] for k, v in b.items()}
            pytest.fail(f"{key} of unit {u} differs: engine {engine}, SimPy {simpy_}")
    return a


def assert_means_agree(run: PlantRun, res: SimpyResult, warmup_hours: float) -> dict[str, float]:
    m = run_measures(run, warmup_hours)
    s = res.measures(warmup_hours)
    assert m["throughput_per_day"] > 0
    for key in ("throughput_per_day", "lead_time_hours"):
        assert s[key] == pytest.approx(m[key], rel=AGREEMENT), (key, m[key], s[key])
    assert s["scrapped"] == m["scrapped"]
    return m


def agree(plant: Plant, days: float, seed: int = 0, warmup_hours: float = 24.0) -> dict[str, np.ndarray]:
    """Unit by unit, and (what the measures see) on the means."""
    run, res = run_both(plant, days, seed)
    table = assert_same_units(run, res)
    assert_means_agree(run, res, warmup_hours)
    assert res.events > 0
    return table


# ------------------------------------------------------------------------------------ small plants


def test_mm3_station() -> None:
    """The minimal plant of the docs: one station, no items, exponential arrivals and service."""
    plant = make_plant(
        {"test": {"time_hours": exponential(2.0), "servers": 3}},
        {"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    t = agree(plant, days=200)
    done = t["outcome"] == FINISHED
    assert done.sum() > 4000
    lead = (t["end"] - t["release"])[done].mean()
    assert 2.0 < lead < 3.8  # E[S] = 2 plus the Erlang-C wait (8/9 h): a sanity check, not the test


def test_smallest_plant_of_the_docs() -> None:
    """docs/plant.md's smallest plant, as written: an unused pool and AMRs with no floor to drive on."""
    plant = make_plant(
        {"test": {"servers": 3, "time_hours": exponential(2.5)}},
        {"item": "rack", "interarrival_hours": exponential(1.0)},
        operators={"tech": {"count": 4, "shifts": [{"start": "06:00", "end": "14:00"}]}},
        robots={"amr": {"count": 6, "speed_m_s": 1.0, "load_minutes": 2}},
    )
    agree(plant, days=100, warmup_hours=240.0)


def test_deterministic_tandem_line_with_blocking() -> None:
    """Deterministic times (ties everywhere), small buffers: blocked servers and units at the door."""
    plant = make_plant(
        {
            "s1": {"time_hours": 0.5, "buffer": 2},
            "s2": {"time_hours": 0.9, "buffer": 1},
            "s3": {"time_hours": 1.2, "buffer": 1},
        },
        {"item": "rack", "interarrival_hours": 1.0, "limit": 200},
    )
    t = agree(plant, days=15)
    end = np.sort(t["end"][t["outcome"] == FINISHED])
    assert len(end) == 200
    # the line runs at its bottleneck: one unit every 1.2 h once the buffers are full
    np.testing.assert_allclose(np.diff(end[20:]), 1.2, atol=1e-9)
    assert end[0] == pytest.approx(0.5 + 0.9 + 1.2)


def test_rework_and_retries() -> None:
    """Failed units go to rework and back (at most ``retries`` times), rework fails into its own rework."""
    plant = make_plant(
        {
            "prep": {"time_hours": exponential(0.5)},
            "test": {
                "time_hours": exponential(0.6),
                "servers": 2,
                "yield": 0.7,
                "rework": "fix",
                "retries": 2,
            },
            "fix": {"time_hours": triangular(0.2, 0.5, 1.0), "yield": 0.8, "rework": "fix2", "retries": 1},
            "fix2": {"time_hours": exponential(0.3)},
            "pack": {"time_hours": exponential(0.4)},
        },
        {"item": "rack", "interarrival_hours": exponential(1.0)},
        route=["prep", "test", "pack"],
    )
    t = agree(plant, days=60)
    assert (t["outcome"] == SCRAPPED).sum() > 20
    assert (t["outcome"] == FINISHED).sum() > 1200


def test_operator_pool_with_a_shift_and_a_break() -> None:
    """Jobs pause when the shift ends or the break begins and resume with the work they had left."""
    plant = make_plant(
        {"work": {"time_hours": exponential(1.5), "servers": 3, "operator": "ops"}},
        {"item": "rack", "interarrival_hours": exponential(3.0)},
        operators={
            "ops": {
                "count": 2,
                "shifts": [
                    {"start": "06:00", "end": "14:00", "breaks": [{"start": "10:00", "end": "10:30"}]}
                ],
            }
        },
    )
    t = agree(plant, days=40)
    clock = t["end"][t["outcome"] == FINISHED] % 24.0
    assert len(clock) > 200
    on_duty = (clock >= 6.0) & (clock <= 14.0) & ~((clock > 10.0) & (clock < 10.5))
    assert on_duty.all()  # nothing finishes while nobody is on duty


def test_breakdowns_and_maintenance() -> None:
    plant = make_plant(
        {
            "a": {
                "time_hours": exponential(0.8),
                "servers": 2,
                "mtbf_hours": 20,
                "mttr_hours": 2,
                "maintenance": {"every_hours": 50, "duration_hours": 1},
            },
            "b": {
                "time_hours": exponential(0.5),
                "mtbf_hours": 10,
                "mttr_hours": triangular(0.5, 1, 3),
                "buffer": 3,
            },
        },
        {"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    agree(plant, days=80)


def test_batching() -> None:
    """Batches of up to 4, at least 3 or once the first has waited 2 h; yields drawn per unit."""
    plant = make_plant(
        {
            "pre": {"time_hours": exponential(0.3)},
            "oven": {
                "time_hours": triangular(2, 3, 4),
                "servers": 2,
                "batch": 4,
                "batch_min": 3,
                "batch_wait_hours": 2.0,
                "yield": 0.9,
            },
            "post": {"time_hours": exponential(0.4)},
        },
        {"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    agree(plant, days=60)


RACK_AND_TRAY: dict[str, Any] = {
    "stations": {
        "kit": {
            "time_hours": triangular(0.3, 0.5, 0.8),
            "servers": 2,
            "operator": "kitters",
            "robot": "arms",
            "robot_mode": "replace",
            "buffer": 4,
            "position": [0, 0],
        },
        "tray-asm": {
            "time_hours": triangular(0.2, 0.4, 0.7),
            "servers": 4,
            "operator": "assemblers",
            "robot": "cobots",
            "robot_mode": "assist",
            "assist_time_factor": 0.8,
        },
        "tray-test": {
            "time_hours": exponential(0.3),
            "servers": 3,
            "yield": 0.9,
            "mtbf_hours": 30,
            "mttr_hours": 1,
        },
        "integrate": {
            "time_hours": triangular(1.0, 1.5, 2.5),
            "servers": 3,
            "operator": "assemblers",
            "buffer": 3,
            "position": [40, 0],
        },
        "test": {
            "time_hours": exponential(1.2),
            "servers": 2,
            "yield": 0.85,
            "rework": "debug",
            "retries": 1,
            "buffer": 2,
            "position": [40, 30],
        },
        "debug": {"time_hours": exponential(0.8), "operator": "techs", "buffer": 1, "position": [10, 30]},
        "burn": {
            "time_hours": triangular(4, 5, 6),
            "servers": 2,
            "batch": 3,
            "batch_min": 2,
            "batch_wait_hours": 1.5,
            "buffer": 4,
            "maintenance": {"every_hours": 40, "duration_hours": triangular(1, 2, 3)},
            "position": [0, 30],
        },
    },
    "release": {"item": "rack", "per_day": 12},
    "items": {
        "rack": {
            "route": ["kit", "integrate", "test", "burn"],
            "kit_after": "kit",
            "move_by": "amr",
            "parts": [
                {"item": "board", "quantity": 4, "at": "kit"},
                {"item": "tray", "quantity": 3, "at": "integrate"},
                {"item": "shelf", "quantity": 1, "at": "integrate"},
            ],
        },
        "tray": {"route": ["tray-asm", "tray-test"]},
    },
    "materials": {
        "board": {
            "initial": 20,
            "deliveries": {"every_hours": triangular(10, 12, 15), "quantity": triangular(40, 48, 60)},
        },
        "shelf": {"initial": 5, "deliveries": {"every_hours": 24, "quantity": 12, "first_hours": 6}},
    },
    "operators": {
        "kitters": {
            "count": 1,
            "shifts": [
                {"start": "06:00", "end": "14:00", "breaks": [{"start": "10:00", "end": "10:20"}]},
                {"start": "22:00", "end": "30:00", "days": ["mon", "tue", "wed", "thu", "fri"], "count": 2},
            ],
        },
        "assemblers": {
            "count": 4,
            "shifts": [
                {"start": "06:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
            ],
        },
        "techs": {
            "count": 1,
            "skills": ["integrate"],
            "at_shift_end": "finish",
            "shifts": [{"start": "08:00", "end": "20:00"}],
        },
    },
    "robots": {
        "arms": {"kind": "arm", "count": 1},
        "cobots": {"kind": "arm", "count": 2},
        "amr": {
            "kind": "amr",
            "count": 2,
            "speed_m_s": 0.5,
            "load_minutes": 2,
            "unload_minutes": 3,
            "home": "dock",
            "battery": {"hours": 1.0, "charge_hours": 0.5, "threshold": 0.3, "chargers": ["chg"]},
        },
    },
    "layout": {
        "nodes": {"dock": [20, 15], "chg": [20, 40]},
        "edges": [
            {"from": "kit", "to": "dock"},
            {"from": "dock", "to": "integrate"},
            {"from": "integrate", "to": "test"},
            {"from": "test", "to": "chg"},
            {"from": "chg", "to": "burn"},
            {"from": "burn", "to": "kit"},
            {"from": "test", "to": "debug", "distance_m": 25},
            {"from": "debug", "to": "burn", "one_way": True},
            {"from": "chg", "to": "debug"},
        ],
    },
}


def rack_and_tray(**changes: Any) -> Plant:
    data = copy.deepcopy(RACK_AND_TRAY)
    data.update(copy.deepcopy(changes))
    stations, release = data.pop("stations"), data.pop("release")
    return make_plant(stations, release, **data)


@pytest.mark.parametrize("seed", [0, 1])
def test_rack_and_tray_plant(seed: int) -> None:
    """Racks kitted after ``kit`` with 3 trays each, materials with deliveries, racks moved by AMRs
    with batteries over aisles (shortest paths, a one-way aisle), operators on day and night shifts
    with days, a break, skills and the ``finish`` rule, robots replacing and assisting, scrapped trays
    re-kitted, rework, batching, breakdowns and maintenance."""
    t = agree(rack_and_tray(), days=40, seed=seed, warmup_hours=72.0)
    racks, trays = t["item"] == 0, t["item"] == 1
    assert (racks & (t["outcome"] == FINISHED)).sum() > 300
    assert (trays & (t["outcome"] == SCRAPPED)).sum() > 50  # and re-kitted
    assert trays.sum() > 3 * racks.sum()


def test_rack_and_tray_deterministic() -> None:
    """The same plant with fixed times, deliveries and no breakdowns: many simultaneous events."""
    data = copy.deepcopy(RACK_AND_TRAY)
    for st in data["stations"].values():
        t = st["time_hours"]
        st["time_hours"] = float(t["mean"] if "mean" in t else t["mode"])
        st.pop("mtbf_hours", None)
        st.pop("mttr_hours", None)
    for m in data["materials"].values():
        for key in ("every_hours", "quantity"):
            if isinstance(m["deliveries"][key], dict):
                m["deliveries"][key] = float(m["deliveries"][key]["mode"])
    agree(rack_and_tray(stations=data["stations"], materials=data["materials"]), days=30, warmup_hours=72.0)


def test_manhattan_floor_and_conwip() -> None:
    """No aisles (Manhattan distances), and a CONWIP plant kept at 6 racks with no release rate."""
    layout = copy.deepcopy(RACK_AND_TRAY["layout"])
    del layout["edges"]
    agree(rack_and_tray(layout=layout, release={"item": "rack", "wip_limit": 6}), days=30, warmup_hours=72.0)


@pytest.mark.parametrize(
    "release",
    [
        {"item": "unit", "interarrival_hours": triangular(0.5, 1.0, 2.0)},
        {"item": "unit", "per_day": 20, "quantity": 3, "limit": 400, "first_hours": 5},
        {"item": "unit", "interarrival_hours": exponential(0.8), "wip_limit": 5},
        {"item": "unit", "wip_limit": 4, "limit": 300},
    ],
    ids=["distribution", "per-day-quantity-limit", "conwip-backlog", "conwip-no-rate"],
)
def test_release_forms_without_items(release: dict[str, Any]) -> None:
    """A plant with no ``items`` (the route is every station but the rework-only ones) and its only AMR
    fleet moving the units between stations that stand on the floor."""
    plant = make_plant(
        {
            "a": {"time_hours": exponential(0.5), "buffer": 2, "position": [0, 0]},
            "b": {
                "time_hours": exponential(0.7),
                "yield": 0.8,
                "rework": "c",
                "buffer": 1,
                "position": [30, 10],
            },
            "c": {"time_hours": exponential(0.5), "position": [10, 40]},
        },
        release,
        robots={"mover": {"kind": "amr", "count": 1, "speed_m_s": 1.0, "load_minutes": 1}},
        layout={"nodes": {}},
    )
    agree(plant, days=30)


def test_tie_between_a_job_end_and_a_release() -> None:
    """Two stations share one operator; s1's job ends exactly when the next unit is released. The
    engine scheduled the job's end when the job started, before the next release, so at hour 1 the unit
    moves on first and takes the operator at s2 (finishing at 1.5), and the released unit waits. A SimPy
    model that schedules the job's timeout one step later (in a freshly started process) would process
    the release first and give the operator to s1 again (the first unit would then finish at 6.5); this
    one creates the timeout when the job starts, as the engine does, and agrees."""
    plant = make_plant(
        {"s1": {"time_hours": 1.0, "operator": "op"}, "s2": {"time_hours": 0.5, "operator": "op"}},
        {"item": "rack", "interarrival_hours": 1.0, "limit": 6},
        operators={"op": {"count": 1}},
    )
    run, res = run_both(plant, days=1)
    t = assert_same_units(run, res)
    assert t["end"][0] == 1.5


def test_job_due_at_the_end_of_a_shift() -> None:
    """A job due exactly when its operator's shift ends is finished then: the shift change comes after
    the other events of its instant (LATE in both models), so the job started at 13:00 ends at 14:00
    and the next one waits for the next shift. Both models do so."""
    plant = make_plant(
        {"work": {"time_hours": 1.0, "operator": "ops"}},
        {"item": "rack", "interarrival_hours": 0.5, "limit": 40},
        operators={"ops": {"count": 1, "shifts": [{"start": "06:00", "end": "14:00"}]}},
    )
    run, res = run_both(plant, days=3)
    t = assert_same_units(run, res)
    assert t["end"][7] == 14.0  # started at 13:00
    assert t["end"][8] == 31.0  # the next one starts at 06:00 the next day


# ---------------------------------------------------------------------------------- the Houston plant


@pytest.fixture(scope="module")
def houston() -> tuple[PlantRun, SimpyResult]:
    return run_both(load_plant("foxconn-houston"), days=60, seed=0)


def test_houston_means_agree(houston: tuple[PlantRun, SimpyResult]) -> None:
    """foxconn-houston over 60 days, 14 of warm-up: throughput and lead time within 1 %."""
    run, res = houston
    m = assert_means_agree(run, res, 14 * 24.0)
    assert 20 < m["throughput_per_day"] < 30
    assert res.events > run.events


def test_houston_unit_by_unit(houston: tuple[PlantRun, SimpyResult]) -> None:
    """…and in fact every rack and tray alike (same streams, same order of events)."""
    run, res = houston
    t = assert_same_units(run, res)
    assert (t["item"] > 0).sum() > 20 * (t["item"] == 0).sum()


def test_wistron_unit_by_unit() -> None:
    """The other bundled plant (two buildings, the ``finish`` rule, 10-hour shifts) over 30 days."""
    run, res = run_both(load_plant("wistron-fort-worth"), days=30, seed=1)
    assert_same_units(run, res)
    assert_means_agree(run, res, 7 * 24.0)
