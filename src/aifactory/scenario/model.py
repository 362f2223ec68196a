"""The scenario format ``aifactory/v1`` (docs/scenario.md) as pydantic models.

A scenario describes a manufacturing network: sites, the items that flow, capacity-limited stages that
turn inputs into outputs, lanes that move a stage's good output to a consuming stage, destinations that
count what arrives, and targets to check. Structural rules that span several fields (a lane to an
undefined stage, an item nobody supplies, a cycle without a source) are checked in ``network_errors``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aifactory.scenario.distributions import Uncertain, bounds
from aifactory.scenario.factory_inputs import FactoryEconomics, FactoryPower, ProgrammeDemand, demand_errors
from aifactory.scenario.hardware import CATALOGUE
from aifactory.scenario.options import StageOption, option_errors

Identifier = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Site(_Strict):
    """A physical plant: who runs it, where, how big."""

    name: str
    operator: str | None = None
    location: str | None = None
    country: str | None = Field(default=None, description="ISO 3166 alpha-2 code, e.g. US, TW.")
    floor_area_sqft: float | None = Field(default=None, ge=0)
    jobs: int | None = Field(default=None, ge=0)
    investment_usd: float | None = Field(default=None, ge=0)
    note: str | None = None


class Item(_Strict):
    """Something that flows. Value and GPU content make money and GPU totals computable."""

    value_usd: Uncertain = Field(default=0.0, description="Value of one unit (used for value and tariffs).")
    gpus: float = Field(default=0.0, ge=0, description="GPUs contained in one unit.")
    power_kw: float | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        _check_range(self.value_usd, "value_usd", 0.0, None)
        return self


class CapacityPoint(_Strict):
    """One point of a piecewise-linear capacity curve (units started per day)."""

    date: dt.date
    per_day: float = Field(ge=0)


class SharePoint(_Strict):
    """From ``date`` on, the share (weight) of a lane or destination is ``value``."""

    date: dt.date
    value: float = Field(ge=0)


class Expansion(_Strict):
    """A capacity addition planned for ``date``, possibly late by ``delay_days``, ramping linearly."""

    date: dt.date
    add_per_day: Uncertain = Field(description="Capacity added at full ramp (units started per day).")
    ramp_days: Uncertain = Field(default=0.0, description="Days from first output to full added capacity.")
    delay_days: Uncertain = Field(default=0.0, description="Slip of the start date (days).")
    note: str | None = None


class Disruption(_Strict):
    """A stage at reduced capacity for a period, happening in a run with ``probability``."""

    name: str | None = None
    start: dt.date
    start_latest: dt.date | None = Field(
        default=None, description="If given, each run draws the start uniformly in [start, start_latest]."
    )
    days: Uncertain = Field(description="Duration in days.")
    probability: float = Field(default=1.0, ge=0, le=1)
    capacity_factor: float = Field(default=0.0, ge=0, le=1, description="Capacity left while disrupted.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start_latest is not None and self.start_latest < self.start:
            raise ValueError("start_latest is before start")
        return self


Capacity = float | list[CapacityPoint]
Share = float | list[SharePoint] | Literal["capacity", "pull"] | None


class Stage(_Strict):
    """A capacity-limited transformation at one site."""

    site: Identifier
    produces: Identifier
    consumes: dict[Identifier, float] = Field(
        default_factory=dict, description="Inputs per unit started (bill of materials); empty = a source."
    )
    output_per_unit: Uncertain = Field(default=1.0, description="Units of `produces` per unit started.")
    capacity: Capacity = Field(description="Units started per day: a number or piecewise-linear points.")
    capacity_scale: Uncertain = Field(default=1.0, description="Multiplier on the capacity curve per run.")
    expansions: list[Expansion] = Field(default_factory=list)
    cycle_time_days: Uncertain = Field(default=0.0, description="Start → output, days.")
    yield_: Uncertain = Field(default=1.0, alias="yield", description="Good fraction of started units.")
    cost_per_unit_usd: Uncertain = Field(default=0.0, description="Cost per unit started.")
    disruptions: list[Disruption] = Field(default_factory=list)
    initial_inventory: dict[Identifier, float] = Field(
        default_factory=dict, description="Inputs on hand at day 0, by item."
    )
    options: list[StageOption] = Field(default_factory=list, description="What a planner may add.")
    note: str | None = None

    @field_validator("capacity")
    @classmethod
    def _capacity_sorted(cls, value: Capacity) -> Capacity:
        if isinstance(value, float | int):
            if value < 0:
                raise ValueError("capacity must be >= 0")
            return float(value)
        if not value:
            raise ValueError("capacity needs at least one point")
        dates = [p.date for p in value]
        if dates != sorted(dates):
            raise ValueError("capacity points must be in date order")
        return value

    @field_validator("consumes", "initial_inventory")
    @classmethod
    def _positive_quantities(cls, value: dict[str, float]) -> dict[str, float]:
        for item, qty in value.items():
            if qty < 0:
                raise ValueError(f"{item}: quantity must be >= 0")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        for field, low, high in (
            ("yield", 0.0, 1.0),
            ("cycle_time_days", 0.0, None),
            ("output_per_unit", 0.0, None),
            ("capacity_scale", 0.0, None),
            ("cost_per_unit_usd", 0.0, None),
        ):
            _check_range(getattr(self, "yield_" if field == "yield" else field), field, low, high)
        for qty_item, qty in self.consumes.items():
            if qty <= 0:
                raise ValueError(f"consumes.{qty_item}: quantity must be > 0")
        for i, exp in enumerate(self.expansions):
            _check_range(exp.add_per_day, f"expansions.{i}.add_per_day", 0.0, None)
            _check_range(exp.ramp_days, f"expansions.{i}.ramp_days", 0.0, None)
        for i, dis in enumerate(self.disruptions):
            _check_range(dis.days, f"disruptions.{i}.days", 0.0, None)
        return self


class Lane(_Strict):
    """Moves a stage's good output to a consuming stage."""

    from_: Identifier = Field(alias="from")
    to: Identifier
    transit_days: Uncertain = 0.0
    share: Share = Field(
        default=None,
        description="Weight of this outflow among the stage's open outflows (default equal); "
        "'capacity' = the consuming stage's capacity today; 'pull' = ship what the consuming stage needs "
        "to hold cover_days of input (served before push outflows).",
    )
    cover_days: float = Field(
        default=14.0,
        gt=0,
        description="share: pull — days of the consumer's capacity to keep on hand or on the way.",
    )
    cost_per_unit_usd: Uncertain = 0.0
    tariff_rate: Uncertain = Field(default=0.0, description="Tariff as a fraction of the item's value.")
    note: str | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        _check_range(self.transit_days, "transit_days", 0.0, None)
        _check_range(self.cost_per_unit_usd, "cost_per_unit_usd", 0.0, None)
        _check_range(self.tariff_rate, "tariff_rate", 0.0, None)
        _check_share(self.share)
        return self


class Destination(_Strict):
    """Where finished items go (an AI factory, a customer region); counts what reaches it."""

    from_: Identifier | list[Identifier] = Field(alias="from")
    share: float | list[SharePoint] | None = None
    transit_days: Uncertain = 0.0
    demand: float | None = Field(
        default=None, gt=0, description="Units wanted in total; once allotted, output goes elsewhere."
    )
    name: str | None = None
    country: str | None = None
    note: str | None = None

    @property
    def sources(self) -> list[str]:
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        _check_range(self.transit_days, "transit_days", 0.0, None)
        _check_share(self.share)
        return self


TargetMetric = Literal["value_usd", "gpus_delivered", "items_delivered", "production_rate"]


class Target(_Strict):
    """A goal checked in the summary: a total by a date, or a weekly production rate reached in a window."""

    metric: TargetMetric
    by: dt.date
    value: float = Field(ge=0)
    name: str | None = None
    item: Identifier | None = Field(default=None, description="For items_delivered and production_rate.")
    destinations: list[Identifier] | None = Field(default=None, description="Restrict to these destinations.")
    sites_country: str | None = Field(
        default=None, description="production_rate: count only stages at sites in this country."
    )
    window_start: dt.date | None = Field(
        default=None, description="production_rate: the window in which the rate must be reached."
    )
    per_days: int = Field(default=7, ge=1, description="production_rate: the rate's period in days.")
    note: str | None = None

    @model_validator(mode="after")
    def _needs_item(self) -> Self:
        if self.metric in ("items_delivered", "production_rate") and self.item is None:
            raise ValueError(f"metric {self.metric} needs an item")
        return self


class Project(_Strict):
    """A project of a programme: the tenant jobs belong to, entitled by weight or by a fixed quota."""

    share: float | None = Field(
        default=None, ge=0, description="Weight within its programme (default 1; or give quota_gpus)."
    )
    quota_gpus: float | None = Field(
        default=None, ge=0, description="Nominal quota in GPUs, taken first from the programme's part."
    )
    budget_gpu_hours: float | None = Field(
        default=None, ge=0, description="GPU-hours the project may use per budget period; then its jobs wait."
    )
    borrowing_limit_gpus: float | None = Field(
        default=None, ge=0, description="GPUs it may use above its entitlement (default: no limit)."
    )
    name: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _weight_or_quota(self) -> Self:
        if self.share is not None and self.quota_gpus is not None:
            raise ValueError("give share or quota_gpus, not both")
        return self


class Program(_Strict):
    """A council programme (research, start-ups, industry, anchor users …) and its share of a factory."""

    share: float = Field(
        gt=0, description="Weight of the programme's entitlement (normalised over programmes)."
    )
    budget_gpu_hours: float | None = Field(
        default=None,
        ge=0,
        description="GPU-hours the programme may use per budget period; then its jobs wait.",
    )
    borrowing_limit_gpus: float | None = Field(
        default=None, ge=0, description="GPUs it may use above its entitlement (default: no limit)."
    )
    lending_limit_gpus: float | None = Field(
        default=None,
        ge=0,
        description="GPUs of its unused entitlement other programmes may borrow (default: all of it).",
    )
    projects: dict[Identifier, Project] = Field(
        default_factory=dict, description="Its projects (tenants); none: the programme is the tenant."
    )
    name: str | None = None
    note: str | None = None


class AIFactory(_Strict):
    """An AI factory: racks of one catalogue type in scale-out blocks, a power budget, programmes."""

    name: str | None = None
    country: str | None = None
    racks: int | None = Field(default=None, ge=1, description="Racks installed (or use racks_from).")
    racks_from: Identifier | None = Field(
        default=None, description="A destination: the factory holds the racks the supply twin delivers there."
    )
    rack_type: str = Field(default="gb300-nvl72", description="A rack type of the hardware catalogue.")
    schedulable_trays: int | None = Field(
        default=None, ge=1, description="Trays per rack open to jobs (operators often keep spares)."
    )
    block_racks: int = Field(default=8, ge=1, description="Racks per scale-out (leaf–spine) block.")
    power_budget_mw: float | None = Field(default=None, gt=0, description="Facility power available.")
    pue: float = Field(default=1.25, ge=1.0, description="Power usage effectiveness of the halls.")
    tray_mtbf_hours: float | None = Field(
        default=None, gt=0, description="Mean hours between failures of one compute tray (default: none)."
    )
    tray_repair_hours: float = Field(default=24.0, gt=0, description="Mean hours to repair or swap a tray.")
    checkpoint_minutes: float = Field(
        default=60.0,
        gt=0,
        description="Interrupted jobs restart from a checkpoint at most this old.",
    )
    budget_period_days: float | None = Field(
        default=None, gt=0, description="Budgets renew every this many days (default: they do not)."
    )
    programs: dict[Identifier, Program] = Field(default_factory=dict)
    demand: dict[Identifier, ProgrammeDemand] = Field(
        default_factory=dict, description="Each programme's demand (aifactory factory simulate)."
    )
    power: FactoryPower = Field(default_factory=FactoryPower)
    economics: FactoryEconomics = Field(default_factory=FactoryEconomics)
    note: str | None = None

    @model_validator(mode="after")
    def _one_rack_source(self) -> Self:
        if (self.racks is None) == (self.racks_from is None):
            raise ValueError("give exactly one of racks and racks_from")
        errors = demand_errors(self.demand, list(self.programs))
        if errors:
            raise ValueError(errors[0])
        return self

    @model_validator(mode="after")
    def _tenant_names(self) -> Self:
        seen: dict[str, str] = {name: "a programme" for name in self.programs}
        for programme, spec in self.programs.items():
            for project in spec.projects:
                if project in seen:
                    raise ValueError(
                        f"programs.{programme}.projects.{project}: the name is already {seen[project]}"
                    )
                seen[project] = f"a project of {programme}"
        return self


class Scenario(_Strict):
    """A whole scenario file (``format: aifactory/v1``)."""

    format: Literal["aifactory/v1"]
    name: str
    description: str | None = None
    start: dt.date = Field(description="Simulation day 0.")
    horizon_days: int = Field(gt=0, le=36_600)
    sites: dict[Identifier, Site] = Field(default_factory=dict)
    items: dict[Identifier, Item]
    stages: dict[Identifier, Stage]
    lanes: list[Lane] = Field(default_factory=list)
    destinations: dict[Identifier, Destination] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)
    ai_factories: dict[Identifier, AIFactory] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _network(self) -> Self:
        errors = network_errors(self)
        if errors:
            raise ValueError(errors[0])
        return self

    def day(self, date: dt.date) -> int:
        """Simulation day index of ``date`` (day 0 is ``start``)."""
        return (date - self.start).days

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)


def _check_range(value: Uncertain, field: str, low: float | None, high: float | None) -> None:
    lo, hi = bounds(value)
    if low is not None and lo < low:
        raise ValueError(f"{field}: must be >= {low:g} (lowest possible value is {lo:g})")
    if high is not None and hi > high:
        raise ValueError(f"{field}: must be <= {high:g} (highest possible value is {hi:g})")


def _check_share(share: Share) -> None:
    if isinstance(share, float | int) and share < 0:
        raise ValueError("share: must be >= 0")
    if isinstance(share, list):
        dates = [p.date for p in share]
        if not share or dates != sorted(dates):
            raise ValueError("share: points must be in date order")


def network_errors(s: Scenario) -> list[str]:
    """Structural problems, each as ``path: reason`` naming the offending field."""
    errors: list[str] = []
    for sid, st in s.stages.items():
        if s.sites and st.site not in s.sites:
            errors.append(f"stages.{sid}.site: unknown site '{st.site}' (sites: {', '.join(s.sites)})")
        if st.produces not in s.items:
            errors.append(f"stages.{sid}.produces: unknown item '{st.produces}'")
        for item in st.consumes:
            if item not in s.items:
                errors.append(f"stages.{sid}.consumes.{item}: unknown item '{item}'")
        for item in st.initial_inventory:
            if item not in st.consumes:
                errors.append(f"stages.{sid}.initial_inventory.{item}: the stage does not consume '{item}'")
    if errors:
        return errors
    supplied: dict[str, set[str]] = {sid: set() for sid in s.stages}
    for i, lane in enumerate(s.lanes):
        for end, sid in (("from", lane.from_), ("to", lane.to)):
            if sid not in s.stages:
                errors.append(f"lanes.{i}.{end}: unknown stage '{sid}' (stages: {', '.join(s.stages)})")
        if errors:
            continue
        item = s.stages[lane.from_].produces
        if item not in s.stages[lane.to].consumes:
            errors.append(f"lanes.{i}: stage '{lane.to}' does not consume '{item}' made by '{lane.from_}'")
        supplied[lane.to].add(item)
    for did, dest in s.destinations.items():
        for sid in dest.sources:
            if sid not in s.stages:
                errors.append(f"destinations.{did}.from: unknown stage '{sid}'")
        made = {s.stages[sid].produces for sid in dest.sources if sid in s.stages}
        if len(made) > 1:
            items = ", ".join(sorted(made))
            errors.append(f"destinations.{did}.from: its stages make different items ({items})")
    if errors:
        return errors
    for sid, st in s.stages.items():
        for item in st.consumes:
            if item not in supplied[sid]:
                errors.append(f"stages.{sid}.consumes.{item}: no lane brings '{item}' to this stage")
        has_outlet = any(lane.from_ == sid for lane in s.lanes) or any(
            sid in d.sources for d in s.destinations.values()
        )
        if not has_outlet:
            errors.append(
                f"stages.{sid}: its output ('{st.produces}') goes nowhere; add a lane or a destination"
            )
    if errors:
        return errors
    unreachable = _unreachable_stages(s)
    if unreachable:
        errors.append(
            f"stages.{unreachable[0]}: not fed by any source stage (a cycle without a source: "
            f"{' → '.join(unreachable)})"
        )
    for fid, factory in s.ai_factories.items():
        if factory.racks_from is not None and factory.racks_from not in s.destinations:
            errors.append(f"ai_factories.{fid}.racks_from: unknown destination '{factory.racks_from}'")
        if factory.rack_type not in CATALOGUE:
            errors.append(
                f"ai_factories.{fid}.rack_type: unknown rack type '{factory.rack_type}' "
                f"(rack types: {', '.join(CATALOGUE)})"
            )
        elif (
            factory.schedulable_trays is not None
            and factory.schedulable_trays > CATALOGUE[factory.rack_type].trays
        ):
            errors.append(
                f"ai_factories.{fid}.schedulable_trays: a {factory.rack_type} rack has "
                f"{CATALOGUE[factory.rack_type].trays} trays"
            )
    errors += option_errors({sid: st.options for sid, st in s.stages.items()}, s.start, s.horizon_days)
    for i, target in enumerate(s.targets):
        if target.item is not None and target.item not in s.items:
            errors.append(f"targets.{i}.item: unknown item '{target.item}'")
        for did in target.destinations or []:
            if did not in s.destinations:
                errors.append(f"targets.{i}.destinations: unknown destination '{did}'")
    return errors


def _unreachable_stages(s: Scenario) -> list[str]:
    reached = {sid for sid, st in s.stages.items() if not st.consumes}
    frontier = list(reached)
    while frontier:
        sid = frontier.pop()
        for lane in s.lanes:
            if lane.from_ == sid and lane.to not in reached:
                reached.add(lane.to)
                frontier.append(lane.to)
    return [sid for sid in s.stages if sid not in reached]
