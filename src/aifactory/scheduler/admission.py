"""Work that can never run: a job bigger than the factory, or than its tenant's borrowing and lending
limits could ever let it hold. Refused when it is asked for (replay rejects it, the service answers 422)
rather than left waiting for ever."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.scheduler.tenancy import Tenancy


@dataclass(frozen=True, slots=True)
class PowerCap:
    """A facility power budget as the scheduler enforces it: at most ``max_busy_gpus`` GPUs busy at once
    (what the budget allows at the design temperature, ``cluster.power.PowerModel.max_busy_gpus``); a start
    that would go above it waits."""

    max_busy_gpus: int
    budget_mw: float
    design_c: float


def never_runs(
    gpus: int,
    factory_gpus: int,
    tenancy: Tenancy | None = None,
    tenant: str = "",
    power: PowerCap | None = None,
) -> str | None:
    """Why a job of ``gpus`` GPUs of ``tenant`` can never start on a factory of ``factory_gpus`` GPUs
    (None: it can, some day); ``tenancy`` adds the tenant's limits."""
    if gpus > factory_gpus:
        return f"needs {gpus} GPUs; the factory has {factory_gpus}"
    if power is not None and gpus > power.max_busy_gpus:
        return (
            f"needs {gpus} GPUs; the power budget of {power.budget_mw:g} MW allows {power.max_busy_gpus} busy"
        )
    if tenancy is not None:
        most = tenancy.ceiling(tenant, factory_gpus)
        if gpus > most:
            return f"needs {gpus} GPUs; borrowing limits allow {tenant} at most {math.floor(most)}"
    return None
