"""Shadow prices of the plan's binding capacities: what one more unit per day at a stage, for a calendar
year, would be worth.

The MILP is re-solved as a linear programme with its integer choices fixed; the dual of each capacity
row is the change of the objective per unit of capacity in that bucket and sample. Adding one unit per
day at stage ``s`` throughout year ``Y`` adds, in every sample, the bucket's days within ``Y`` to each of
those rows, so the duals estimate its worth as ``−Σ dual × days``, and a re-solve with those rows raised
measures it: in cost mode the option spending it saves, with a budget the mean delivered value it adds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from aifactory.planner.lp import Solution, Solver
from aifactory.planner.model import Layout
from aifactory.scenario.model import Scenario

TOP = 12
MEASURED = 10  # candidates measured by a re-solve


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
    """The stage-years where one more unit a day is worth most, largest first (empty when nothing binds).

    The duals rank the candidates; each of the top ones is then measured by re-solving the LP with one
    more unit a day through that year (a warm re-solve): where the LP is degenerate — a capacity of 0,
    say — a dual can promise more than the first unit actually gives. The solver's target bounds must
    still be those ``sol`` was solved with."""
    if sol.x is None:
        return []
    days = np.arange(s.horizon_days)
    years = np.array([(s.start + dt.timedelta(days=int(d))).year for d in days])
    scale = abs(lay.objective_scale)
    hi = np.array(solver.model.row_hi)
    rows: list[dict[str, Any]] = []
    with solver.integers_fixed(sol.x):
        base = solver.solve(integral=False)
        if base.marginals is None or base.x is None:
            return []
        candidates: list[tuple[float, str, int, np.ndarray]] = []
        for sid, cap_rows in lay.capacity_rows.items():
            per_bucket = base.marginals[cap_rows].sum(axis=0)
            for year in np.unique(years):
                in_year = np.add.reduceat((years == year).astype(np.float64), edges[:-1])
                dual_worth = -float(per_bucket @ in_year) * scale
                if abs(dual_worth) > 1.0:
                    candidates.append((dual_worth, sid, int(year), in_year))
        candidates.sort(key=lambda c: -abs(c[0]))
        for _, sid, year, in_year in candidates[:MEASURED]:
            cap_rows = lay.capacity_rows[sid].ravel()
            more = np.tile(in_year, lay.capacity_rows[sid].shape[0])
            solver.row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), hi[cap_rows] + more)
            try:
                grown = solver.solve(integral=False)
            finally:
                solver.row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), hi[cap_rows])
            if grown.x is None:
                continue
            worth = -(grown.objective - base.objective) * scale
            if abs(worth) > 1.0:
                rows.append(
                    {
                        "stage": sid,
                        "year": year,
                        "worth_usd_per_unit_per_day": worth,
                        "unit": f"{started_unit(s, sid)} started per day",
                    }
                )
    rows.sort(key=lambda r: -abs(r["worth_usd_per_unit_per_day"]))
    return rows[:TOP]
