"""Distributions: point values, draws within bounds, reproducibility, validation at the pydantic level."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from aifactory.scenario.distributions import (
    Lognormal,
    Normal,
    Triangular,
    Uncertain,
    Uniform,
    bounds,
    draw,
    is_uncertain,
    point_value,
)

N = 20_000
UNCERTAIN: TypeAdapter[Any] = TypeAdapter(Uncertain)


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------- point values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"dist": "triangular", "low": 1, "mode": 4, "high": 5}, 4.0),
        ({"dist": "uniform", "low": 2, "high": 6}, 4.0),
        ({"dist": "normal", "mean": 30, "sd": 5}, 30.0),
        ({"dist": "lognormal", "median": 90, "sigma": 0.3}, 90.0),
        ({"dist": "normal", "mean": 30, "sd": 5, "high": 25}, 25.0),  # clipped point
        ({"dist": "lognormal", "median": 90, "sigma": 0.3, "low": 100}, 100.0),
        (12, 12.0),
        (0.5, 0.5),
    ],
    ids=str,
)
def test_point_value(value: Any, expected: float) -> None:
    parsed = UNCERTAIN.validate_python(value)
    assert point_value(parsed) == pytest.approx(expected)
    assert np.all(draw(parsed, rng(), 5, deterministic=True) == pytest.approx(expected))


def test_plain_numbers_are_fixed() -> None:
    assert not is_uncertain(3.0)
    assert np.array_equal(draw(3.0, rng(), 4), np.full(4, 3.0))
    assert bounds(3.0) == (3.0, 3.0)


# ------------------------------------------------------------------------------------- draws


@pytest.mark.parametrize(
    "dist",
    [
        Triangular(dist="triangular", low=0.8, mode=0.9, high=0.95),
        Triangular(dist="triangular", low=10, mode=10, high=20),  # mode at an end
        Uniform(dist="uniform", low=-3, high=7),
        Normal(dist="normal", mean=0.9, sd=0.2, low=0.5, high=1.0),
        Lognormal(dist="lognormal", median=90, sigma=1.0, low=30, high=200),
    ],
    ids=lambda d: d.dist,
)
def test_draws_stay_within_bounds(dist: Any) -> None:
    low, high = bounds(dist)
    values = dist.draw(rng(), N)
    assert values.shape == (N,)
    assert values.dtype == np.float64
    assert values.min() >= low
    assert values.max() <= high
    assert is_uncertain(dist)


def test_clipped_normal_piles_up_on_the_bounds() -> None:
    values = Normal(dist="normal", mean=1.0, sd=0.5, low=0.8, high=1.1).draw(rng(), N)
    assert np.mean(values == 0.8) > 0.2
    assert np.mean(values == 1.1) > 0.2


def test_lognormal_without_clip_is_positive() -> None:
    dist = Lognormal(dist="lognormal", median=5, sigma=2)
    assert bounds(dist) == (0.0, np.inf)
    assert dist.draw(rng(), N).min() > 0


def test_sample_statistics_match() -> None:
    tri = Triangular(dist="triangular", low=0, mode=3, high=9).draw(rng(1), N)
    uni = Uniform(dist="uniform", low=2, high=6).draw(rng(2), N)
    nor = Normal(dist="normal", mean=30, sd=5).draw(rng(3), N)
    log = Lognormal(dist="lognormal", median=90, sigma=0.3).draw(rng(4), N)
    assert tri.mean() == pytest.approx(4.0, abs=0.1)
    assert uni.mean() == pytest.approx(4.0, abs=0.05)
    assert nor.mean() == pytest.approx(30, abs=0.2)
    assert nor.std() == pytest.approx(5, abs=0.2)
    assert np.median(log) == pytest.approx(90, rel=0.02)


@pytest.mark.parametrize(
    "dist",
    [
        Triangular(dist="triangular", low=0.9, mode=0.9, high=0.9),
        Uniform(dist="uniform", low=4, high=4),
        Normal(dist="normal", mean=30, sd=0),
        Lognormal(dist="lognormal", median=90, sigma=0),
    ],
    ids=lambda d: d.dist,
)
def test_zero_variance_draws_a_constant(dist: Any) -> None:
    values = dist.draw(rng(), 100)
    assert np.all(values == dist.point())
    assert not is_uncertain(dist)
    assert bounds(dist) == (dist.point(), dist.point())


def test_degenerate_triangular_keeps_the_random_stream_in_step() -> None:
    a, b = rng(11), rng(11)
    Triangular(dist="triangular", low=1, mode=1, high=1).draw(a, 50)
    Triangular(dist="triangular", low=0, mode=1, high=2).draw(b, 50)
    assert a.random() == b.random()


@pytest.mark.parametrize(
    "dist",
    [
        Triangular(dist="triangular", low=0.8, mode=0.9, high=0.95),
        Uniform(dist="uniform", low=-3, high=7),
        Normal(dist="normal", mean=0.9, sd=0.2, low=0.5, high=1.0),
        Lognormal(dist="lognormal", median=90, sigma=0.5),
    ],
    ids=lambda d: d.dist,
)
def test_same_seed_same_draws(dist: Any) -> None:
    first = dist.draw(rng(42), 1000)
    assert np.array_equal(first, dist.draw(rng(42), 1000))
    assert not np.array_equal(first, dist.draw(rng(43), 1000))
    assert np.array_equal(draw(dist, rng(42), 1000), first)


# -------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"dist": "triangular", "low": 5, "mode": 4, "high": 3}, "greater than high"),
        ({"dist": "triangular", "low": 1, "mode": 9, "high": 5}, "mode (9) must lie between"),
        ({"dist": "triangular", "low": 1, "mode": 0, "high": 5}, "mode (0) must lie between"),
        ({"dist": "uniform", "low": 2, "high": 1}, "greater than high"),
        ({"dist": "normal", "mean": 1, "sd": -1}, "greater than or equal to 0"),
        ({"dist": "normal", "mean": 1, "sd": 1, "low": 3, "high": 2}, "greater than high"),
        ({"dist": "lognormal", "median": 0, "sigma": 1}, "greater than 0"),
        ({"dist": "lognormal", "median": 1, "sigma": -0.1}, "greater than or equal to 0"),
        ({"dist": "uniform", "low": 1, "high": 2, "mode": 1.5}, "Extra inputs"),
        ({"dist": "triangular", "low": 1, "high": 2}, "Field required"),
        ({"dist": "weibull", "low": 1, "high": 2}, "'weibull'"),
    ],
    ids=str,
)
def test_invalid_distributions_are_rejected(value: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as info:
        UNCERTAIN.validate_python(value)
    assert words in str(info.value)


def test_distributions_are_immutable() -> None:
    dist = Uniform(dist="uniform", low=1, high=2)
    with pytest.raises(ValidationError):
        dist.low = 3  # type: ignore[misc]


def test_note_is_allowed() -> None:
    parsed = UNCERTAIN.validate_python({"dist": "uniform", "low": 1, "high": 2, "note": "vendor estimate"})
    assert isinstance(parsed, Uniform)
    assert parsed.note == "vendor estimate"
