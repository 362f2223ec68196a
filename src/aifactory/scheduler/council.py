"""Who is entitled to what: the council's programmes and their projects, resolved to GPUs.

A council splits a factory between *programmes* (research, start-ups, industry, anchor users …) by
share; a programme splits its part between its *projects*, each either by weight or by a fixed nominal
quota in GPUs (Kueue's ``nominalQuota``). Projects are the tenants jobs belong to; a programme without
projects is a tenant itself. Limits follow Kueue's ClusterQueue/cohort fields:

* ``borrowing_limit_gpus`` (project or programme) — at most this many GPUs above its entitlement;
* ``lending_limit_gpus`` (programme) — at most this many of its *unused* entitled GPUs may be lent to
  other programmes; the rest is kept free for its own projects (it never waits for a reclaim).

Resolution, for a factory of ``G`` schedulable GPUs: programme *P* is entitled to ``share(P) × G``;
projects with a quota get it (scaled down together if their quotas exceed the programme's part); the
remainder is split between the other projects by weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aifactory.scenario.model import AIFactory


@dataclass(frozen=True, slots=True)
class Project:
    weight: float = 1.0
    quota_gpus: float | None = None
    budget_gpu_s: float | None = None
    borrowing_limit_gpus: float | None = None

    def __post_init__(self) -> None:
        if self.weight < 0 or (self.quota_gpus is not None and self.quota_gpus < 0):
            raise ValueError("project weight and quota must be >= 0")


@dataclass(frozen=True, slots=True)
class Programme:
    share: float
    projects: Mapping[str, Project] = field(default_factory=dict)
    budget_gpu_s: float | None = None
    borrowing_limit_gpus: float | None = None
    lending_limit_gpus: float | None = None

    def __post_init__(self) -> None:
        if self.share < 0:
            raise ValueError("programme share must be >= 0")


@dataclass(frozen=True)
class Council:
    """The tree of programmes and projects (static; ``Tenancy`` holds what changes)."""

    programmes: Mapping[str, Programme]

    def __post_init__(self) -> None:
        if self.programmes and sum(p.share for p in self.programmes.values()) <= 0:
            raise ValueError("programme shares must not all be 0")
        seen: set[str] = set(self.programmes)
        for name, programme in self.programmes.items():
            for project in programme.projects:
                if project in seen:
                    raise ValueError(f"'{project}' names two tenants (project of {name}, and another)")
                seen.add(project)

    @classmethod
    def flat(cls, shares: Mapping[str, float]) -> Council:
        """One level: every tenant is a programme of its own with that share."""
        if any(v < 0 for v in shares.values()):
            raise ValueError("entitlements must be >= 0")
        if shares and sum(shares.values()) <= 0:
            raise ValueError("entitlements must not all be 0")
        return cls({t: Programme(v) for t, v in shares.items()})

    def parents(self) -> dict[str, str]:
        """Tenant (project, or programme without projects) → its programme."""
        out: dict[str, str] = {}
        for name, programme in self.programmes.items():
            for project in programme.projects or {name: Project()}:
                out[project] = name
        return out

    def entitled_gpus(self, total_gpus: float) -> tuple[dict[str, float], dict[str, float]]:
        """(tenant → entitled GPUs, programme → entitled GPUs) for a factory of ``total_gpus``."""
        total_share = sum(p.share for p in self.programmes.values()) or 1.0
        tenants: dict[str, float] = {}
        programmes: dict[str, float] = {}
        for name, programme in self.programmes.items():
            part = programme.share / total_share * total_gpus
            programmes[name] = part
            if not programme.projects:
                tenants[name] = part
                continue
            quotas = {k: p.quota_gpus for k, p in programme.projects.items() if p.quota_gpus is not None}
            fixed = sum(quotas.values())
            scale = min(1.0, part / fixed) if fixed > 0 else 1.0
            rest = max(part - fixed, 0.0)
            weights = {k: p.weight for k, p in programme.projects.items() if p.quota_gpus is None}
            weight_sum = sum(weights.values())
            for k in programme.projects:
                if k in quotas:
                    tenants[k] = quotas[k] * scale
                else:
                    tenants[k] = rest * weights[k] / weight_sum if weight_sum > 0 else 0.0
        return tenants, programmes

    def budgets(self) -> dict[str, float]:
        """GPU-second budgets of tenants and programmes that have one."""
        out: dict[str, float] = {}
        for name, programme in self.programmes.items():
            if programme.budget_gpu_s is not None:
                out[name] = programme.budget_gpu_s
            for k, project in programme.projects.items():
                if project.budget_gpu_s is not None:
                    out[k] = project.budget_gpu_s
        return out

    def borrowing_limits(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, programme in self.programmes.items():
            if programme.borrowing_limit_gpus is not None:
                out[name] = programme.borrowing_limit_gpus
            for k, project in programme.projects.items():
                if project.borrowing_limit_gpus is not None:
                    out[k] = project.borrowing_limit_gpus
        return out

    def lending_limits(self) -> dict[str, float]:
        return {
            name: p.lending_limit_gpus
            for name, p in self.programmes.items()
            if p.lending_limit_gpus is not None
        }


def council_of(factory: AIFactory) -> Council:
    """The council tree of a scenario's AI factory (GPU-hours → GPU-seconds)."""

    def seconds(hours: float | None) -> float | None:
        return hours * 3600 if hours is not None else None

    return Council(
        {
            name: Programme(
                share=p.share,
                projects={
                    k: Project(
                        weight=q.share if q.share is not None else 1.0,
                        quota_gpus=q.quota_gpus,
                        budget_gpu_s=seconds(q.budget_gpu_hours),
                        borrowing_limit_gpus=q.borrowing_limit_gpus,
                    )
                    for k, q in p.projects.items()
                },
                budget_gpu_s=seconds(p.budget_gpu_hours),
                borrowing_limit_gpus=p.borrowing_limit_gpus,
                lending_limit_gpus=p.lending_limit_gpus,
            )
            for name, p in factory.programs.items()
        }
    )
