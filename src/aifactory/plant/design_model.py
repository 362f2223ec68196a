"""The ``design:`` section of a plant file: what a designer may change, within which bounds, at what cost.

A decision variable is one whole number: the servers of a station, the units of a robot fleet, the
operators on each shift of a pool, how many of a pool's shifts are worked (its first N), or whether
robots of a fleet work a station instead of its operators (0 or 1). Capital items (servers, robots, a
station fitted for robots) cost ``capex_usd`` a unit, spread over ``amortisation_years``; labour costs
``labour_usd_per_hour`` an operator-hour on duty. A design's cost is its cost per week of everything the
variables count — the whole quantity, not only what is added — so two designs compare at a glance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from aifactory.plant.model import Plant

WEEKS_PER_YEAR = 365.25 / 7
Kind = Literal["station", "robots", "operators", "shifts", "arms_at"]
KINDS: tuple[Kind, ...] = ("station", "robots", "operators", "shifts", "arms_at")
NOUNS = {
    "station": "station",
    "robots": "robot fleet",
    "operators": "operator pool",
    "shifts": "operator pool",
    "arms_at": "station",
}


class Variable(BaseModel):
    """One decision; exactly one of ``station``, ``robots``, ``operators``, ``shifts`` says what."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    station: str | None = Field(default=None, description="The station whose servers it counts.")
    robots: str | None = Field(default=None, description="The robot fleet whose units it counts.")
    operators: str | None = Field(default=None, description="The pool whose operators per shift it counts.")
    shifts: str | None = Field(default=None, description="The pool whose shifts it counts (its first N).")
    arms_at: str | None = Field(
        default=None, description="A station where robots of `fleet` may work instead of operators (0 or 1)."
    )
    fleet: str | None = Field(default=None, description="With arms_at: the arm or humanoid fleet.")
    low: int = Field(ge=0, le=100_000, description="Smallest value allowed.")
    high: int = Field(ge=0, le=100_000, description="Largest value allowed.")
    capex_usd: float | None = Field(
        default=None, ge=0, le=1e12, description="Station servers, robots: cost of one unit."
    )
    labour_usd_per_hour: float | None = Field(
        default=None, ge=0, le=1e6, description="Operators, shifts: cost of an operator-hour on duty."
    )
    note: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        named = [k for k in KINDS if getattr(self, k) is not None]
        if len(named) != 1:
            raise ValueError(f"name exactly one of {', '.join(KINDS)} (got {', '.join(named) or 'none'})")
        if self.low > self.high:
            raise ValueError(f"low: {self.low} is above high {self.high}")
        if (self.kind == "arms_at") != (self.fleet is not None):
            raise ValueError(
                "fleet: give it with arms_at (the robots that take the operators' place), only then"
            )
        if self.kind == "arms_at" and self.high > 1:
            raise ValueError("high: arms_at is 0 (operators, as written) or 1 (robots instead)")
        capital = self.kind in ("station", "robots", "arms_at")
        if capital and self.capex_usd is None:
            raise ValueError(f"capex_usd: required for a variable of {self.kind}")
        if not capital and self.labour_usd_per_hour is None:
            raise ValueError(f"labour_usd_per_hour: required for a variable of {self.kind}")
        if capital and self.labour_usd_per_hour is not None:
            raise ValueError(f"labour_usd_per_hour: only for operators and shifts, not {self.kind}")
        if not capital and self.capex_usd is not None:
            raise ValueError(f"capex_usd: only for station servers and robots, not {self.kind}")
        if self.kind == "station" and self.low < 1:
            raise ValueError("low: a station has at least 1 server")
        return self

    @property
    def kind(self) -> Kind:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> str:
        value = getattr(self, self.kind)
        assert isinstance(value, str)
        return value


class Design(BaseModel):
    """What ``aifactory plant design`` may change, and the defaults of its target."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    variables: dict[str, Variable] = Field(min_length=1, max_length=64)
    target_racks_per_week: float | None = Field(
        default=None, gt=0, le=1e6, description="The target when --target is not given."
    )
    probability: float = Field(
        default=0.9, gt=0, le=1, description="Share of replications that must meet the target."
    )
    amortisation_years: float = Field(default=5.0, gt=0, le=100, description="Capital spread over this.")
    note: str | None = None


def design_errors(p: Plant) -> list[str]:
    """Variables that name no station, fleet or pool, or that the plant cannot take."""
    if p.design is None:
        return []
    errors: list[str] = []
    known: dict[str, set[str]] = {
        "station": set(p.stations),
        "robots": set(p.robots),
        "operators": set(p.operators),
        "shifts": set(p.operators),
        "arms_at": set(p.stations),
    }
    for name, v in p.design.variables.items():
        where = f"design.variables.{name}.{v.kind}"
        if v.target not in known[v.kind]:
            errors.append(f"{where}: no {NOUNS[v.kind]} {v.target!r}")
            continue
        if v.kind == "arms_at" and v.fleet is not None:
            fleet = p.robots.get(v.fleet)
            if fleet is None or fleet.kind == "amr":
                errors.append(f"design.variables.{name}.fleet: no arm or humanoid fleet {v.fleet!r}")
        if v.kind == "shifts":
            listed = len(p.operators[v.target].shifts)
            if listed == 0:
                errors.append(f"{where}: pool {v.target!r} lists no shifts (it is always on duty)")
            elif v.high > listed or v.low < 1:
                errors.append(
                    f"{where}: pool {v.target!r} lists {listed} shift(s): bounds within 1 … {listed}"
                )
    seen: dict[tuple[str, str], str] = {}
    for name, v in p.design.variables.items():
        key = (v.kind, v.target)
        if key in seen:
            errors.append(f"design.variables.{name}: {v.kind} {v.target!r} is decided by {seen[key]!r} too")
        seen[key] = name
    return errors
