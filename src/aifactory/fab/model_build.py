"""Compile a :class:`~aifactory.fab.dataset.Dataset` into flat lists the event engine indexes by int.

Tool families, tools, route steps (numbered globally: ``route_base[route] + step.index``), setups and
locations become small ints; distributions become ``(kind, a, b)`` triples (see :data:`CONST` …) so
the engine draws them without method dispatch. Nothing here is random: per-tool first PM times are
staggered deterministically (the k-th of N tools, k = 1…N, gets ``first × k / N``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from aifactory.fab.dataset import (
    BatchUnit,
    CounterBasis,
    Dataset,
    ProcessingBasis,
    SetupWhen,
)
from aifactory.fab.dispatch import FamilyRule, resolve_rule
from aifactory.fab.distributions import Constant, Distribution, Exponential, Normal, Uniform

CONST = 0
"""``(CONST, value, _)``."""
UNIFORM = 1
"""``(UNIFORM, low, high)``."""
EXPON = 2
"""``(EXPON, mean, _)``."""
NORMAL = 3
"""``(NORMAL, mean, sd)``, clipped at 0."""

Dist = tuple[int, float, float]

BASIS_LOT = 0
BASIS_WAFER = 1
BASIS_BATCH = 2

BATCH_SAME_STEP = 0
"""``crit_sameroutestep``: lots of the same route step."""
BATCH_SAME_NAME = 1
"""``crit_samepartfam`` / ``crit_samestepname``: lots of the same part family and step description."""


def encode(dist: Distribution) -> Dist:
    """A distribution as the engine's ``(kind, a, b)`` triple."""
    if isinstance(dist, Constant):
        return (CONST, dist.value, dist.value)
    if isinstance(dist, Uniform):
        return (UNIFORM, dist.low, dist.high)
    if isinstance(dist, Exponential):
        return (EXPON, dist.mean_value, 0.0)
    if isinstance(dist, Normal):
        return (NORMAL, dist.center, dist.sd)
    raise TypeError(f"unsupported distribution {dist!r}")  # pragma: no cover


@dataclass(slots=True)
class ToolDown:
    """One breakdown or PM calendar of one tool."""

    is_pm: bool
    by_wafers: bool
    """PM counted in wafers processed (``mtbpm_by_pieces``); else calendar minutes."""
    interval: Dist
    """Breakdown: time to failure; PM: constant interval (minutes or wafers)."""
    duration: Dist
    first: Dist
    """Breakdown: time to the first failure; PM: the (staggered) first occurrence."""


@dataclass(slots=True)
class FabModel:
    """The data set as flat per-family, per-tool and per-step lists."""

    # tool families
    fam_names: list[str]
    fam_tools: list[list[int]]
    fam_load: list[float]
    fam_unload: list[float]
    fam_cap: list[int]
    fam_delay: list[bool]
    fam_batching: list[bool]
    fam_batch_crit: list[int]
    fam_batch_by_wafer: list[bool]
    fam_loc: list[int]
    fam_wake_setup: list[bool]
    fam_rule: list[FamilyRule]
    fam_min_run: list[dict[int, int]]
    """Setup id → minimum run (lots) of the family's setup group; empty = none."""
    # tools
    tool_fam: list[int]
    tool_downs: list[list[ToolDown]]
    # steps (global ids)
    route_base: dict[str, int]
    step_route_end: list[int]
    """Global id one past the route's last step."""
    step_fam: list[int]
    step_basis: list[int]
    step_pt: list[Dist]
    step_bmin: list[int]
    step_bmax: list[int]
    step_setup: list[int]
    """Setup id the step needs, -1 = none."""
    step_setup_always: list[bool]
    step_stime: list[Dist | None]
    """Setup time given on the route, ``None`` = look it up in ``setup.txt``."""
    step_lot_iv: list[float]
    step_waf_iv: list[float]
    step_rw_p: list[float]
    step_rw_to: list[int]
    step_sampling: list[float]
    step_ded: list[int]
    """Global id of the later step that must run on the same tool, -1 = none."""
    step_remaining: list[float]
    """Mean processing minutes from this step to the route's end (25-wafer lot, sampling-weighted)."""
    step_name_key: list[int]
    # setups and transport
    setup_ids: dict[str, int]
    setup_time: dict[tuple[int, int], Dist]
    """(current setup or -1, new setup) → time; only pairs ``setup.txt`` defines."""
    setup_any: dict[int, Dist]
    """new setup → time from any setup."""
    transport: dict[tuple[int, int], Dist]
    # part families (batching by name)
    part_family: dict[str, int] = field(default_factory=dict)


def _without_setups(rule: FamilyRule, has_setups: bool) -> FamilyRule:
    """Setup ranking is moot in a family none of whose steps needs a setup."""
    return rule if has_setups else replace(rule, rsetup=False, setup_first=False)


def _stagger(first: float, k: int, n: int) -> float:
    return first * k / n


def build_model(dataset: Dataset, rule: str | None = None) -> FabModel:
    """Compile ``dataset``; ``rule`` overrides every family's dispatching rule (see ``dispatch``)."""
    families = list(dataset.tool_families.values())
    fam_index = {f.name: i for i, f in enumerate(families)}
    locations: dict[str, int] = {}
    setup_ids: dict[str, int] = {}

    def setup_id(name: str) -> int:
        return setup_ids.setdefault(name, len(setup_ids))

    fam_tools: list[list[int]] = []
    tool_fam: list[int] = []
    tool_downs: list[list[ToolDown]] = []
    for fi, fam in enumerate(families):
        tools = list(range(len(tool_fam), len(tool_fam) + fam.count))
        fam_tools.append(tools)
        # station of each tool, for station-level attachments
        stations: list[str] = []
        for station in fam.stations:
            stations.extend([station.name] * station.count)
        for k, tool in enumerate(tools):
            tool_fam.append(fi)
            downs: list[ToolDown] = []
            for bd in fam.breakdowns:
                if bd.station is not None and bd.station != stations[k]:
                    continue
                downs.append(
                    ToolDown(
                        is_pm=False,
                        by_wafers=bd.basis is CounterBasis.WAFERS,
                        interval=encode(bd.time_to_failure),
                        duration=encode(bd.time_to_repair),
                        first=encode(bd.first),
                    )
                )
            for pm in fam.pms:
                if pm.station is not None and pm.station != stations[k]:
                    continue
                first = _stagger(pm.first, k + 1, len(tools))
                downs.append(
                    ToolDown(
                        is_pm=True,
                        by_wafers=pm.basis is CounterBasis.WAFERS,
                        interval=(CONST, pm.interval, pm.interval),
                        duration=encode(pm.duration),
                        first=(CONST, first, first),
                    )
                )
            tool_downs.append(downs)
            assert len(tool_fam) == tool + 1

    part_family: dict[str, int] = {}
    for part in dataset.parts.values():
        part_family.setdefault(part.family, len(part_family))

    route_base: dict[str, int] = {}
    step_route_end: list[int] = []
    step_fam: list[int] = []
    step_basis: list[int] = []
    step_pt: list[Dist] = []
    step_bmin: list[int] = []
    step_bmax: list[int] = []
    step_setup: list[int] = []
    step_setup_always: list[bool] = []
    step_stime: list[Dist | None] = []
    step_lot_iv: list[float] = []
    step_waf_iv: list[float] = []
    step_rw_p: list[float] = []
    step_rw_to: list[int] = []
    step_sampling: list[float] = []
    step_ded: list[int] = []
    step_remaining: list[float] = []
    step_name_key: list[int] = []
    names: dict[str, int] = {}
    basis_code = {
        ProcessingBasis.LOT: BASIS_LOT,
        ProcessingBasis.WAFER: BASIS_WAFER,
        ProcessingBasis.BATCH: BASIS_BATCH,
    }
    for route in dataset.routes.values():
        base = len(step_fam)
        route_base[route.name] = base
        end = base + len(route.steps)
        remaining = [0.0] * (len(route.steps) + 1)
        for step in reversed(route.steps):
            remaining[step.index] = remaining[step.index + 1] + step.sampling * step.mean_time(25)
        for step in route.steps:
            step_route_end.append(end)
            step_fam.append(fam_index[step.family])
            step_basis.append(basis_code[step.basis])
            step_pt.append(encode(step.processing_time))
            step_bmin.append(step.batch.min if step.batch else 1)
            step_bmax.append(step.batch.max if step.batch else 1)
            if step.setup is not None:
                step_setup.append(setup_id(step.setup.setup))
                step_setup_always.append(step.setup.when is SetupWhen.ALWAYS)
                step_stime.append(
                    None if step.setup.time is None else (CONST, step.setup.time, step.setup.time)
                )
            else:
                step_setup.append(-1)
                step_setup_always.append(False)
                step_stime.append(None)
            step_lot_iv.append(step.lot_interval or 0.0)
            step_waf_iv.append(step.wafer_interval or 0.0)
            step_rw_p.append(step.rework.probability if step.rework else 0.0)
            step_rw_to.append(base + step.rework.to_step if step.rework else -1)
            step_sampling.append(step.sampling)
            step_ded.append(base + step.dedicated_to if step.dedicated_to is not None else -1)
            step_remaining.append(remaining[step.index])
            step_name_key.append(names.setdefault(step.description, len(names)))

    setup_time: dict[tuple[int, int], Dist] = {}
    setup_any: dict[int, Dist] = {}
    for change in dataset.setup_changes:
        new = setup_id(change.to_setup)
        if change.from_setup is None:
            setup_any[new] = encode(change.time)
        else:
            setup_time[(setup_id(change.from_setup), new)] = encode(change.time)

    def loc(name: str) -> int:
        return locations.setdefault(name, len(locations))

    fam_loc = [loc(f.location) for f in families]
    setup_families = {step_fam[s] for s, su in enumerate(step_setup) if su >= 0}
    transport = {(loc(t.source), loc(t.destination)): encode(t.time) for t in dataset.transports}

    return FabModel(
        fam_names=[f.name for f in families],
        fam_tools=fam_tools,
        fam_load=[f.load_time for f in families],
        fam_unload=[f.unload_time for f in families],
        fam_cap=[max(1, f.capacity) for f in families],
        fam_delay=[f.is_delay for f in families],
        fam_batching=[f.batching for f in families],
        fam_batch_crit=[
            BATCH_SAME_STEP
            if (f.batch_criterion or "").lower() in ("", "crit_sameroutestep")
            else BATCH_SAME_NAME
            for f in families
        ],
        fam_batch_by_wafer=[f.batch_unit is not BatchUnit.LOT for f in families],
        fam_loc=fam_loc,
        fam_wake_setup=[(f.wake_rank or "").lower() == "wake_leastsetuptime" for f in families],
        fam_rule=[
            _without_setups(resolve_rule(f.rule, f.ranks, rule), fi in setup_families)
            for fi, f in enumerate(families)
        ],
        fam_min_run=[
            {setup_id(name): n for name, n in dataset.setup_groups[f.setup_group].min_run.items()}
            if f.setup_group and f.setup_group in dataset.setup_groups
            else {}
            for f in families
        ],
        tool_fam=tool_fam,
        tool_downs=tool_downs,
        route_base=route_base,
        step_route_end=step_route_end,
        step_fam=step_fam,
        step_basis=step_basis,
        step_pt=step_pt,
        step_bmin=step_bmin,
        step_bmax=step_bmax,
        step_setup=step_setup,
        step_setup_always=step_setup_always,
        step_stime=step_stime,
        step_lot_iv=step_lot_iv,
        step_waf_iv=step_waf_iv,
        step_rw_p=step_rw_p,
        step_rw_to=step_rw_to,
        step_sampling=step_sampling,
        step_ded=step_ded,
        step_remaining=step_remaining,
        step_name_key=step_name_key,
        setup_ids=setup_ids,
        setup_time=setup_time,
        setup_any=setup_any,
        transport=transport,
        part_family=part_family,
    )
