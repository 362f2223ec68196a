"""Scale-out gives the same numbers as a serial run: chunking, process pools, Ray, and both engines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from builders import build, serial_line

from aifactory.parallel.mappers import make_mapper, process_map
from aifactory.scenario import load_scenario
from aifactory.scenario.model import Scenario
from aifactory.supply.montecarlo import ENGINES, MonteCarlo, run_monte_carlo
from aifactory.supply.parameters import DRAW_BLOCK_RUNS

RUNS = 2500  # three draw blocks of 1,024 runs: the last one partial
SEED = 11


@pytest.fixture(scope="module")
def nvidia() -> Scenario:
    return load_scenario("nvidia-2025")


@pytest.fixture(scope="module")
def serial(nvidia: Scenario) -> MonteCarlo:
    return run_monte_carlo(nvidia, runs=RUNS, seed=SEED, chunks=1)


def _summary(mc: MonteCarlo) -> dict[str, Any]:
    out = mc.summary(wall_seconds=0.0)
    out.pop("wall_seconds")
    return out


def _assert_identical(a: MonteCarlo, b: MonteCarlo) -> None:
    assert a.result.runs == b.result.runs == RUNS
    assert _summary(a) == _summary(b)
    assert a.result.totals.keys() == b.result.totals.keys()
    for key in a.result.totals:
        np.testing.assert_array_equal(a.result.totals[key], b.result.totals[key], err_msg=key)
    for key in a.result.sums:
        np.testing.assert_array_equal(a.result.sums[key], b.result.sums[key], err_msg=key)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key], err_msg=key)


def test_the_runs_span_three_draw_blocks() -> None:
    assert 2 * DRAW_BLOCK_RUNS < RUNS < 3 * DRAW_BLOCK_RUNS


def test_serial_chunks_give_the_same_numbers(nvidia: Scenario, serial: MonteCarlo) -> None:
    chunked = run_monte_carlo(nvidia, runs=RUNS, seed=SEED, chunks=3, mapper=make_mapper(1))
    _assert_identical(serial, chunked)


def test_process_pool_gives_the_same_numbers(nvidia: Scenario, serial: MonteCarlo) -> None:
    pooled = run_monte_carlo(nvidia, runs=RUNS, seed=SEED, chunks=4, mapper=process_map(2))
    _assert_identical(serial, pooled)


def test_another_seed_gives_other_numbers(nvidia: Scenario, serial: MonteCarlo) -> None:
    other = run_monte_carlo(nvidia, runs=RUNS, seed=SEED + 1, chunks=1)
    assert _summary(serial) != _summary(other)


@pytest.mark.ray
def test_ray_gives_the_same_numbers(nvidia: Scenario, serial: MonteCarlo) -> None:
    ray = pytest.importorskip("ray")
    try:
        remote = run_monte_carlo(nvidia, runs=RUNS, seed=SEED, chunks=3, mapper=make_mapper(1, "local"))
    finally:
        ray.shutdown()
    _assert_identical(serial, remote)


def _close(a: Any, b: Any, path: str = "") -> None:
    """Recursive comparison of two summaries: numbers within rel 1e-9, everything else equal."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9, nan_ok=True), path
    else:
        assert a == b, path


def test_numpy_and_compiled_engines_give_the_same_summary() -> None:
    s = build(
        serial_line(
            fab={
                "cycle_time_days": {"dist": "uniform", "low": 60, "high": 120},
                "capacity_scale": {"dist": "triangular", "low": 0.7, "mode": 1.0, "high": 1.2},
            },
            pack={"yield": {"dist": "triangular", "low": 0.7, "mode": 0.88, "high": 0.95}},
            integrate={
                "capacity": 15,
                "capacity_scale": {"dist": "uniform", "low": 0.8, "high": 1.3},
                "cycle_time_days": {"dist": "uniform", "low": 5, "high": 15},
            },
        )
    )
    a = run_monte_carlo(s, runs=300, seed=4, engine="numpy")
    b = run_monte_carlo(s, runs=300, seed=4, engine="compiled")
    _close(_summary(a), _summary(b))


def test_an_unknown_engine_is_rejected_with_the_list_of_engines() -> None:
    s = build(serial_line())
    with pytest.raises(ValueError, match="fortran") as info:
        run_monte_carlo(s, runs=4, seed=0, engine="fortran")
    for name in ENGINES:
        assert name in str(info.value)
