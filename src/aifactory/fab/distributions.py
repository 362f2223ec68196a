"""Random durations (and counts) as the SMT2020 files give them: a distribution name and two numbers.

Every distribution is a small frozen object with a ``mean`` and a ``sample(rng)`` that draws one value
with an injected ``numpy.random.Generator`` (``sample_n`` draws an array). Values are in the unit the
reader converted them to: minutes for times, wafers for counts. They are looked up by the file's name
in :data:`DISTRIBUTIONS`; :func:`make_distribution` reports the valid names when one is unknown.

Parameter meaning (AutoSched AP convention, ``X`` / ``X2`` = e.g. ``PTIME`` / ``PTIME2``):

* ``constant X`` — always ``X``;
* ``uniform X X2`` — uniform on ``[X - X2, X + X2]`` (mean ``X``, half-width ``X2``);
* ``exponential X`` — exponential with mean ``X``;
* ``normal X X2`` — normal with mean ``X`` and standard deviation ``X2``, negative draws clipped to 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Constant:
    """Always ``value``."""

    value: float

    @property
    def mean(self) -> float:
        return self.value

    @property
    def low(self) -> float:
        """The smallest value a draw can take."""
        return self.value

    @property
    def high(self) -> float:
        """The largest value a draw can take."""
        return self.value

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def sample_n(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value)

    def scaled(self, factor: float) -> Constant:
        """The same distribution with every value multiplied by ``factor`` (e.g. wafers per lot)."""
        return Constant(self.value * factor)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform on ``[mean - half_width, mean + half_width]``."""

    center: float
    half_width: float

    @property
    def mean(self) -> float:
        return self.center

    @property
    def low(self) -> float:
        return self.center - self.half_width

    @property
    def high(self) -> float:
        return self.center + self.half_width

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def sample_n(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, size=n)

    def scaled(self, factor: float) -> Uniform:
        return Uniform(self.center * factor, self.half_width * factor)


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential with the given mean (e.g. time to failure)."""

    mean_value: float

    @property
    def mean(self) -> float:
        return self.mean_value

    @property
    def low(self) -> float:
        return 0.0

    @property
    def high(self) -> float:
        return math.inf

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_value))

    def sample_n(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self.mean_value, size=n)

    def scaled(self, factor: float) -> Exponential:
        return Exponential(self.mean_value * factor)


@dataclass(frozen=True, slots=True)
class Normal:
    """Normal with mean ``center`` and standard deviation ``sd``; negative draws become 0.

    ``mean`` is the mean before clipping (the clipping matters only when ``sd`` is large against it).
    """

    center: float
    sd: float

    @property
    def mean(self) -> float:
        return self.center

    @property
    def low(self) -> float:
        return 0.0

    @property
    def high(self) -> float:
        return math.inf

    def sample(self, rng: np.random.Generator) -> float:
        return max(0.0, float(rng.normal(self.center, self.sd)))

    def sample_n(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.maximum(rng.normal(self.center, self.sd, size=n), 0.0)

    def scaled(self, factor: float) -> Normal:
        return Normal(self.center * factor, self.sd * factor)


Distribution = Constant | Uniform | Exponential | Normal
"""Any of the distributions the format names."""


def _constant(first: float, second: float | None) -> Distribution:
    return Constant(first)


def _uniform(first: float, second: float | None) -> Distribution:
    if second is None:
        raise ValueError("needs a second value (the half-width)")
    if second < 0:
        raise ValueError(f"half-width {second:g} must not be negative")
    return Uniform(first, second)


def _exponential(first: float, second: float | None) -> Distribution:
    if first <= 0:
        raise ValueError(f"mean {first:g} must be positive")
    return Exponential(first)


def _normal(first: float, second: float | None) -> Distribution:
    if second is None:
        raise ValueError("needs a second value (the standard deviation)")
    if second < 0:
        raise ValueError(f"standard deviation {second:g} must not be negative")
    return Normal(first, second)


DISTRIBUTIONS: Final[dict[str, Callable[[float, float | None], Distribution]]] = {
    "constant": _constant,
    "uniform": _uniform,
    "exponential": _exponential,
    "normal": _normal,
}
"""Builders by the (lower-case) name the files use; each takes the first and second value."""


class UnknownDistributionError(ValueError):
    """The name is not one of :data:`DISTRIBUTIONS`."""


def make_distribution(name: str, first: float, second: float | None = None) -> Distribution:
    """The distribution ``name`` with parameters ``first`` and ``second`` (already in model units).

    Raises :class:`UnknownDistributionError` listing the valid names, or ``ValueError`` for bad
    parameters.
    """
    builder = DISTRIBUTIONS.get(name.strip().lower())
    if builder is None:
        raise UnknownDistributionError(
            f"'{name}' is not a distribution (valid: {', '.join(sorted(DISTRIBUTIONS))})"
        )
    return builder(first, second)
