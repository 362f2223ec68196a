"""A small builder for sparse mixed-integer linear programmes, solved with HiGHS (``highspy``).

Variables and rows are added in blocks and referred to by index. A :class:`Solver` holds one HiGHS
instance; a solve returns the primal values, and an LP solve the duals of every row (``marginals``: the
change of the objective per unit of the row's binding bound).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
from highspy import _core

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Indices = npt.NDArray[np.integer[Any]]
INF = float("inf")


@dataclass
class Model:
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)
    row_hi: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)

    @property
    def n_vars(self) -> int:
        return len(self.lower)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)

    def var(
        self, shape: int | tuple[int, ...], *, lb: float = 0.0, ub: float = INF, cost: float = 0.0,
        integer: bool = False,
    ) -> IntArray:  # fmt: skip
        """A block of variables; returns their indices in ``shape``."""
        n = int(np.prod(shape))
        first = self.n_vars
        self.lower += [lb] * n
        self.upper += [ub] * n
        self.cost += [cost] * n
        self.integer += [int(integer)] * n
        return np.arange(first, first + n, dtype=np.int64).reshape(shape)

    def row(self, terms: list[tuple[int, float]], lo: float = -INF, hi: float = INF) -> int:
        """``lo ≤ Σ coefficient × variable ≤ hi``; returns the row's index."""
        r = self.n_rows
        self.row_lo.append(lo)
        self.row_hi.append(hi)
        for col, val in terms:
            if val != 0.0:
                self.rows.append(r)
                self.cols.append(int(col))
                self.vals.append(float(val))
        return r

    @property
    def nonzeros(self) -> int:
        return len(self.vals)

    def columns(self) -> tuple[IntArray, IntArray, FloatArray]:
        """The matrix column-wise (CSC: column starts, row indices, values), repeated entries summed."""
        rows, cols = np.array(self.rows, dtype=np.int64), np.array(self.cols, dtype=np.int64)
        keys, where = np.unique(cols * max(self.n_rows, 1) + rows, return_inverse=True)
        values: FloatArray = np.bincount(where, weights=np.array(self.vals), minlength=len(keys)).astype(
            np.float64
        )
        key_cols = keys // max(self.n_rows, 1)
        starts = np.zeros(self.n_vars + 1, dtype=np.int64)
        np.cumsum(np.bincount(key_cols, minlength=self.n_vars), out=starts[1:])
        index: IntArray = (keys % max(self.n_rows, 1)).astype(np.int64)
        return starts, index, values


@dataclass(frozen=True)
class Solution:
    status: str  # "optimal" | "time_limit" | "infeasible" | "error"
    message: str
    x: FloatArray | None
    objective: float
    marginals: FloatArray | None = None  # row duals (LP solves only)
    mip_gap: float | None = None
    seconds: float = 0.0  # HiGHS's own run time


class Solver:
    """One HiGHS instance holding the model: bounds change between solves, and an LP re-solve starts
    from the last basis (the planner's rounds change only the targets' bounds)."""

    def __init__(self, model: Model, *, time_limit: float = 300.0, mip_gap: float = 1e-2) -> None:
        self.model = model
        # The public ``highspy.Highs`` enables callbacks in its constructor, which logs HiGHS's banner to
        # stdout before any option can be set (HiGHS issue #2749); the core class does not.
        self.h = _core._Highs()
        self.h.setOptionValue("output_flag", False)
        self.time_limit = float(time_limit)
        self.h.setOptionValue("time_limit", self.time_limit)
        self.h.setOptionValue("mip_rel_gap", float(mip_gap))
        starts, index, values = model.columns()
        lp = highspy.HighsLp()
        lp.num_col_ = model.n_vars
        lp.num_row_ = model.n_rows
        lp.col_cost_ = np.array(model.cost)
        lp.col_lower_ = np.array(model.lower)
        lp.col_upper_ = np.array(model.upper)
        lp.row_lower_ = np.array(model.row_lo)
        lp.row_upper_ = np.array(model.row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = values
        self.integer_cols = np.flatnonzero(np.array(model.integer, dtype=bool)).astype(np.int32)
        if len(self.integer_cols):
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous
                for v in model.integer
            ]
        self.h.passModel(lp)
        self._integral = bool(len(self.integer_cols))

    def row_bounds(self, rows: Indices, lo: FloatArray, hi: FloatArray) -> None:
        idx: npt.NDArray[np.int32] = np.asarray(rows, dtype=np.int32)
        self.h.changeRowsBounds(  # type: ignore[attr-defined]  # in highspy, not in its stubs
            len(idx), idx, np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        )

    def col_bounds(self, cols: Indices, lo: FloatArray, hi: FloatArray) -> None:
        idx: npt.NDArray[np.int32] = np.asarray(cols, dtype=np.int32)
        self.h.changeColsBounds(
            len(idx), idx, np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        )

    def costs(self, cols: Indices, cost: FloatArray) -> None:
        idx: npt.NDArray[np.int32] = np.asarray(cols, dtype=np.int32)
        self.h.changeColsCost(len(idx), idx, np.asarray(cost, dtype=np.float64))

    def _integrality(self, integral: bool) -> None:
        if integral == self._integral or not len(self.integer_cols):
            return
        kind = highspy.HighsVarType.kInteger if integral else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(
            len(self.integer_cols), self.integer_cols, np.array([kind] * len(self.integer_cols))
        )
        self._integral = integral

    def solve(self, *, integral: bool = True) -> Solution:
        """A MIP solve (when the model has integers and ``integral``), else an LP solve with duals."""
        self._integrality(integral)
        mip = integral and bool(len(self.integer_cols))
        started = self.h.getRunTime()
        self.h.run()
        seconds = self.h.getRunTime() - started
        status = self.h.getModelStatus()
        name = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kTimeLimit: "time_limit",
            highspy.HighsModelStatus.kInfeasible: "infeasible",
        }.get(status, "error")
        message = self.h.modelStatusToString(status)
        sol = self.h.getSolution()
        info = self.h.getInfo()
        if not sol.value_valid:
            return Solution(name, message, None, float("nan"), seconds=seconds)
        return Solution(
            name,
            message,
            np.array(sol.col_value),
            float(info.objective_function_value),
            marginals=None if mip or not sol.dual_valid else np.array(sol.row_dual),
            mip_gap=float(info.mip_gap) if mip else None,
            seconds=seconds,
        )

    def rounded(self) -> tuple[Solution, float]:
        """The LP relaxation with each integer rounded up, and the relaxation's objective (a bound).

        Rounding block counts up only adds capacity, so the rounded plan stays feasible; its cost is at
        most one block per option above the bound."""
        lp = self.solve(integral=False)
        if lp.x is None or not len(self.integer_cols):
            return lp, lp.objective
        fixed = np.ceil(lp.x[self.integer_cols] - 1e-6)
        out = self._with_integers(fixed)
        return replace(out, seconds=out.seconds + lp.seconds), lp.objective

    def solve_from(self, start: FloatArray, *, time_limit: float | None = None) -> Solution:
        """A MIP solve starting from the feasible point ``start`` (within ``time_limit`` seconds, when
        given: the best plan found by then)."""
        self._integrality(True)
        if len(self.integer_cols):
            sol = highspy.HighsSolution()
            sol.col_value = list(start)
            self.h.setSolution(sol)
        if time_limit is None:
            return self.solve()
        self.h.setOptionValue("time_limit", float(time_limit))
        try:
            return self.solve()
        finally:
            self.h.setOptionValue("time_limit", self.time_limit)

    def _with_integers(self, values: FloatArray) -> Solution:
        lower = np.array(self.model.lower)[self.integer_cols]
        upper = np.array(self.model.upper)[self.integer_cols]
        self.col_bounds(self.integer_cols, values, values)
        try:
            return self.solve(integral=False)
        finally:
            self.col_bounds(self.integer_cols, lower, upper)

    @contextmanager
    def integers_fixed(self, x: FloatArray) -> Iterator[None]:
        """Within the block, the integer columns are fixed at ``x`` (rounded) and solves are LPs."""
        lower = np.array(self.model.lower)[self.integer_cols]
        upper = np.array(self.model.upper)[self.integer_cols]
        fixed = np.round(x[self.integer_cols])
        self.col_bounds(self.integer_cols, fixed, fixed)
        try:
            yield
        finally:
            self.col_bounds(self.integer_cols, lower, upper)
