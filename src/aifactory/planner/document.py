"""``plan.json``: a plan as the document users and outside checks read (docs/planner.md)."""

from __future__ import annotations

from typing import Any

from aifactory.planner.plan import PlanResult
from aifactory.supply.metrics import evaluate_target


def plan_document(r: PlanResult, *, wall_seconds: float = 0.0) -> dict[str, Any]:
    """The plan as JSON-ready data: the contract's keys first, then what explains them."""
    st = r.settings
    s = r.scenario
    base = r.baseline
    targets: list[dict[str, Any]] = []
    for j, t in enumerate(s.targets):
        without = evaluate_target(s, t, base.result, base.params)
        entry: dict[str, Any] = {"metric": t.metric, "by": t.by.isoformat(), "target": t.value}
        if r.verified is not None:
            planned = evaluate_target(r.planned, r.planned.targets[j], r.verified.result, r.verified.params)
            entry |= {"p50": planned["p50"], "probability_met": planned["probability_met"]}
        else:
            entry |= {"p50": without["p50"], "probability_met": without["probability_met"]}
        entry |= {
            "name": t.name,
            "p50_without_plan": without["p50"],
            "probability_without_plan": without["probability_met"],
        }
        targets.append(entry)
    costs: dict[str, float] = {}
    for a in r.actions:
        costs[a.stage] = costs.get(a.stage, 0.0) + a.cost_usd
    doc: dict[str, Any] = {
        "scenario": s.name,
        "feasible": r.feasible,
        "cost_usd": r.cost_usd,
        "probability": st.probability,
        "actions": [a.as_json() for a in r.actions],
        "targets": targets,
        "met": r.met,
        "message": message(r),
        "unreachable": [{k: v for k, v in u.items() if k != "index"} for u in r.unreachable],
        "cost_by_stage": costs,
        "shadow_prices": r.shadow,
        "rounds": [
            {
                "round": i + 1,
                "target_factors": {s.targets[j].name or f"targets.{j}": f for j, f in rd.scale.items()},
                "cost_usd": rd.cost_usd,
                "probability_met": rd.probabilities,
                "solve_seconds": rd.solve_seconds,
                "status": rd.status,
            }
            for i, rd in enumerate(r.rounds)
        ],
        "model": r.model_size | {"solve_seconds": sum(rd.solve_seconds for rd in r.rounds)},
        "runs": st.runs,
        "samples": st.samples,
        "bucket_days": st.bucket_days,
        "seed": st.seed,
        "budget_usd": st.budget_usd,
        "wall_seconds": wall_seconds,
    }
    return doc


def _amount(metric: str, x: float) -> str:
    if metric != "value_usd":
        return f"{x:,.0f}"
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if abs(x) >= scale:
            return f"${x / scale:,.1f}{suffix}"
    return f"${x:,.0f}"


def message(r: PlanResult) -> str:
    """One line saying what the plan does."""
    p = r.settings.probability
    if not r.feasible:
        names = ", ".join(f"'{u['target']}'" for u in r.unreachable)
        best = "; ".join(
            f"'{u['target']}' reaches at most {u['reachable']:,.4g} of {u['value']:,.4g}"
            for u in r.unreachable
        )
        return f"infeasible: no choice of the options reaches {names} in {p:.0%} of the samples ({best})"
    rounds = len(r.rounds)
    raised = (
        f" after {rounds - 1} round(s) of raising targets the verification found short" if rounds > 1 else ""
    )
    if r.met:
        return f"every target met in at least {p:.0%} of {r.settings.runs:,} verified runs{raised}"
    short = [
        f"'{t.name or t.metric}' {q:.0%}"
        for t, q in zip(r.scenario.targets, r.probabilities, strict=True)
        if q < p
    ]
    return (
        f"verification falls short of {p:.0%}: {', '.join(short)} of the runs meet it; the options' bounds "
        f"or the rounds ({rounds}) ran out{raised}"
    )
