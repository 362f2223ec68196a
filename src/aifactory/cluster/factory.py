"""An AI factory from a scenario's ``ai_factories`` section: its topology, power and programmes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.cluster.topology import Topology
from aifactory.scenario.model import AIFactory, Scenario


@dataclass(frozen=True)
class FactoryPlan:
    """What a scenario says about one factory, resolved to numbers."""

    id: str
    topology: Topology
    racks_wanted: int  # before the power budget
    power_limited_racks: int | None  # racks the facility power budget allows (None: no budget)
    facility_mw: float  # IT power × PUE of the racks in the topology
    entitlements: dict[str, float]  # programme → normalised share
    spec: AIFactory  # programmes, projects, budgets and limits (scheduler.council.council_of)


def factory_spec(s: Scenario, factory_id: str) -> AIFactory:
    try:
        return s.ai_factories[factory_id]
    except KeyError:
        known = ", ".join(s.ai_factories) or "none"
        raise ValueError(f"{s.name}: no AI factory '{factory_id}' (ai_factories: {known})") from None


def plan_factory(
    s: Scenario, factory_id: str, *, racks: int | None = None, cap_by_budget: bool = True
) -> FactoryPlan:
    """The factory's topology with ``racks`` racks (default: its fixed count, or everything its
    destination wants when its racks come from the supply twin), within its power budget at full load
    (``cap_by_budget``; the factory twin instead lets the scheduler hold starts within the budget)."""
    spec = factory_spec(s, factory_id)
    wanted = racks or spec.racks
    if wanted is None:
        assert spec.racks_from is not None
        demand = s.destinations[spec.racks_from].demand
        if demand is None:
            raise ValueError(
                f"ai_factories.{factory_id}: racks come from '{spec.racks_from}', which has no demand; "
                "give --racks or the factory's racks"
            )
        wanted = int(demand)
    base = Topology.build(1, schedulable_trays=spec.schedulable_trays, rack_type_name=spec.rack_type)
    allowed = None
    if spec.power_budget_mw is not None:
        allowed = math.floor(spec.power_budget_mw * 1000 / (base.rack.power_kw * spec.pue) + 1e-9)
        if allowed < 1 and cap_by_budget:
            raise ValueError(f"ai_factories.{factory_id}: the power budget does not cover one rack")
    count = min(wanted, allowed) if allowed is not None and cap_by_budget else wanted
    topology = Topology.build(
        count,
        schedulable_trays=spec.schedulable_trays,
        block_racks=spec.block_racks,
        rack_type_name=spec.rack_type,
    )
    total = sum(p.share for p in spec.programs.values())
    entitlements = {name: p.share / total for name, p in spec.programs.items()}
    return FactoryPlan(
        id=factory_id,
        topology=topology,
        racks_wanted=wanted,
        power_limited_racks=allowed,
        facility_mw=topology.it_power_kw * spec.pue / 1000,
        entitlements=entitlements,
        spec=spec,
    )
