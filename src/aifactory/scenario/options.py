"""What a planner may add to a stage: capacity options (docs/planner.md).

An option adds up to ``add_per_day.max`` units started per day to its stage, at
``cost_usd_per_unit_per_day`` per unit of daily capacity, never online before ``earliest +
lead_time_days``. Where capacity comes in blocks (a fab phase, a packaging line), ``add_per_day.block``
makes the amount a whole number of blocks; ``fixed_cost_usd`` is paid once if any of it is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class OptionAmount(_Strict):
    """How much of an option may be added (units started per day)."""

    max: float = Field(ge=0, description="Most capacity the option can add (units started per day).")
    block: float | None = Field(
        default=None, gt=0, description="If given, the option is added in whole blocks of this size."
    )


class StageOption(_Strict):
    """A capacity addition the planner may choose, with its cost, lead time and bounds."""

    name: str = Field(min_length=1)
    add_per_day: OptionAmount
    cost_usd_per_unit_per_day: float = Field(ge=0, description="Cost per unit of daily capacity added.")
    fixed_cost_usd: float = Field(default=0.0, ge=0, description="Paid once if any of the option is used.")
    lead_time_days: float = Field(default=0.0, ge=0, description="Days from the decision to first output.")
    earliest: dt.date = Field(description="The earliest day the decision can be taken.")
    ramp_days: float = Field(default=0.0, ge=0, description="Days from online to the full added capacity.")
    source: str | None = Field(default=None, description="Where the estimate comes from.")
    note: str | None = None

    @model_validator(mode="after")
    def _block_fits(self) -> Self:
        block = self.add_per_day.block
        if block is not None and block > self.add_per_day.max > 0:
            raise ValueError(
                f"add_per_day.block: {block:g} is larger than add_per_day.max {self.add_per_day.max:g}"
            )
        return self

    def online_day(self, start: dt.date) -> int:
        """The first simulation day (day 0 = ``start``) the option can add capacity."""
        return (self.earliest - start).days + round(self.lead_time_days)


class PlanOption(StageOption):
    """An option in a separate options file (``aifactory plan --options FILE``): it names its stage."""

    stage: str = Field(min_length=1)


def option_errors(stages: dict[str, list[StageOption]], start: dt.date, horizon_days: int) -> list[str]:
    """Problems that need the whole scenario: duplicate names, decisions after the horizon."""
    errors: list[str] = []
    end = start + dt.timedelta(days=horizon_days - 1)
    for sid, options in stages.items():
        seen: set[str] = set()
        for i, option in enumerate(options):
            where = f"stages.{sid}.options.{i}"
            if option.name in seen:
                errors.append(f"{where}.name: another option of this stage is called '{option.name}'")
            seen.add(option.name)
            if option.earliest > end:
                errors.append(f"{where}.earliest: {option.earliest} is after the horizon's last day ({end})")
    return errors
