"""Per-run draws of every uncertain scenario figure, keyed by the figure's scenario path.

Draws are made in fixed-size *draw blocks* of runs. In block ``b`` each figure has its own stream,
seeded from ``(seed, b, crc32(path))``. A run's numbers therefore depend only on the seed, the run's
index and the figure's path, never on how runs are split among worker processes or Ray tasks — which
makes parallel results identical to serial — nor on which other figures the scenario has: two scenarios
that differ in one figure (or a plan that adds expansions) share every other draw, run for run. That is
what makes their differences *common random numbers* comparisons.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from aifactory.scenario.distributions import FloatArray, Uncertain, draw, is_uncertain, point_value
from aifactory.scenario.model import Scenario

DRAW_BLOCK_RUNS = 1024


@dataclass(frozen=True)
class Figure:
    """One scenario figure that is drawn per run."""

    path: str
    value: Uncertain


def figures(s: Scenario) -> list[Figure]:
    """Every per-run figure of the scenario, in a fixed order (the order draws are made in)."""
    out: list[Figure] = [Figure(f"items.{iid}.value_usd", item.value_usd) for iid, item in s.items.items()]
    for sid, st in s.stages.items():
        base = f"stages.{sid}"
        out += [
            Figure(f"{base}.output_per_unit", st.output_per_unit),
            Figure(f"{base}.capacity_scale", st.capacity_scale),
            Figure(f"{base}.cycle_time_days", st.cycle_time_days),
            Figure(f"{base}.yield", st.yield_),
            Figure(f"{base}.cost_per_unit_usd", st.cost_per_unit_usd),
        ]
        for i, exp in enumerate(st.expansions):
            out += [
                Figure(f"{base}.expansions.{i}.add_per_day", exp.add_per_day),
                Figure(f"{base}.expansions.{i}.ramp_days", exp.ramp_days),
                Figure(f"{base}.expansions.{i}.delay_days", exp.delay_days),
            ]
        for i, dis in enumerate(st.disruptions):
            out.append(Figure(f"{base}.disruptions.{i}.days", dis.days))
    for i, lane in enumerate(s.lanes):
        out += [
            Figure(f"lanes.{i}.transit_days", lane.transit_days),
            Figure(f"lanes.{i}.cost_per_unit_usd", lane.cost_per_unit_usd),
            Figure(f"lanes.{i}.tariff_rate", lane.tariff_rate),
        ]
    for did, dest in s.destinations.items():
        out.append(Figure(f"destinations.{did}.transit_days", dest.transit_days))
    return out


def uncertain_paths(s: Scenario) -> list[str]:
    """Paths of the figures that actually vary between runs (the candidates for sensitivity)."""
    paths = [f.path for f in figures(s) if is_uncertain(f.value)]
    for sid, st in s.stages.items():
        for i, dis in enumerate(st.disruptions):
            if 0 < dis.probability < 1:
                paths.append(f"stages.{sid}.disruptions.{i}.occurs")
            if dis.start_latest is not None and dis.start_latest > dis.start:
                paths.append(f"stages.{sid}.disruptions.{i}.start_offset_days")
    return paths


Parameters = dict[str, FloatArray]


Streams = Callable[[str], np.random.Generator]
"""The random stream of a figure, by its path."""


def keyed_streams(seed: int, block: int) -> Streams:
    """Block ``block``'s streams: one generator per figure path, independent of the other figures."""

    def stream(path: str) -> np.random.Generator:
        return np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(block, zlib.crc32(path.encode())))
        )

    return stream


def draw_block(
    s: Scenario, rng: np.random.Generator | Streams, n: int, *, deterministic: bool = False
) -> Parameters:
    """Draw every figure for ``n`` runs: from one generator in figure order, or from per-figure streams."""
    stream: Streams
    if isinstance(rng, np.random.Generator):
        shared = rng

        def same(_path: str) -> np.random.Generator:
            return shared

        stream = same
    else:
        stream = rng
    params: Parameters = {
        f.path: draw(f.value, stream(f.path), n, deterministic=deterministic)
        if is_uncertain(f.value) and not deterministic
        else np.full(n, point_value(f.value))
        for f in figures(s)
    }
    for sid, st in s.stages.items():
        for i, dis in enumerate(st.disruptions):
            base = f"stages.{sid}.disruptions.{i}"
            u = stream(f"{base}.occurs").random(n)
            params[f"{base}.occurs"] = np.asarray(
                np.full(n, float(dis.probability >= 0.5)) if deterministic else (u < dis.probability),
                dtype=np.float64,
            )
            span = (dis.start_latest - dis.start).days if dis.start_latest else 0
            v = stream(f"{base}.start_offset_days").random(n)
            params[f"{base}.start_offset_days"] = np.full(n, span / 2) if deterministic else v * span
    return params


def block_sizes(runs: int, block_runs: int = DRAW_BLOCK_RUNS) -> list[int]:
    full, rest = divmod(runs, block_runs)
    return [block_runs] * full + ([rest] if rest else [])


def iter_blocks(
    s: Scenario, seed: int, first_block: int, sizes: list[int], *, deterministic: bool = False
) -> Iterator[Parameters]:
    """Draw blocks ``first_block, first_block+1, …`` with the given sizes."""
    for offset, n in enumerate(sizes):
        yield draw_block(s, keyed_streams(seed, first_block + offset), n, deterministic=deterministic)


def concat(blocks: list[Parameters]) -> Parameters:
    if len(blocks) == 1:
        return blocks[0]
    return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
