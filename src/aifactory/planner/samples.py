"""The planning samples: K Monte Carlo draws of the scenario, reduced to what the planning model needs.

Each sample is one run's figures — capacities per bucket (the supply engine's own capacity rule: base
curve × scale + expansions, reduced by disruptions), the disruption factor per day (which also reduces
capacity a plan adds), whole-day delays, yields and item values. The draws come from streams of their
own (``SAMPLE_BLOCK``), so the plan is verified on runs it was not fitted to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario
from aifactory.supply.delays import Capacity, whole_days
from aifactory.supply.network import Network
from aifactory.supply.parameters import Parameters, draw_block, keyed_streams

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SAMPLE_BLOCK = 1 << 30  # far beyond any run's draw block: the samples never coincide with verified runs


@dataclass(frozen=True)
class Samples:
    """Per-sample figures (first axis: sample)."""

    count: int
    capacity: dict[str, FloatArray]  # stage → (K, T) units that can be started per bucket
    factors: dict[str, FloatArray]  # stage → (K, horizon) disruption factor per day
    gross: dict[str, FloatArray]  # stage → (K,) good units out per unit started
    cycle: dict[str, IntArray]  # stage → (K,) whole days
    lane_transit: list[IntArray]  # lane → (K,) whole days
    dest_transit: dict[str, IntArray]  # destination → (K,) whole days
    value: dict[str, FloatArray]  # item → (K,) USD per unit


def draw_samples(s: Scenario, seed: int, count: int, *, deterministic: bool = False) -> Parameters:
    """``count`` draws of every figure, from the planner's own streams."""
    return draw_block(s, keyed_streams(seed, SAMPLE_BLOCK), count, deterministic=deterministic)


def build_samples(s: Scenario, net: Network, params: Parameters, edges: IntArray) -> Samples:
    count = len(next(iter(params.values())))
    horizon = s.horizon_days
    capacity: dict[str, FloatArray] = {}
    factors: dict[str, FloatArray] = {}
    for sid, spec in net.stages.items():
        cap = Capacity(spec, s, params, count)
        daily = np.empty((count, horizon))
        for day in range(horizon):
            daily[:, day] = cap.at(day)
        capacity[sid] = np.add.reduceat(daily, edges[:-1], axis=1)
        factors[sid] = disruption_factors(s, sid, params, count)
    return Samples(
        count=count,
        capacity=capacity,
        factors=factors,
        gross={
            sid: params[f"stages.{sid}.yield"] * params[f"stages.{sid}.output_per_unit"] for sid in s.stages
        },
        cycle={sid: whole_days(params[f"stages.{sid}.cycle_time_days"]) for sid in s.stages},
        lane_transit=[
            whole_days(params[f"lanes.{ln.index}.transit_days"], 1 if ln.back else 0) for ln in net.lanes
        ],
        dest_transit={did: whole_days(params[f"destinations.{did}.transit_days"]) for did in s.destinations},
        value={iid: params[f"items.{iid}.value_usd"] for iid in s.items},
    )


def disruption_factors(s: Scenario, sid: str, params: Parameters, count: int) -> FloatArray:
    """Per sample and day, the share of capacity a stage's disruptions leave (1 where none)."""
    out = np.ones((count, s.horizon_days))
    days = np.arange(s.horizon_days)
    for i, dis in enumerate(s.stages[sid].disruptions):
        base = f"stages.{sid}.disruptions.{i}"
        start = s.day(dis.start) + np.rint(params[f"{base}.start_offset_days"])
        end = start + np.rint(params[f"{base}.days"])
        occurs = params[f"{base}.occurs"] > 0
        down = occurs[:, None] & (days[None, :] >= start[:, None]) & (days[None, :] < end[:, None])
        out = np.where(down, out * dis.capacity_factor, out)
    return out
