"""Distributions draw with an injected generator, report their mean and are looked up by name."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aifactory.fab import DISTRIBUTIONS, Constant, Exponential, Normal, Uniform, make_distribution
from aifactory.fab.distributions import UnknownDistributionError


def test_lookup_by_the_files_names() -> None:
    assert sorted(DISTRIBUTIONS) == ["constant", "exponential", "normal", "uniform"]
    assert make_distribution("constant", 5.0) == Constant(5.0)
    assert make_distribution("Uniform", 10.0, 2.0) == Uniform(10.0, 2.0)
    assert make_distribution("exponential", 3.0) == Exponential(3.0)
    assert make_distribution("normal", 3.0, 0.5) == Normal(3.0, 0.5)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownDistributionError, match="valid: constant, exponential, normal, uniform"):
        make_distribution("weibull", 1.0, 2.0)


@pytest.mark.parametrize(
    ("name", "first", "second", "reason"),
    [
        ("uniform", 1.0, None, "half-width"),
        ("uniform", 1.0, -1.0, "negative"),
        ("exponential", 0.0, None, "positive"),
        ("normal", 1.0, None, "standard deviation"),
    ],
)
def test_bad_parameters(name: str, first: float, second: float | None, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_distribution(name, first, second)


def test_uniform_is_mean_plus_minus_half_width() -> None:
    dist = Uniform(7.5, 2.5)
    assert (dist.mean, dist.low, dist.high) == (7.5, 5.0, 10.0)
    draws = dist.sample_n(np.random.default_rng(1), 20_000)
    assert draws.min() >= 5.0 and draws.max() <= 10.0
    assert draws.min() < 5.1 and draws.max() > 9.9
    assert draws.mean() == pytest.approx(7.5, abs=0.05)


def test_exponential_mean() -> None:
    dist = Exponential(10080.0)
    assert (dist.mean, dist.low, dist.high) == (10080.0, 0.0, math.inf)
    assert dist.sample_n(np.random.default_rng(2), 50_000).mean() == pytest.approx(10080.0, rel=0.02)


def test_normal_never_draws_negative() -> None:
    dist = Normal(1.0, 2.0)
    draws = dist.sample_n(np.random.default_rng(3), 10_000)
    assert draws.min() == 0.0 and (draws == 0.0).mean() > 0.25
    assert dist.sample(np.random.default_rng(3)) >= 0.0


def test_constant_draws_its_value() -> None:
    dist = Constant(4.0)
    assert dist.sample(np.random.default_rng(0)) == 4.0 == dist.mean == dist.low == dist.high
    assert list(dist.sample_n(np.random.default_rng(0), 3)) == [4.0, 4.0, 4.0]


@pytest.mark.parametrize("dist", [Constant(2.0), Uniform(10.0, 1.0), Exponential(5.0), Normal(5.0, 1.0)])
def test_same_seed_same_draws(dist: Constant | Uniform | Exponential | Normal) -> None:
    first = [dist.sample(rng) for rng in [np.random.default_rng(42)] for _ in range(5)]
    second = [dist.sample(rng) for rng in [np.random.default_rng(42)] for _ in range(5)]
    assert first == second
    assert all(isinstance(x, float) for x in first)


@pytest.mark.parametrize("dist", [Constant(2.0), Uniform(10.0, 1.0), Exponential(5.0), Normal(5.0, 1.0)])
def test_scaled(dist: Constant | Uniform | Exponential | Normal) -> None:
    scaled = dist.scaled(25)
    assert type(scaled) is type(dist)
    assert scaled.mean == pytest.approx(25 * dist.mean)
    assert scaled.low == pytest.approx(25 * dist.low)
