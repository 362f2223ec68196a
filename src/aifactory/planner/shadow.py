"""Shadow prices of the plan's binding capacities: what one more unit per day at a stage, for a calendar
year, would be worth.

The MILP is re-solved as a linear programme with its integer choices fixed; the dual of each capacity
row is the change of the objective per unit of capacity in that bucket and sample. Adding one unit per
day at stage ``s`` throughout year ``Y`` adds, in every sample, the bucket's days within ``Y`` to each of
those rows, so its worth is ``−Σ dual × days``: in cost mode the option spending it saves, with a budget
the mean delivered value it adds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from aifactory.planner.lp import Solution, Solver
from aifactory.planner.model import Layout
from aifactory.scenario.model import Scenario

TOP = 12


def started_unit(s: Scenario, sid: str) -> str:
    """What one unit started at a stage is: its output item when one comes out per start, else its one
    input (a wafer started in packaging), else a generic unit."""
    st = s.stages[sid]
    if isinstance(st.output_per_unit, int | float) and st.output_per_unit == 1:
        return st.produces
    if len(st.consumes) == 1 and next(iter(st.consumes.values())) == 1:
        return next(iter(st.consumes))
    return "unit"


def shadow_prices(
    s: Scenario, solver: Solver, lay: Layout, sol: Solution, edges: np.ndarray
) -> list[dict[str, Any]]:
    """The stage-years with the largest worth, largest first (empty when nothing binds). The solver's
    target bounds must still be those ``sol`` was solved with."""
    if sol.x is None:
        return []
    lp = solver.shadow(sol.x)
    if lp.marginals is None:
        return []
    days = np.arange(s.horizon_days)
    years = np.array([(s.start + dt.timedelta(days=int(d))).year for d in days])
    rows: list[dict[str, Any]] = []
    for sid, cap_rows in lay.capacity_rows.items():
        duals = lp.marginals[cap_rows]  # (K, T)
        per_bucket = duals.sum(axis=0)
        for year in np.unique(years):
            in_year = np.add.reduceat((years == year).astype(np.float64), edges[:-1])
            worth = -float(per_bucket @ in_year) * abs(lay.objective_scale)
            if abs(worth) > 1.0:
                rows.append(
                    {
                        "stage": sid,
                        "year": int(year),
                        "worth_usd_per_unit_per_day": worth,
                        "unit": f"{started_unit(s, sid)} started per day",
                    }
                )
    rows.sort(key=lambda r: -abs(r["worth_usd_per_unit_per_day"]))
    return rows[:TOP]
