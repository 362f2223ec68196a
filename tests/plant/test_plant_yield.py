"""Yields, rework and scrap. Each unit passes a test with the station's yield, independently, so the
number scrapped among n tests is binomial: the tolerances are four binomial standard deviations, plus
the few units started in the window that had not ended by its end (one per server)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from plant_builders import exponential, make_plant, mean, plant_data, simulate_checked, simulate_cli, station


def binomial_tolerance(n: float, p: float, edge: float = 0.0) -> float:
    return 4 * math.sqrt(n * p * (1 - p)) + edge


@pytest.mark.parametrize("yield_", [0.9, 0.5, 0.99])
def test_scrap_is_one_minus_yield_times_starts(yield_: float) -> None:
    plant = make_plant(
        {"build": station(0.3), "test": station(0.4, servers=2, yield_=yield_)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    _, m = simulate_checked(plant, days=400, seed=4)
    starts = m["stations"]["test"]["units_started"]
    assert starts > 9000
    p = 1 - yield_
    assert m["scrapped"] == pytest.approx(p * starts, abs=binomial_tolerance(starts, p, edge=2))
    assert m["stations"]["test"]["scrapped"] == m["scrapped"]
    assert m["stations"]["test"]["failed"] == 0  # no rework station: a failure is scrap
    counts = m["items"]["rack"]
    assert counts["scrapped"] == m["scrapped"]
    assert counts["finished"] == m["completed"]
    # every unit that passed finished: the rest are the few still in the plant
    assert counts["finished"] + counts["scrapped"] == pytest.approx(counts["released"], abs=5)


def test_with_one_retry_a_unit_is_scrapped_when_it_fails_twice() -> None:
    """Yield y, a rework station, retries 1: a unit fails to rework with 1 − y, and is scrapped when it
    fails again: P(scrap) = (1 − y)²; starts at the test are released × (2 − y)."""
    y = 0.7
    plant = make_plant(
        {"test": station(0.3, yield_=y, rework="fix", retries=1), "fix": station(0.2)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    _, m = simulate_checked(plant, days=400, seed=9)
    released = m["items"]["rack"]["released"]
    s = m["stations"]["test"]
    p = (1 - y) ** 2
    assert m["scrapped"] == pytest.approx(p * released, abs=binomial_tolerance(released, p, edge=2))
    # every test fails with 1 − y; the first failure goes to rework ("failed"), the second is scrap
    fails = s["failed"] + s["scrapped"]
    assert fails == pytest.approx(
        (1 - y) * s["units_started"], abs=binomial_tolerance(s["units_started"], 1 - y, 2)
    )
    assert s["failed"] == pytest.approx((1 - y) * released, abs=binomial_tolerance(released, 1 - y, 2))
    assert s["units_started"] == pytest.approx((2 - y) * released, abs=binomial_tolerance(released, 1 - y, 2))
    assert m["stations"]["fix"]["units_started"] == pytest.approx(s["failed"], abs=2)
    assert m["lead_time_breakdown_hours"]["rework"] > 0


def test_unlimited_retries_scrap_nothing() -> None:
    plant = make_plant(
        {"test": station(0.3, yield_=0.6, rework="fix"), "fix": station(0.1)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    _, m = simulate_checked(plant, days=200, seed=1)
    assert m["scrapped"] == 0
    # a unit is tested a geometric number of times: mean 1 / y
    released = m["items"]["rack"]["released"]
    starts = m["stations"]["test"]["units_started"]
    assert starts / released == pytest.approx(1 / 0.6, rel=0.05)


def test_a_rework_station_with_a_yield_scraps_its_failures() -> None:
    """test (y = 0.8) → fix (y = 0.5, no rework of its own): P(scrap) = 0.2 × 0.5 per pass."""
    plant = make_plant(
        {"test": station(0.3, yield_=0.8, rework="fix"), "fix": station(0.2, yield_=0.5)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    _, m = simulate_checked(plant, days=300, seed=2)
    fix = m["stations"]["fix"]
    assert fix["scrapped"] == pytest.approx(
        0.5 * fix["units_started"], abs=binomial_tolerance(fix["units_started"], 0.5, 2)
    )
    assert m["stations"]["test"]["scrapped"] == 0
    assert m["scrapped"] == fix["scrapped"]


def test_scrap_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    y, reps = 0.85, 3
    data = plant_data(
        {"build": station(exponential(0.5)), "test": station(0.25, yield_=y)},
        release={"item": "rack", "interarrival_hours": exponential(1.0)},
    )
    kpis = simulate_cli(capsys, tmp_path, data, days=300, warmup_days=5, replications=reps, records=True)
    starts = mean(kpis, "stations", "test", "units_started")
    # the mean over R replications of binomials: sd / √R
    tol = binomial_tolerance(starts, 1 - y) / math.sqrt(reps) + 2
    assert mean(kpis, "scrapped") == pytest.approx((1 - y) * starts, abs=tol)
    assert mean(kpis, "items", "rack", "scrapped") == mean(kpis, "scrapped")
