"""The supply twin against answers known in closed form, on both engines."""

from __future__ import annotations

import numpy as np
import pytest
from builders import ENGINES, build, run, serial_line

from aifactory.supply.engine import MILLI

pytestmark = pytest.mark.parametrize("engine", list(ENGINES))

FILL_DAYS = 90 + 14 + 30 + 7 + 10  # sum of cycle and transit times of the serial line


def test_steady_output_is_bottleneck_rate_times_yields_when_inputs_bind(engine: str) -> None:
    # fab: 100 × 0.9 wafers → pack: × 0.88 × 17 GPUs → integrate needs 72 GPUs a rack (capacity 20):
    # integrate is starved, so racks a day = 100 × 0.9 × 0.88 × 17 / 72 × 0.98.
    r = run(build(serial_line()), engine=engine)
    daily = r.series["destinations.dc.delivered"][:, 0]
    expected = 100 * 0.9 * 0.88 * 17 / 72 * 0.98
    assert daily[FILL_DAYS + 5 : 300] == pytest.approx(expected, rel=1e-6)


def test_steady_output_is_bottleneck_capacity_times_yield_when_capacity_binds(engine: str) -> None:
    r = run(build(serial_line(integrate={"capacity": 10})), engine=engine)
    daily = r.series["destinations.dc.delivered"][:, 0]
    assert daily[FILL_DAYS + 5 : 300] == pytest.approx(10 * 0.98, rel=1e-6)
    assert r.totals["stages.integrate.bound_days"][0] > 0
    assert r.totals["stages.integrate.bottleneck_days"][0] == r.totals["stages.integrate.bound_days"][0]


def test_first_output_appears_after_the_sum_of_cycle_and_transit_times(engine: str) -> None:
    r = run(build(serial_line()), engine=engine)
    daily = r.series["destinations.dc.delivered"][:, 0]
    first = int(np.argmax(daily > 0))
    assert first == FILL_DAYS
    assert daily[:first].sum() == 0


def test_destination_transit_delays_delivery(engine: str) -> None:
    data = serial_line()
    data["destinations"]["dc"]["transit_days"] = 4
    daily = run(build(data), engine=engine).series["destinations.dc.delivered"][:, 0]
    assert int(np.argmax(daily > 0)) == FILL_DAYS + 4


def test_items_are_conserved(engine: str) -> None:
    s = build(serial_line(fab={"cycle_time_days": {"dist": "uniform", "low": 60, "high": 120}}))
    r = run(s, runs=16, engine=engine)
    t = r.totals
    # stage: good units started = completed + in process
    fab_good = t["stages.fab.started"] * 0.9
    np.testing.assert_allclose(fab_good, t["stages.fab.completed"] + t["stages.fab.in_process"], rtol=1e-9)
    # lane: shipped = arrived + in transit; consumer: arrived = consumed + on hand
    arrived = t["lanes.0.shipped"] - t["lanes.0.in_transit"]
    np.testing.assert_allclose(
        arrived, t["stages.pack.started"] * 1 + t["stages.pack.buffer.wafer"], rtol=1e-9
    )
    arrived_gpu = t["lanes.1.shipped"] - t["lanes.1.in_transit"]
    np.testing.assert_allclose(
        arrived_gpu, t["stages.integrate.started"] * 72 + t["stages.integrate.buffer.gpu"], rtol=1e-9
    )
    # producer: completed = shipped + stock; destination: allotted = delivered + in transit
    np.testing.assert_allclose(
        t["stages.fab.completed"], t["lanes.0.shipped"] + t["stages.fab.stock"], rtol=1e-9
    )
    np.testing.assert_allclose(
        t["destinations.dc.allotted"],
        t["destinations.dc.delivered"] + t["destinations.dc.in_transit"],
        rtol=1e-9,
    )


def test_capacity_ramp_is_followed(engine: str) -> None:
    ramp = [{"date": "2026-01-11", "per_day": 0}, {"date": "2026-01-31", "per_day": 100}]
    s = build(serial_line(fab={"capacity": ramp}))
    r = run(s, runs=2, engine=engine)
    started_per_day = r.sums["stages.fab.started"] / MILLI / 2
    expected = np.interp(np.arange(365), [10, 30], [0, 100])
    np.testing.assert_allclose(started_per_day, expected, atol=1e-3)


def test_expansion_adds_capacity_with_a_linear_ramp(engine: str) -> None:
    s = build(serial_line(fab={"expansions": [{"date": "2026-03-02", "add_per_day": 50, "ramp_days": 10}]}))
    started = run(s, runs=1, engine=engine).sums["stages.fab.started"] / MILLI
    day = s.day(s.start.replace(month=3, day=2))
    assert started[day - 1] == pytest.approx(100)
    assert started[day] == pytest.approx(105)  # first day of the ramp: 1/10 of the addition
    assert started[day + 9] == pytest.approx(150)
    assert started[day + 30] == pytest.approx(150)


def test_zero_variance_monte_carlo_equals_the_deterministic_run(engine: str) -> None:
    fixed = build(serial_line())
    degenerate = build(
        serial_line(
            fab={"cycle_time_days": {"dist": "triangular", "low": 90, "mode": 90, "high": 90}},
            pack={"yield": {"dist": "normal", "mean": 0.88, "sd": 0}},
            integrate={"capacity_scale": {"dist": "uniform", "low": 1, "high": 1}},
        )
    )
    a = run(fixed, runs=8, seed=1, engine=engine, deterministic=True)
    b = run(degenerate, runs=8, seed=2, engine=engine)
    for key in a.totals:
        np.testing.assert_array_equal(a.totals[key], b.totals[key], err_msg=key)


def test_deterministic_mode_uses_point_values(engine: str) -> None:
    uncertain = build(
        serial_line(fab={"yield": {"dist": "triangular", "low": 0.8, "mode": 0.9, "high": 0.95}})
    )
    a = run(uncertain, runs=3, engine=engine, deterministic=True)
    b = run(build(serial_line()), runs=3, engine=engine)
    np.testing.assert_array_equal(
        a.totals["destinations.dc.delivered"], b.totals["destinations.dc.delivered"]
    )


def test_same_seed_same_numbers_other_seed_other_numbers(engine: str) -> None:
    s = build(serial_line(fab={"cycle_time_days": {"dist": "uniform", "low": 60, "high": 120}}))
    a = run(s, runs=8, seed=5, engine=engine)
    b = run(s, runs=8, seed=5, engine=engine)
    c = run(s, runs=8, seed=6, engine=engine)
    np.testing.assert_array_equal(
        a.totals["destinations.dc.delivered"], b.totals["destinations.dc.delivered"]
    )
    assert not np.array_equal(a.totals["destinations.dc.delivered"], c.totals["destinations.dc.delivered"])


@pytest.mark.parametrize(("factor", "lost_days"), [(0.0, 10), (0.5, 5)])
def test_disruption_removes_exactly_the_expected_output(engine: str, factor: float, lost_days: int) -> None:
    base = serial_line(fab={"yield": 1.0})
    disrupted = serial_line(
        fab={"yield": 1.0, "disruptions": [{"start": "2026-02-20", "days": 10, "capacity_factor": factor}]}
    )
    a = run(build(base), runs=2, engine=engine)
    b = run(build(disrupted), runs=2, engine=engine)
    lost = a.totals["stages.fab.started"] - b.totals["stages.fab.started"]
    np.testing.assert_allclose(lost, 100 * lost_days)
    assert b.totals["stages.fab.bound_days"][0] == 365  # a disrupted source still binds


def test_disruption_with_probability_happens_in_that_share_of_runs(engine: str) -> None:
    data = serial_line(fab={"disruptions": [{"start": "2026-02-20", "days": 10, "probability": 0.3}]})
    r = run(build(data), runs=2000, seed=3, engine=engine)
    hit = r.totals["stages.fab.started"] < 100 * 365 - 1
    assert 0.25 < hit.mean() < 0.35
