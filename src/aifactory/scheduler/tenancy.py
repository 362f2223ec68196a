"""Who is entitled to what: tenants' shares of the factory and their decayed usage.

Entitlements are normalised shares (they sum to 1) — a council's programme shares, or a trace's
virtual clusters. Usage decays with a half-life, as Slurm's fair-share does, so that old usage
counts less than recent usage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Tenancy:
    entitlements: dict[str, float]
    total_gpus: int
    half_life_s: float = 7 * 86400.0
    usage: dict[str, float] = field(default_factory=dict)  # decayed GPU-seconds
    budgets: dict[str, float] = field(default_factory=dict)  # GPU-seconds a tenant may use in all
    spent: dict[str, float] = field(default_factory=dict)  # GPU-seconds used so far (not decayed)
    last: float | None = None

    def __post_init__(self) -> None:
        if any(v < 0 for v in self.entitlements.values()):
            raise ValueError("entitlements must be >= 0")
        total = sum(self.entitlements.values())
        if self.entitlements and total <= 0:
            raise ValueError("entitlements must not all be 0")
        if self.entitlements:
            self.entitlements = {t: v / total for t, v in self.entitlements.items()}
        for tenant in self.entitlements:
            self.usage.setdefault(tenant, 0.0)
        if any(v < 0 for v in self.budgets.values()):
            raise ValueError("budgets must be >= 0")

    @classmethod
    def equal(cls, tenants: list[str], total_gpus: int, *, half_life_s: float = 7 * 86400.0) -> Tenancy:
        return cls(dict.fromkeys(tenants, 1.0), total_gpus, half_life_s=half_life_s)

    def ensure(self, tenant: str) -> None:
        """A tenant not named in the entitlements gets none (it may still borrow idle capacity)."""
        self.entitlements.setdefault(tenant, 0.0)
        self.usage.setdefault(tenant, 0.0)

    def entitled_gpus(self, tenant: str) -> float:
        return self.entitlements.get(tenant, 0.0) * self.total_gpus

    def advance(self, now: float, running_gpus: dict[str, int]) -> None:
        """Decay usage to ``now`` and add what ran since the last call (GPU-seconds)."""
        if self.last is None:
            self.last = now
            return
        dt = now - self.last
        if dt <= 0:
            return
        decay = math.exp(-math.log(2) * dt / self.half_life_s)
        for tenant in self.usage.keys() | running_gpus.keys():
            used = running_gpus.get(tenant, 0) * dt
            self.usage[tenant] = self.usage.get(tenant, 0.0) * decay + used
            if used:
                self.spent[tenant] = self.spent.get(tenant, 0.0) + used
        self.last = now

    def over_budget(self, tenant: str) -> bool:
        """A tenant with a GPU-hour budget that has used it up: its pending jobs are held."""
        budget = self.budgets.get(tenant)
        return budget is not None and self.spent.get(tenant, 0.0) >= budget

    def usage_share(self, tenant: str) -> float:
        total = sum(self.usage.values())
        return self.usage.get(tenant, 0.0) / total if total > 0 else 0.0
