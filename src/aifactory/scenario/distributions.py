"""Uncertain inputs: a plain number or a named distribution, drawn once per Monte Carlo run.

Distributions are looked up by their ``dist`` tag; pydantic's discriminated union reports the valid
names when a tag is unknown. Every distribution knows its *point value* (the value a deterministic run
uses: mode, mean or median) and draws ``n`` values from an injected numpy ``Generator``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = npt.NDArray[np.float64]


class BaseDistribution(BaseModel):
    """The base of every named distribution (other twins add their own, e.g. the plant's exponential)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    note: str | None = Field(default=None, description="Where the range comes from (estimate, source).")

    @abstractmethod
    def point(self) -> float:
        """The value a deterministic run uses."""

    @abstractmethod
    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        """``n`` independent draws."""

    @property
    def is_fixed(self) -> bool:
        return False


def _check_order(low: float, high: float) -> None:
    if low > high:
        raise ValueError(f"low ({low:g}) is greater than high ({high:g})")


class Triangular(BaseDistribution):
    """Triangular distribution on [low, high] with the given mode: the planner's 'min / likely / max'."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_order(self.low, self.high)
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode ({self.mode:g}) must lie between low ({self.low:g}) and high ({self.high:g})"
            )
        return self

    def point(self) -> float:
        return self.mode

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        if self.low == self.high:
            rng.random(n)  # keep the stream position independent of the range's width
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, size=n)

    @property
    def is_fixed(self) -> bool:
        return self.low == self.high


class Uniform(BaseDistribution):
    """Uniform distribution on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_order(self.low, self.high)
        return self

    def point(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, size=n)

    @property
    def is_fixed(self) -> bool:
        return self.low == self.high


class _Clipped(BaseDistribution):
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low is not None and self.high is not None:
            _check_order(self.low, self.high)
        return self

    def _clip(self, values: FloatArray) -> FloatArray:
        if self.low is not None or self.high is not None:
            np.clip(values, self.low, self.high, out=values)
        return values

    def _clip_point(self, value: float) -> float:
        return float(np.clip(value, self.low, self.high)) if (self.low, self.high) != (None, None) else value


class Normal(_Clipped):
    """Normal distribution, optionally clipped to [low, high]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)

    def point(self) -> float:
        return self._clip_point(self.mean)

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        return self._clip(rng.normal(self.mean, self.sd, size=n))

    @property
    def is_fixed(self) -> bool:
        return self.sd == 0


class Lognormal(_Clipped):
    """Lognormal distribution given by its median and the sigma of log(x), optionally clipped."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def point(self) -> float:
        return self._clip_point(self.median)

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        return self._clip(rng.lognormal(np.log(self.median), self.sigma, size=n))

    @property
    def is_fixed(self) -> bool:
        return self.sigma == 0


Distribution = Annotated[Triangular | Uniform | Normal | Lognormal, Field(discriminator="dist")]
Uncertain = float | Distribution
"""A scenario figure: a fixed number, or a distribution drawn once per run."""

DISTRIBUTIONS: dict[str, type[BaseDistribution]] = {
    "triangular": Triangular,
    "uniform": Uniform,
    "normal": Normal,
    "lognormal": Lognormal,
}


def point_value(value: Uncertain) -> float:
    """The value a deterministic run uses for ``value``."""
    return float(value) if isinstance(value, int | float) else value.point()


def is_uncertain(value: Uncertain) -> bool:
    return not isinstance(value, int | float) and not value.is_fixed


def draw(value: Uncertain, rng: np.random.Generator, n: int, *, deterministic: bool = False) -> FloatArray:
    """``n`` draws of ``value``; fixed numbers (and deterministic mode) give a constant array."""
    if isinstance(value, int | float):
        return np.full(n, float(value))
    if deterministic:
        return np.full(n, value.point())
    return value.draw(rng, n)


def bounds(value: Uncertain) -> tuple[float, float]:
    """The smallest and largest value ``value`` can take (infinite for unclipped tails)."""
    if isinstance(value, int | float):
        return float(value), float(value)
    if isinstance(value, Triangular | Uniform):
        return value.low, value.high
    low = value.low if value.low is not None else (0.0 if isinstance(value, Lognormal) else -np.inf)
    high = value.high if value.high is not None else np.inf
    if value.is_fixed:
        return value.point(), value.point()
    return float(low), float(high)
