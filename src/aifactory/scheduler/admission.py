"""Work that can never run: a job bigger than the factory, or than its tenant's borrowing and lending
limits could ever let it hold. Refused when it is asked for (replay rejects it, the service answers 422)
rather than left waiting for ever."""

from __future__ import annotations

import math

from aifactory.scheduler.tenancy import Tenancy


def never_runs(gpus: int, factory_gpus: int, tenancy: Tenancy | None = None, tenant: str = "") -> str | None:
    """Why a job of ``gpus`` GPUs of ``tenant`` can never start on a factory of ``factory_gpus`` GPUs
    (None: it can, some day); ``tenancy`` adds the tenant's limits."""
    if gpus > factory_gpus:
        return f"needs {gpus} GPUs; the factory has {factory_gpus}"
    if tenancy is not None:
        most = tenancy.ceiling(tenant, factory_gpus)
        if gpus > most:
            return f"needs {gpus} GPUs; borrowing limits allow {tenant} at most {math.floor(most)}"
    return None
