"""The wafer fab described by an SMT2020 / AutoSched AP data set, as immutable typed values.

Every time is a float in **minutes**; every date is minutes after :attr:`Dataset.epoch` (the earliest
``START`` of the order and WIP files). Counts of wafers ("pieces") are ints. Names are kept exactly as
the files spell them and are the keys of the lookups (tool families by ``STNFAM``, parts by ``PART``,
routes by ``ROUTE``). Steps are referred to by their 0-based position in the route (``Step.index``);
``Step.label`` keeps the file's ``STEP`` value. ``docs/fab-format.md`` describes each file and column
and the semantics an engine must give them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from aifactory.fab.distributions import Distribution
from aifactory.fab.units import MINUTES_PER_WEEK


class ProcessingBasis(StrEnum):
    """What one processing-time draw covers (``PTPER``)."""

    LOT = "per_lot"
    """The whole lot, whatever its wafer count."""
    WAFER = "per_piece"
    """One wafer: a lot of ``n`` wafers takes ``n`` times as long (unless the step cascades wafers)."""
    BATCH = "per_batch"
    """One batch (several lots processed together), whatever its size."""


class BatchUnit(StrEnum):
    """What ``BATCHMN``/``BATCHMX`` count (the tool family's ``BATCHPER``)."""

    WAFER = "piece"
    LOT = "lot"


class SetupWhen(StrEnum):
    """When a step's setup is performed (``WHEN``)."""

    NEED = "need"
    """Only if the tool's current setup differs from the step's."""
    ALWAYS = "always"
    """Before every run of the step, even on a tool already in that setup."""


class CounterBasis(StrEnum):
    """What a breakdown or PM calendar counts between occurrences."""

    TIME = "time"
    """Calendar time in minutes (``mttf_by_cal``, ``mtbpm_by_cal``)."""
    WAFERS = "wafers"
    """Wafers processed by the tool (``mtbpm_by_pieces``)."""


class ResourceType(StrEnum):
    """What an ``attach.txt`` row attaches a calendar to (``RESTYPE``)."""

    AREA = "stngrp"
    """Every tool of every tool family whose ``STNGRP`` is the name."""
    FAMILY = "stnfam"
    """Every tool of the tool family (``STNFAM``)."""
    STATION = "stn"
    """Only the tools of the station row (``STN``) of that name."""


# --------------------------------------------------------------------------------------------------
# Tools and their calendars


@dataclass(frozen=True, slots=True)
class Station:
    """One row of the tool file: ``count`` identical tools named by ``STN`` within a family."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Unscheduled down time of each tool it applies to (``downcal.txt`` + ``attach.txt``).

    Each tool fails independently: the first failure comes ``first`` after the start, later ones
    ``time_to_failure`` after the previous repair ends; a repair takes ``time_to_repair``. With
    ``basis`` WAFERS the failure distributions count wafers processed instead of minutes.
    """

    calendar: str
    basis: CounterBasis
    time_to_failure: Distribution
    time_to_repair: Distribution
    first: Distribution
    attached_to: ResourceType
    station: str | None = None
    """Only the tools of this station (``RESTYPE stn``); ``None`` = every tool of the family."""


@dataclass(frozen=True, slots=True)
class PreventiveMaintenance:
    """Scheduled down time (PM) of each tool it applies to (``pmcal.txt`` + ``attach.txt``).

    ``basis`` TIME: a PM starts every ``interval`` minutes of calendar time, the first one ``first``
    minutes after the start. ``basis`` WAFERS: a PM starts when the tool has processed ``interval``
    wafers since its previous PM, the first one after ``first`` wafers. Either way it lasts
    ``duration`` minutes.
    """

    calendar: str
    basis: CounterBasis
    interval: float
    duration: Distribution
    first: float
    attached_to: ResourceType
    station: str | None = None
    """Only the tools of this station (``RESTYPE stn``); ``None`` = every tool of the family."""


@dataclass(frozen=True, slots=True)
class ToolFamily:
    """A tool group (``STNFAM``): identical, interchangeable tools that share one queue."""

    name: str
    stations: tuple[Station, ...]
    """The ``STN`` rows of the family; ``count`` is their total."""
    count: int
    """Number of tools (sum of ``STNQTY``)."""
    area: str
    """``STNGRP``: the work area (Dry_Etch, Litho, …) breakdown calendars attach to."""
    location: str
    """``STNFAMLOC``: where the tools stand; transport times are between locations."""
    rule: str
    """``RULE``: dispatching rule, e.g. ``rule_HotLotFIRST``, ``rule_LSSU``."""
    ranks: tuple[str, ...]
    """``FWLRANK``: lot ranking criteria in order, e.g. (``rank_HP``, ``rank_RSETUP``, ``rank_FIFO``)."""
    wake_rank: str | None
    """``WAKERESRANK``: how an arriving lot picks among idle tools, e.g. ``wake_LeastSetupTime``."""
    batch_criterion: str | None
    """``BATCHCRITF``: which lots may share a batch, e.g. ``crit_sameroutestep``; ``None`` = no batching."""
    batch_unit: BatchUnit | None
    """``BATCHPER``: what the route's batch sizes count."""
    load_time: float
    """``LTIME``: minutes to load a lot (or batch) before processing."""
    unload_time: float
    """``ULTIME``: minutes to unload after processing."""
    capacity: int
    """``STNCAP`` (1 if empty): 2 marks a cascading tool that holds two jobs at once."""
    setup_group: str | None
    """``SETUPGRP``: the setup group whose minimum run lengths apply (with ``rule_LSSU``)."""
    action_list: str
    """``STNFAMSTEP_ACTLIST``: AutoSched's action sequence at a step (informative)."""
    pre_rule: bool
    """``PRERULERWL``: AutoSched pre-rule flag (``no`` throughout SMT2020)."""
    breakdowns: tuple[Breakdown, ...] = ()
    pms: tuple[PreventiveMaintenance, ...] = ()

    @property
    def cascading(self) -> bool:
        """Lots (or wafers) may overlap on one tool: the route gives the interval between them."""
        return self.capacity > 1

    @property
    def batching(self) -> bool:
        return self.batch_criterion is not None

    @property
    def is_delay(self) -> bool:
        """A pseudo tool group modelling a pure delay (location ``Delay``), not real equipment."""
        return self.location.strip().lower() == "delay"


# --------------------------------------------------------------------------------------------------
# Routes and products


@dataclass(frozen=True, slots=True)
class BatchSize:
    """Minimum and maximum batch size of a ``per_batch`` step, in ``unit`` (wafers in SMT2020)."""

    min: int
    max: int
    unit: BatchUnit


@dataclass(frozen=True, slots=True)
class StepSetup:
    """The setup a step needs (``SETUP``/``WHEN``/``STIME``)."""

    setup: str
    when: SetupWhen
    time: float | None
    """``STIME`` in minutes if the route gives one; ``None`` = look it up in ``setup.txt``."""


@dataclass(frozen=True, slots=True)
class Rework:
    """After the step, with ``probability`` the lot (``kind`` ``lot``) goes back to ``to_step``."""

    probability: float
    """``REWORK`` / 100: 0.017 for ``REWORK 1.7``."""
    to_step: int
    """Index of the step (``RWKSTEP``) the lot restarts from; at or before this step."""
    kind: str
    """``RWKTYPE``: ``lot`` (the whole lot is reworked)."""


@dataclass(frozen=True, slots=True)
class QueueTimeLimit:
    """Critical queue time: from the end of this step to the start of ``until_step`` at most ``limit``."""

    until_step: int
    """Index of the step (``STEP_CQT``) that must start in time; after this step."""
    limit: float
    """``CQT`` in minutes."""


@dataclass(frozen=True, slots=True)
class Step:
    """One operation of a route."""

    index: int
    """0-based position in the route."""
    label: str
    """``STEP`` as in the file (referenced by ``CURSTEP``, ``RWKSTEP``, ``FORSTEP``, ``STEP_CQT``)."""
    description: str
    """``DESC``."""
    family: str
    """``STNFAM``: the tool family that processes the step."""
    processing_time: Distribution
    """``PDIST``/``PTIME``/``PTIME2`` in minutes, per ``basis`` unit."""
    basis: ProcessingBasis
    batch: BatchSize | None = None
    setup: StepSetup | None = None
    dedicated_to: int | None = None
    """``SVESTN yes`` + ``FORSTEP``: index of a later step that must run on the tool used here."""
    lot_interval: float | None = None
    """``BatchInterval`` (minutes): cascading — the next lot or batch may start this long after one."""
    wafer_interval: float | None = None
    """``PartInterval`` (minutes): cascading — wafers enter the tool this far apart."""
    rework: Rework | None = None
    sampling: float = 1.0
    """``StepPercent`` / 100: probability that a lot performs the step (otherwise it skips it)."""
    queue_time_limit: QueueTimeLimit | None = None

    @property
    def cascading(self) -> bool:
        return self.lot_interval is not None or self.wafer_interval is not None

    def mean_time(self, wafers: int) -> float:
        """Mean processing minutes of one lot of ``wafers`` wafers alone on the tool (no load/unload).

        ``per_piece``: ``n`` wafers take ``n·p``, or ``p + (n − 1)·c`` when wafers cascade ``c`` apart;
        ``per_lot`` and ``per_batch``: ``p``.
        """
        p = self.processing_time.mean
        if self.basis is ProcessingBasis.WAFER:
            if self.wafer_interval is not None:
                return p + (wafers - 1) * self.wafer_interval
            return p * wafers
        return p


@dataclass(frozen=True, slots=True)
class Route:
    """The ordered steps a part's lots go through (one ``ROUTE`` of a route file)."""

    name: str
    file: str
    steps: tuple[Step, ...]
    _labels: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_labels", MappingProxyType({s.label: s.index for s in self.steps}))

    def __len__(self) -> int:
        return len(self.steps)

    def step_index(self, label: str) -> int:
        """Index of the step whose ``STEP`` is ``label`` (``KeyError`` if none)."""
        return self._labels[label]


@dataclass(frozen=True, slots=True)
class Part:
    """A product (``part.txt``)."""

    name: str
    """``PART``: what orders and WIP lots name."""
    family: str
    """``PARTFAM`` (batching criterion ``crit_samepartfam`` groups by it)."""
    group: str
    """``PARTGRP``: ``Saleable`` (production) or ``Engineering``."""
    route: str
    """``ROUTE``: key of :attr:`Dataset.routes`."""
    route_file: str


# --------------------------------------------------------------------------------------------------
# Lots: releases and initial WIP


@dataclass(frozen=True, slots=True)
class PeriodicRelease:
    """A release stream (``order.txt`` periodic form).

    ``lots_per_release`` lots of ``wafers`` wafers are released at ``start + k·interval`` for
    ``k = 0 … repeats − 1`` (with a random ``interval``, each gap is a fresh draw). Lot ``k`` is due
    ``due_offset`` minutes after its own release.
    """

    lot_type: str
    """``LOT``: the lot type the KPIs are reported by (``Lot_3``, ``HotLot_3`` …)."""
    part: str
    priority: int
    """``PRIOR``: 10 regular, 20 hot, 30 super hot in SMT2020 (higher first under ``rank_HP``)."""
    wafers: int
    start: float
    interval: Distribution
    repeats: int
    lots_per_release: int
    due_offset: float | None
    """``DUE − START`` in minutes; ``None`` if the file gives no due date."""
    order: str
    hot: bool
    """``HOTLOT yes``: AutoSched reserves the next tool ahead of the lot (``no`` throughout SMT2020)."""

    @property
    def wafers_per_week(self) -> float:
        """Mean wafer starts per week while the stream runs."""
        return self.lots_per_release * self.wafers * MINUTES_PER_WEEK / self.interval.mean

    @property
    def end(self) -> float:
        """Mean time of the last release."""
        return self.start + (self.repeats - 1) * self.interval.mean


@dataclass(frozen=True, slots=True)
class LotRelease:
    """One lot released at ``start`` (``order.txt`` list form: a row without ``REPEAT``)."""

    lot: str
    lot_type: str
    """The lot type KPIs group by: ``LOT`` without its serial number (``Lot_1_17`` → ``Lot_1``)."""
    part: str
    priority: int
    wafers: int
    start: float
    due: float | None
    order: str
    hot: bool


Release = PeriodicRelease | LotRelease


@dataclass(frozen=True, slots=True)
class WipLot:
    """A lot already in the fab at time 0 (``WIP.txt``), waiting for step ``step`` of its route."""

    lot: str
    lot_type: str
    """The lot type KPIs group by: ``LOT`` without ``Init_`` and its serial (``Init_HotLot_3_7`` →
    ``HotLot_3``); see ``docs/fab-format.md``."""
    part: str
    priority: int
    wafers: int
    start: float
    """``START``: when the lot was released (minutes after the epoch; SMT2020: 0 for every WIP lot)."""
    step: int
    """Index of ``CURSTEP`` in the part's route: the next step to perform (not started yet)."""
    due: float | None
    order: str
    hot: bool


# --------------------------------------------------------------------------------------------------
# Setups and transport


@dataclass(frozen=True, slots=True)
class SetupChange:
    """Changing a tool from setup ``from_setup`` (``None`` = any) to ``to_setup`` takes ``time``."""

    from_setup: str | None
    to_setup: str
    time: Distribution


@dataclass(frozen=True, slots=True)
class SetupGroup:
    """``setupgrp.txt``: after a change to one of its setups, a tool runs at least ``min_run[setup]``
    lots in that setup before it may change again (``rule_LSSU``)."""

    name: str
    min_run: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Transport:
    """Moving a lot from location ``source`` to ``destination`` takes ``time`` (``fromto.txt``)."""

    source: str
    destination: str
    time: Distribution


# --------------------------------------------------------------------------------------------------
# Reference results


@dataclass(frozen=True, slots=True)
class LotTypeReference:
    """Reference KPIs of one lot type over the reference run (``reference_lots.txt``)."""

    lot_type: str
    throughput: float
    """``th``: lots completed."""
    cycle_time_days: float
    """``act``: mean cycle time in days."""
    on_time_pct: float
    """``on_time``: percentage of lots completed by their due date."""


@dataclass(frozen=True, slots=True)
class ToolGroupReference:
    """Reference time shares of one tool family, in % (``reference_toolgroups.txt``)."""

    name: str
    avail: float
    util: float
    br: float
    """Breakdown (unscheduled down)."""
    pm: float
    setup: float


@dataclass(frozen=True, slots=True)
class Reference:
    """What a faithful simulator of the data set should come close to."""

    lots: Mapping[str, LotTypeReference]
    toolgroups: Mapping[str, ToolGroupReference]


# --------------------------------------------------------------------------------------------------
# The data set


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything one SMT2020-format directory describes."""

    name: str
    """The directory's name (``HVLM``)."""
    epoch: datetime
    """Time 0: the earliest ``START`` in the order and WIP files."""
    tool_families: Mapping[str, ToolFamily]
    parts: Mapping[str, Part]
    routes: Mapping[str, Route]
    releases: tuple[Release, ...]
    wip: tuple[WipLot, ...]
    setup_changes: tuple[SetupChange, ...]
    setup_groups: Mapping[str, SetupGroup]
    transports: tuple[Transport, ...]
    reference: Reference | None = None

    @property
    def tool_count(self) -> int:
        """Real tools: all families except delay pseudo-groups."""
        return sum(f.count for f in self.tool_families.values() if not f.is_delay)

    @property
    def real_tool_families(self) -> tuple[ToolFamily, ...]:
        return tuple(f for f in self.tool_families.values() if not f.is_delay)

    def route_of(self, part: str) -> Route:
        """The route of ``part`` (``KeyError`` if the part is unknown)."""
        return self.routes[self.parts[part].route]

    @property
    def wafers_per_week(self) -> float:
        """Mean wafer starts per week of the periodic releases (list releases are not counted)."""
        return sum(r.wafers_per_week for r in self.releases if isinstance(r, PeriodicRelease))

    def setup_time(self, current: str | None, new: str) -> Distribution | None:
        """Time to change a tool from setup ``current`` (``None`` = no setup yet) to ``new``.

        A row for exactly (current, new) wins over a row from any setup (empty ``CURSETUP``);
        ``None`` if ``setup.txt`` has neither (then the change takes no time, or the route's ``STIME``).
        """
        fallback: Distribution | None = None
        for change in self.setup_changes:
            if change.to_setup != new:
                continue
            if change.from_setup is None:
                fallback = change.time
            elif change.from_setup == current:
                return change.time
        return fallback

    def transport_time(self, source: str, destination: str) -> Distribution | None:
        """Transport time between two locations, or ``None`` if ``fromto.txt`` has no such pair."""
        for transport in self.transports:
            if transport.source == source and transport.destination == destination:
                return transport.time
        return None
