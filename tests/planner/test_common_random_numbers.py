"""Each figure has its own random stream: scenarios that differ in one figure share every other draw."""

from __future__ import annotations

import numpy as np

from aifactory.planner.compare import Study, compare
from aifactory.supply.montecarlo import run_monte_carlo
from planner.networks import serial

YIELD = {"dist": "triangular", "low": 0.7, "mode": 0.85, "high": 1.0}
CYCLE = {"dist": "uniform", "low": 5, "high": 15}


def test_a_changed_figure_leaves_the_others_draws_alone() -> None:
    a = run_monte_carlo(serial(yield_=YIELD, cycle=CYCLE), runs=3000, seed=11)
    b = run_monte_carlo(
        serial(yield_=YIELD, cycle={"dist": "uniform", "low": 0, "high": 30}), runs=3000, seed=11
    )
    assert np.array_equal(a.params["stages.line.yield"], b.params["stages.line.yield"])
    assert not np.array_equal(
        a.params["stages.line.cycle_time_days"], b.params["stages.line.cycle_time_days"]
    )


def test_an_added_expansion_keeps_every_draw() -> None:
    plain = serial(yield_=YIELD, cycle=CYCLE)
    data = plain.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["stages"]["line"]["expansions"] = [
        {"date": "2026-02-01", "add_per_day": {"dist": "uniform", "low": 1, "high": 3}}
    ]
    grown = type(plain).model_validate(data)
    a = run_monte_carlo(plain, runs=2000, seed=5)
    b = run_monte_carlo(grown, runs=2000, seed=5)
    for path, values in a.params.items():
        assert np.array_equal(values, b.params[path]), path


def test_the_difference_of_a_scenario_from_itself_is_exactly_zero() -> None:
    s = serial(yield_=YIELD, cycle=CYCLE)
    doc = compare([Study("a", s), Study("b", s)], runs=500, seed=2)
    d = doc["studies"][1]["differences"]["value_usd"]
    assert d["mean"] == 0.0 and d["ci95"] == 0.0 and d["ci95_independent"] > 0


def test_studies_side_by_side_in_threads_give_the_serial_numbers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    studies = [
        Study("a", serial(yield_=YIELD, cycle=CYCLE)),
        Study("b", serial(yield_=YIELD, line_capacity=12)),
    ]
    serial_doc = compare(studies, runs=700, seed=4)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = compare(studies, runs=700, seed=4, study_map=pool.map)
    assert threaded == serial_doc
