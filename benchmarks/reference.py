"""The machine reference R: every benchmark measures it in the same run and quotes its figures in R.

R is the wall time of a SimPy M/M/1 queue of 100,000 customers (arrival rate 0.9, service rate 1,
``random.Random(7)``), best of 3 — about 3 s on the project's CI machine kind. Machines differ by 3×
and more; a figure in R carries from one to another.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Generator
from typing import Any

import simpy

CUSTOMERS = 100_000
ARRIVAL_RATE = 0.9
SERVICE_RATE = 1.0
SEED = 7


def mm1_once() -> tuple[float, float]:
    """One run: (wall seconds, mean wait) of the reference queue."""
    rng = random.Random(SEED)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    waits: list[float] = []

    def customer() -> Generator[simpy.Event, Any, None]:
        arrived = env.now
        with server.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(SERVICE_RATE))

    def source() -> Generator[simpy.Event, Any, None]:
        for _ in range(CUSTOMERS):
            yield env.timeout(rng.expovariate(ARRIVAL_RATE))
            env.process(customer())

    gc.collect()
    started = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - started, sum(waits) / len(waits)


def machine_reference(repeats: int = 3) -> dict[str, Any]:
    """R: the best of ``repeats`` runs of the reference queue, with every run's time."""
    runs = [mm1_once() for _ in range(repeats)]
    times = [t for t, _ in runs]
    return {
        "R_seconds": min(times),
        "runs_seconds": times,
        "mean_wait": runs[0][1],
        "what": f"SimPy M/M/1, {CUSTOMERS:,} customers, arrival rate {ARRIVAL_RATE}, service rate "
        f"{SERVICE_RATE}, random.Random({SEED}), best of {repeats}",
    }


def in_r(seconds: float, r: float) -> str:
    """``seconds`` as 's s (x R)'."""
    return f"{seconds:.2f} s ({seconds / r:.2f} R)"
