"""Routing of a stage's output among its outflows, against hand-computed answers, on both engines.

Every network here is deterministic (fixed figures, one run, one-day buckets), so
``sums[key] / MILLI`` is the day-by-day value of ``key``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from builders import ENGINES, build, run

from aifactory.supply.engine import MILLI, RunResult

pytestmark = pytest.mark.parametrize("engine", list(ENGINES))

HORIZON = 60


def network(
    stages: dict[str, dict[str, Any]],
    lanes: list[dict[str, Any]],
    destinations: dict[str, dict[str, Any]],
    *,
    horizon: int = HORIZON,
) -> dict[str, Any]:
    """Raw scenario data; every stage is at site s1, every stage's item is named after it (``<id>-out``)."""
    items = {f"{sid}-out": {} for sid in stages}
    full = {}
    for sid, st in stages.items():
        full[sid] = {"site": "s1", "produces": f"{sid}-out", "cycle_time_days": 0, "yield": 1.0} | st
    return {
        "format": "aifactory/v1",
        "name": "routing",
        "start": "2026-01-01",
        "horizon_days": horizon,
        "sites": {"s1": {"name": "Site"}},
        "items": items,
        "stages": full,
        "lanes": lanes,
        "destinations": destinations,
    }


def daily(r: RunResult, key: str) -> np.ndarray:
    return r.sums[key] / MILLI


def delivered_daily(r: RunResult, dest: str) -> np.ndarray:
    return r.series[f"destinations.{dest}.delivered"][:, 0].astype(np.float64)


def pull_pair(source_capacity: float) -> dict[str, Any]:
    """A source feeding two pull consumers (capacities 30 and 50) and a push overflow destination."""
    return network(
        {
            "src": {"capacity": source_capacity},
            "c1": {"consumes": {"src-out": 1}, "capacity": 30},
            "c2": {"consumes": {"src-out": 1}, "capacity": 50},
        },
        [
            {"from": "src", "to": "c1", "share": "pull", "cover_days": 1},
            {"from": "src", "to": "c2", "share": "pull", "cover_days": 1},
        ],
        {"d1": {"from": "c1"}, "d2": {"from": "c2"}, "overflow": {"from": "src"}},
    )


def test_pull_consumers_get_their_capacity_and_the_rest_overflows(engine: str) -> None:
    r = run(build(pull_pair(100)), runs=1, engine=engine, bucket_days=1)
    np.testing.assert_allclose(daily(r, "stages.c1.started"), 30)
    np.testing.assert_allclose(daily(r, "stages.c2.started"), 50)
    np.testing.assert_allclose(delivered_daily(r, "overflow"), 20, rtol=1e-6)
    assert r.totals["lanes.0.shipped"][0] == pytest.approx(30 * HORIZON)
    assert r.totals["lanes.1.shipped"][0] == pytest.approx(50 * HORIZON)
    assert r.totals["destinations.overflow.delivered"][0] == pytest.approx(20 * HORIZON)
    assert r.totals["stages.c1.buffer.src-out"][0] == pytest.approx(0, abs=1e-9)
    assert r.totals["stages.src.stock"][0] == pytest.approx(0, abs=1e-9)


def test_short_supply_is_shared_in_proportion_to_the_asks(engine: str) -> None:
    # asks 30 and 50, 40 on hand: each gets 40 / 80 of its ask, every day (nothing is left over to hold)
    r = run(build(pull_pair(40)), runs=1, engine=engine, bucket_days=1)
    np.testing.assert_allclose(daily(r, "stages.c1.started"), 15)
    np.testing.assert_allclose(daily(r, "stages.c2.started"), 25)
    assert r.totals["lanes.0.shipped"][0] + r.totals["lanes.1.shipped"][0] == pytest.approx(40 * HORIZON)
    assert r.totals["destinations.overflow.allotted"][0] == pytest.approx(0, abs=1e-9)
    assert r.totals["stages.src.stock"][0] == pytest.approx(0, abs=1e-9)


def test_a_capped_destination_gets_exactly_its_demand_and_the_rest_overflows(engine: str) -> None:
    data = network(
        {"src": {"capacity": 10, "cycle_time_days": 3}},
        [],
        {"dc": {"from": "src", "demand": 500}, "overflow": {"from": "src"}},
        horizon=365,
    )
    r = run(build(data), runs=1, engine=engine, bucket_days=1)
    made = 10 * (365 - 3)
    assert r.totals["destinations.dc.delivered"][0] == pytest.approx(500, rel=1e-12)
    assert r.totals["destinations.overflow.delivered"][0] == pytest.approx(made - 500, rel=1e-12)
    # equal weights: 5 a day each until the demand is met (100 days), then all 10 to the overflow
    to_dc = delivered_daily(r, "dc")
    np.testing.assert_allclose(to_dc[3:103], 5)
    np.testing.assert_allclose(to_dc[103:], 0)
    np.testing.assert_allclose(delivered_daily(r, "overflow")[103:], 10)


def test_a_demand_limited_stage_starts_only_what_is_still_wanted(engine: str) -> None:
    data = network(
        {"rack": {"capacity": 10, "cycle_time_days": 5, "yield": 0.9}},
        [],
        {"dc": {"from": "rack", "demand": 144, "transit_days": 2}},
        horizon=120,
    )
    r = run(build(data), runs=1, engine=engine, bucket_days=1)
    assert r.totals["destinations.dc.delivered"][0] == pytest.approx(144, rel=1e-12)
    assert r.totals["destinations.dc.allotted"][0] <= 144 * (1 + 1e-12)
    assert r.totals["stages.rack.started"][0] == pytest.approx(144 / 0.9, rel=1e-12)
    assert r.totals["stages.rack.stock"][0] == pytest.approx(0, abs=1e-9)
    started = daily(r, "stages.rack.started")
    np.testing.assert_allclose(started[:16], 10)  # 160 units: 16 days at capacity, then nothing
    np.testing.assert_allclose(started[16:], 0, atol=1e-3)


def test_capacity_share_splits_in_proportion_to_consumer_capacities(engine: str) -> None:
    data = network(
        {
            "src": {"capacity": 100},
            "c1": {"consumes": {"src-out": 1}, "capacity": 10},
            "c2": {"consumes": {"src-out": 2}, "capacity": 15},  # 30 units of src-out a day
        },
        [
            {"from": "src", "to": "c1", "share": "capacity"},
            {"from": "src", "to": "c2", "share": "capacity"},
        ],
        {"d1": {"from": "c1"}, "d2": {"from": "c2"}},
    )
    r = run(build(data), runs=1, engine=engine, bucket_days=1)
    assert r.totals["lanes.0.shipped"][0] == pytest.approx(25 * HORIZON)
    assert r.totals["lanes.1.shipped"][0] == pytest.approx(75 * HORIZON)
    np.testing.assert_allclose(daily(r, "stages.c1.started"), 10)
    np.testing.assert_allclose(daily(r, "stages.c2.started"), 15)


def test_a_share_schedule_switches_a_lane_off_from_its_date(engine: str) -> None:
    off = 59  # 2026-03-01
    data = network(
        {"src": {"capacity": 100}, "c": {"consumes": {"src-out": 1}, "capacity": 1000}},
        [
            {
                "from": "src",
                "to": "c",
                "share": [{"date": "2026-01-01", "value": 1}, {"date": "2026-03-01", "value": 0}],
            }
        ],
        {"dc": {"from": "c"}, "overflow": {"from": "src"}},
        horizon=90,
    )
    r = run(build(data), runs=1, engine=engine, bucket_days=1)
    started = daily(r, "stages.c.started")
    np.testing.assert_allclose(started[:off], 50)
    np.testing.assert_allclose(started[off:], 0)
    overflow = delivered_daily(r, "overflow")
    np.testing.assert_allclose(overflow[:off], 50)
    np.testing.assert_allclose(overflow[off:], 100)
    assert r.totals["lanes.0.shipped"][0] == pytest.approx(50 * off)


def closed_consumer(horizon: int) -> dict[str, Any]:
    """A source (10/day) whose only lane leads to a stage with no capacity until day 31 (2026-02-01)."""
    return network(
        {
            "src": {"capacity": 10},
            "c": {
                "consumes": {"src-out": 1},
                "capacity": [{"date": "2026-01-31", "per_day": 0}, {"date": "2026-02-01", "per_day": 100}],
            },
        },
        [{"from": "src", "to": "c"}],
        {"dc": {"from": "c"}},
        horizon=horizon,
    )


def test_a_lane_into_a_closed_stage_holds_the_output_in_stock(engine: str) -> None:
    r = run(build(closed_consumer(31)), runs=1, engine=engine, bucket_days=1)  # ends the day before
    assert r.totals["stages.src.stock"][0] == pytest.approx(310)
    assert r.totals["lanes.0.shipped"][0] == 0
    assert r.totals["stages.c.started"][0] == 0


def test_the_held_stock_is_sent_once_the_stage_opens(engine: str) -> None:
    r = run(build(closed_consumer(60)), runs=1, engine=engine, bucket_days=1)
    assert r.totals["stages.src.stock"][0] == pytest.approx(0, abs=1e-9)
    assert r.totals["lanes.0.shipped"][0] == pytest.approx(600)
    started = daily(r, "stages.c.started")
    # day 31: 320 on hand → 100, 100, 100 (with 10 a day arriving), then the 50 left, then 10 a day
    np.testing.assert_allclose(started[:31], 0)
    np.testing.assert_allclose(started[31:36], [100, 100, 100, 50, 10])
    np.testing.assert_allclose(started[36:], 10)
    assert r.totals["stages.c.started"][0] == pytest.approx(600)


def test_a_tiny_share_still_sends_exactly_the_stock(engine: str) -> None:
    data = network(
        {
            "src": {"capacity": 1000},
            # closed on day 0, so the lane needs a routing decision (it is not always open)
            "c": {
                "consumes": {"src-out": 1},
                "capacity": [{"date": "2026-01-01", "per_day": 0}, {"date": "2026-01-02", "per_day": 100}],
            },
        },
        [{"from": "src", "to": "c", "share": 1e-306}],
        {"dc": {"from": "c"}},
    )
    r = run(build(data), runs=1, engine=engine, bucket_days=1)
    assert r.totals["lanes.0.shipped"][0] == pytest.approx(1000 * HORIZON)
    assert r.totals["stages.c.started"][0] == pytest.approx(100 * (HORIZON - 1))  # closed on day 0
    assert r.totals["stages.c.buffer.src-out"][0] == pytest.approx(1000 * HORIZON - 100 * (HORIZON - 1))
