"""What tenants are entitled to and what they have used: entitlements from the council's tree,
decayed usage for fair share, GPU-hour budgets (renewed each period, if one is set), and limits.

Entitlements are shares of the GPUs that can be scheduled now (``entitlements`` sums to 1 over the
tenants); they follow the factory as racks come online (``resize``). Usage decays with a half-life,
as Slurm's fair-share does, so that old usage counts less than recent usage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from aifactory.scheduler.council import Council


@dataclass
class Tenancy:
    entitlements: dict[str, float]  # flat shares (when no council is given); then tenant → share of G
    total_gpus: int
    half_life_s: float = 7 * 86400.0
    usage: dict[str, float] = field(default_factory=dict)  # decayed GPU-seconds per tenant
    budgets: dict[str, float] = field(default_factory=dict)  # tenant or programme → GPU-seconds per period
    spent: dict[str, float] = field(default_factory=dict)  # tenant and programme → GPU-s this period
    last: float | None = None
    council: Council | None = None
    budget_period_s: float | None = None  # budgets renew every period (from time 0); None: once
    parents: dict[str, str] = field(init=False)  # tenant → programme
    borrowing_limits: dict[str, float] = field(init=False)
    lending_limits: dict[str, float] = field(init=False)
    _entitled: dict[str, float] = field(init=False, repr=False)
    _programme_entitled: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.council is None:
            self.council = Council.flat(self.entitlements)
        if any(v < 0 for v in self.budgets.values()):
            raise ValueError("budgets must be >= 0")
        if self.budget_period_s is not None and self.budget_period_s <= 0:
            raise ValueError("the budget period must be > 0")
        self.budgets = {**self.council.budgets(), **self.budgets}
        self.parents = self.council.parents()
        self.borrowing_limits = self.council.borrowing_limits()
        self.lending_limits = self.council.lending_limits()
        self.resize(self.total_gpus)
        for tenant in self.entitlements:
            self.usage.setdefault(tenant, 0.0)

    @classmethod
    def of(
        cls,
        council: Council,
        total_gpus: int,
        *,
        half_life_s: float = 7 * 86400.0,
        budgets: dict[str, float] | None = None,
        budget_period_s: float | None = None,
    ) -> Tenancy:
        """A tenancy over a council's programmes and projects (``budgets`` add to, or override, the
        council's)."""
        return cls(
            {},
            total_gpus,
            half_life_s=half_life_s,
            budgets=dict(budgets or {}),
            council=council,
            budget_period_s=budget_period_s,
        )

    @classmethod
    def equal(cls, tenants: list[str], total_gpus: int, *, half_life_s: float = 7 * 86400.0) -> Tenancy:
        return cls(dict.fromkeys(tenants, 1.0), total_gpus, half_life_s=half_life_s)

    # --------------------------------------------------------------------------------- the tree

    def resize(self, total_gpus: int) -> None:
        """The schedulable GPUs changed (racks online, drained or failed): entitlements follow."""
        assert self.council is not None
        self.total_gpus = total_gpus
        tenants, programmes = self.council.entitled_gpus(total_gpus)
        for tenant in self.entitlements:
            tenants.setdefault(tenant, 0.0)  # tenants met outside the council keep a zero entitlement
        self._entitled = tenants
        self._programme_entitled = programmes
        if total_gpus <= 0:  # nothing schedulable now: shares as they will be once there is
            tenants = dict.fromkeys(tenants, 0.0) | self.council.entitled_gpus(1.0)[0]
        norm = 1.0 if total_gpus <= 0 else float(total_gpus)
        self.entitlements = {t: v / norm if norm > 0 else 0.0 for t, v in tenants.items()}

    def ensure(self, tenant: str) -> None:
        """A tenant not named by the council gets no entitlement (it may still borrow idle capacity)."""
        if tenant in self._entitled:
            return
        assert self.council is not None
        if self.council.programmes.get(tenant) is not None and self.council.programmes[tenant].projects:
            raise ValueError(f"'{tenant}' is a programme with projects: jobs belong to one of its projects")
        self.entitlements[tenant] = 0.0
        self._entitled[tenant] = 0.0
        self.parents[tenant] = tenant
        self._programme_entitled.setdefault(tenant, 0.0)
        self.usage.setdefault(tenant, 0.0)

    def programme_of(self, tenant: str) -> str:
        return self.parents.get(tenant, tenant)

    def entitled_gpus(self, tenant: str) -> float:
        return self._entitled.get(tenant, 0.0)

    def programme_entitled_gpus(self, programme: str) -> float:
        return self._programme_entitled.get(programme, 0.0)

    def ceiling(self, tenant: str, total_gpus: float | None = None) -> float:
        """Most GPUs the tenant may hold at once within borrowing limits (its own and its programme's)
        and other programmes' lending limits, on a factory of ``total_gpus`` (default: as now); a
        bigger job can never start."""
        if not self.limited:
            return math.inf
        assert self.council is not None
        if total_gpus is None:
            total, tenants, programmes = float(self.total_gpus), self._entitled, self._programme_entitled
        else:
            total = float(total_gpus)
            tenants, programmes = self.council.entitled_gpus(total_gpus)
        programme = self.programme_of(tenant)
        own = tenants.get(tenant, 0.0)
        most = math.inf
        if tenant in self.borrowing_limits:
            most = own + self.borrowing_limits[tenant]
        if programme != tenant and programme in self.borrowing_limits:
            most = min(most, programmes.get(programme, 0.0) + self.borrowing_limits[programme])
        kept = sum(
            max(programmes.get(p, 0.0) - limit, 0.0)
            for p, limit in self.lending_limits.items()
            if p != programme
        )
        if kept > 0:
            most = min(most, max(own, total - kept))
        return most + 1e-9

    @property
    def hierarchical(self) -> bool:
        """Some programme has projects (fair share then orders programmes first, Slurm's fair tree)."""
        return any(p != t for t, p in self.parents.items())

    @property
    def limited(self) -> bool:
        return bool(self.borrowing_limits or self.lending_limits)

    # ------------------------------------------------------------------------------------ usage

    def advance(self, now: float, running_gpus: Mapping[str, int]) -> None:
        """Decay usage to ``now`` and add what ran since the last call (GPU-seconds); a budget period
        that ended in between starts the spending afresh."""
        if self.last is None:
            self.last = now
            return
        dt = now - self.last
        if dt <= 0:
            return
        if self.budgets:  # spending matters only against a budget
            period = self.budget_period_s
            if period is not None and math.floor(now / period) > math.floor(self.last / period):
                self.spent.clear()
                self._spend(running_gpus, now - math.floor(now / period) * period)
            else:
                self._spend(running_gpus, dt)
        decay = math.exp(-math.log(2) * dt / self.half_life_s)
        usage = self.usage
        for tenant in usage:
            usage[tenant] *= decay
        for tenant, gpus in running_gpus.items():
            if gpus:
                usage[tenant] = usage.get(tenant, 0.0) + gpus * dt
        self.last = now

    def _spend(self, running_gpus: Mapping[str, int], dt: float) -> None:
        for tenant, gpus in running_gpus.items():
            if not gpus:
                continue
            used = gpus * dt
            self.spent[tenant] = self.spent.get(tenant, 0.0) + used
            programme = self.programme_of(tenant)
            if programme != tenant:
                self.spent[programme] = self.spent.get(programme, 0.0) + used

    def over_budget(self, tenant: str) -> bool:
        """A tenant (or its programme) with a GPU-hour budget that it has used up: its jobs are held."""
        if not self.budgets:
            return False
        budget = self.budgets.get(tenant)
        if budget is not None and self.spent.get(tenant, 0.0) >= budget:
            return True
        programme = self.programme_of(tenant)
        budget = self.budgets.get(programme) if programme != tenant else None
        return budget is not None and self.spent.get(programme, 0.0) >= budget

    def budget_holder(self, tenant: str) -> str:
        """Whose budget holds the tenant's jobs: the tenant's own, or its programme's."""
        budget = self.budgets.get(tenant)
        if budget is not None and self.spent.get(tenant, 0.0) >= budget:
            return tenant
        return self.programme_of(tenant)

    def usage_total(self) -> float:
        return sum(self.usage.values())

    def usage_share(self, tenant: str) -> float:
        total = self.usage_total()
        return self.usage.get(tenant, 0.0) / total if total > 0 else 0.0
