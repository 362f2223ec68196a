"""Durations drawn per unit: a plain number (fixed) or a named distribution, on named random streams.

A plant draws a new value for every unit, batch, failure and repair, so draws come from *streams*: one
``numpy.random.Generator`` per named purpose (``stations/test/time``, ``release``…), seeded from the
run's seed and the name. A stream does not depend on which other streams exist, so adding a station
leaves the draws of the others as they were (common random numbers across designs), and an independent
model that names its streams the same way draws the same numbers (the SimPy baseline does).

Draws are taken from numpy in blocks of 1,024 and handed out one at a time; a block holds exactly the
values numpy would return one by one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from aifactory.scenario.distributions import (
    BaseDistribution,
    FloatArray,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    bounds,
)

BLOCK = 1024


class Exponential(BaseDistribution):
    """Exponential with the given mean: memoryless arrivals, failures and repairs."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    def point(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self.mean, size=n)


class Erlang(BaseDistribution):
    """Erlang-k with the given mean: the sum of ``k`` exponential phases (k = 1 is exponential)."""

    dist: Literal["erlang"]
    mean: float = Field(gt=0)
    k: int = Field(ge=1, le=1000)

    def point(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.gamma(self.k, self.mean / self.k, size=n)


DurationDistribution = Annotated[
    Exponential | Erlang | Triangular | Uniform | Normal | Lognormal, Field(discriminator="dist")
]
Duration = float | DurationDistribution
"""A duration in hours (or a count, for deliveries): a fixed number or a distribution drawn per use."""

DURATIONS: dict[str, type[BaseDistribution]] = {
    "exponential": Exponential,
    "erlang": Erlang,
    "triangular": Triangular,
    "uniform": Uniform,
    "normal": Normal,
    "lognormal": Lognormal,
}

Sampler = Callable[[], float]


def mean_of(value: Duration) -> float:
    """The mean of a duration (a normal clipped at 0 is treated as unclipped: a small error there)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Triangular):
        return (value.low + value.mode + value.high) / 3
    if isinstance(value, Uniform):
        return (value.low + value.high) / 2
    if isinstance(value, Lognormal):
        return float(value.median * np.exp(value.sigma**2 / 2))
    if isinstance(value, Normal):
        return value.mean
    return value.point()  # exponential, erlang: the mean


def lowest(value: Duration) -> float:
    """The smallest value the duration can take (a normal's is its clip, else minus infinity)."""
    if isinstance(value, Exponential | Erlang):
        return 0.0
    return bounds(value)[0]


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of the stream ``name`` in a run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),)))


def sampler(value: Duration, rng: np.random.Generator, *, clip_at_zero: bool = True) -> Sampler:
    """A function returning the next draw of ``value`` from ``rng`` (a fixed number: that number).

    Durations are clipped at 0 (a normal without ``low`` could otherwise give a negative time)."""
    if isinstance(value, int | float):
        fixed = float(value)
        return lambda: fixed
    block: list[float] = []
    dist = value

    def draw() -> float:
        if not block:
            values = dist.draw(rng, BLOCK)
            if clip_at_zero:
                np.maximum(values, 0.0, out=values)
            block.extend(values[::-1].tolist())
        return block.pop()

    return draw


def uniforms(rng: np.random.Generator) -> Sampler:
    """A function returning the next uniform draw on [0, 1) from ``rng`` (for yields and choices)."""
    block: list[float] = []

    def draw() -> float:
        if not block:
            block.extend(rng.random(BLOCK)[::-1].tolist())
        return block.pop()

    return draw
