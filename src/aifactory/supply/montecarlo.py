"""Monte Carlo orchestration: split runs into chunks of draw blocks, simulate, merge, summarise.

Chunks are independent, so they can be mapped over a process pool or a Ray cluster by an injected
``mapper``; because each run's draws depend only on the seed and the run's index, and the simulation of
a run does not depend on the other runs, the merged result is identical however the chunks are mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aifactory.scenario.model import Scenario
from aifactory.supply import metrics
from aifactory.supply.engine import simulate
from aifactory.supply.kernel import simulate_compiled
from aifactory.supply.network import Network, compile_network
from aifactory.supply.parameters import DRAW_BLOCK_RUNS, Parameters, block_sizes, concat, iter_blocks
from aifactory.supply.results import RunResult, merge

ENGINES = {"compiled": simulate_compiled, "numpy": simulate}
"""``compiled``: numba kernel (default, fast); ``numpy``: the readable reference, all runs as arrays."""


@dataclass(frozen=True)
class Chunk:
    """A contiguous range of draw blocks, simulated as one vectorised batch."""

    first_block: int
    sizes: tuple[int, ...]

    @property
    def runs(self) -> int:
        return sum(self.sizes)


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to simulate one chunk (picklable)."""

    scenario: Scenario
    seed: int
    chunk: Chunk
    deterministic: bool
    bucket_days: int
    checkpoint_days: tuple[int, ...]
    engine: str = "compiled"


def plan_chunks(runs: int, chunks: int, block_runs: int = DRAW_BLOCK_RUNS) -> list[Chunk]:
    """Split ``runs`` into at most ``chunks`` contiguous chunks of whole draw blocks."""
    sizes = block_sizes(runs, block_runs)
    n = max(1, min(chunks, len(sizes)))
    bounds = [round(i * len(sizes) / n) for i in range(n + 1)]
    return [Chunk(bounds[i], tuple(sizes[bounds[i] : bounds[i + 1]])) for i in range(n)]


def run_job(job: Job) -> tuple[RunResult, Parameters]:
    """Simulate one chunk: draw its blocks, run them together."""
    s = job.scenario
    params = concat(
        list(
            iter_blocks(
                s, job.seed, job.chunk.first_block, list(job.chunk.sizes), deterministic=job.deterministic
            )
        )
    )
    simulate_fn = ENGINES[job.engine]
    result = simulate_fn(s, params, bucket_days=job.bucket_days, checkpoint_days=job.checkpoint_days)
    return result, params


Mapper = Callable[
    [Callable[[Job], tuple[RunResult, Parameters]], list[Job]], Iterable[tuple[RunResult, Parameters]]
]


def serial_map(
    fn: Callable[[Job], tuple[RunResult, Parameters]], jobs: list[Job]
) -> Iterable[tuple[RunResult, Parameters]]:
    return (fn(job) for job in jobs)


@dataclass
class MonteCarlo:
    """The merged outcome of a Monte Carlo study."""

    scenario: Scenario
    network: Network
    result: RunResult
    params: Parameters
    seed: int

    def summary(self, wall_seconds: float = 0.0) -> dict[str, Any]:
        """The §2 summary; ``wall_seconds`` is measured by the caller (the core reads no clock)."""
        return metrics.summarize(
            self.scenario, self.result, self.params, seed=self.seed, wall_seconds=wall_seconds
        )


def run_monte_carlo(
    s: Scenario,
    *,
    runs: int,
    seed: int,
    deterministic: bool = False,
    bucket_days: int = 7,
    chunks: int = 1,
    mapper: Mapper = serial_map,
    on_chunk_done: Callable[[int], None] | None = None,
    engine: str = "compiled",
) -> MonteCarlo:
    """Simulate ``runs`` runs of ``s`` with ``seed``; ``chunks`` sets how finely work is split."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine '{engine}' (engines: {', '.join(ENGINES)})")
    checkpoint_days = metrics.target_days(s)
    jobs = [
        Job(s, seed, c, deterministic, bucket_days, checkpoint_days, engine)
        for c in plan_chunks(runs, chunks)
    ]
    parts: list[RunResult] = []
    param_parts: list[Parameters] = []
    for result, params in mapper(run_job, jobs):
        parts.append(result)
        param_parts.append(params)
        if on_chunk_done is not None:
            on_chunk_done(result.runs)
    return MonteCarlo(
        scenario=s,
        network=compile_network(s),
        result=merge(parts),
        params=concat(param_parts),
        seed=seed,
    )
