"""The supply engine's per-run delays and capacities: a ring of what is due a whole number of days later
(:class:`Lag`, one delay per run) and a stage's capacity per day (:class:`Capacity`: base curve × scale,
expansions ramping in, disruptions), recomputed only on days it may change."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.scenario.model import Scenario
from aifactory.supply.network import StageSpec
from aifactory.supply.parameters import Parameters

FloatArray = npt.NDArray[np.float64]
Vector = npt.NDArray[Any] | float


def whole_days(values: FloatArray, minimum: int = 0) -> np.ndarray:
    """Per-run delays rounded to whole days, at least ``minimum``."""
    return np.maximum(np.rint(values), minimum).astype(np.int64)


class Lag:
    """What was pushed ``delay`` days ago, with a whole-day delay per run.

    History is kept in a ring of ``length = max delay + 1`` day-rows. When delays differ between runs,
    the ring stores the runs sorted by delay (so a day's gather reads nearly contiguous memory instead
    of one cache line per run) and each row is written twice (rows ``p`` and ``p + length``), so the
    gather for ``day - delay`` needs no modulo: a push is one permutation and two row copies, a pull
    one gather and one permutation back.
    """

    def __init__(self, delays: np.ndarray, runs: int) -> None:
        self.runs = runs
        self.delays = delays
        self.fixed = bool(np.all(delays == delays[0]))
        self.delay = int(delays[0])
        self.length = int(delays.max()) + 1
        self.rows: FloatArray = np.zeros((self.length if self.fixed else 2 * self.length, runs))
        self.ring = self.rows.reshape(-1)
        self.order = np.argsort(delays, kind="stable")  # sorted position → run
        self.position = np.empty(runs, dtype=np.int64)  # run → sorted position
        self.position[self.order] = np.arange(runs)
        self.read_base = (self.length - delays[self.order]) * runs + np.arange(runs, dtype=np.int64)
        self._index = np.empty(runs, dtype=np.int64)
        self._sorted = np.empty(runs)
        self._out = np.empty(runs)

    def push(self, day: int, values: Vector) -> None:
        p = day % self.length
        if self.fixed:
            self.rows[p] = values
            return
        if isinstance(values, np.ndarray):
            values.take(self.order, out=self.rows[p])
        else:
            self.rows[p] = values
        self.rows[p + self.length] = self.rows[p]

    def pull(self, day: int) -> FloatArray:
        if self.fixed:
            row: FloatArray = self.rows[(day - self.delay) % self.length]
            return row
        np.add(self.read_base, (day % self.length) * self.runs, out=self._index)
        self.ring.take(self._index, out=self._sorted, mode="clip")
        return self._sorted.take(self.position, out=self._out)

    def pending(self, horizon: int) -> FloatArray:
        """Pushed but not yet due at the end of the horizon (the last ``delay`` days' pushes)."""
        total = np.zeros(self.runs)
        for back in range(min(self.length - 1, horizon)):
            row = self.rows[(horizon - 1 - back) % self.length]
            if not self.fixed:
                row = row.take(self.position)
            total += np.where(back < self.delays, row, 0.0)
        return total


class Capacity:
    """A stage's capacity per day and run: base curve × scale + expansions, reduced by disruptions."""

    def __init__(self, spec: StageSpec, s: Scenario, params: Parameters, runs: int) -> None:
        prefix = f"stages.{spec.id}"
        stage = s.stages[spec.id]
        self.base = spec.base_capacity
        scale = params[f"{prefix}.capacity_scale"]
        self.scale: Vector = float(scale[0]) if np.all(scale == scale[0]) else scale
        horizon = s.horizon_days
        dirty = np.zeros(horizon + 1, dtype=bool)
        dirty[0] = True
        dirty[1:horizon] = self.base[1:] != self.base[:-1]
        self.expansions: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        for i, exp in enumerate(stage.expansions):
            start = s.day(exp.date) + np.rint(params[f"{prefix}.expansions.{i}.delay_days"])
            ramp = np.maximum(np.rint(params[f"{prefix}.expansions.{i}.ramp_days"]), 1.0)
            add = params[f"{prefix}.expansions.{i}.add_per_day"]
            self.expansions.append((start, 1.0 / ramp, add))
            mark_changes(dirty, start.min(), (start + ramp).max(), horizon)
        self.disruptions: list[tuple[FloatArray, FloatArray, float]] = []
        for i, dis in enumerate(stage.disruptions):
            base = f"{prefix}.disruptions.{i}"
            start = s.day(dis.start) + np.rint(params[f"{base}.start_offset_days"])
            end = start + np.rint(params[f"{base}.days"])
            occurs = params[f"{base}.occurs"] > 0
            start = np.where(occurs, start, np.inf)
            self.disruptions.append((start, end, dis.capacity_factor))
            if occurs.any():
                mark_changes(dirty, start[occurs].min(), end[occurs].max(), horizon)
        self.dirty = dirty
        self.current: Vector = 0.0
        self.scheduled_positive: np.ndarray | bool = False  # capacity before disruptions > 0
        self.runs = runs

    def at(self, day: int) -> Vector:
        """Capacity today; a plain float when it is the same in every run (saves vector work)."""
        if not self.dirty[day]:
            return self.current
        cap: Vector = self.base[day] * self.scale
        for start, inv_ramp, add in self.expansions:
            cap = cap + add * np.clip((day - start + 1) * inv_ramp, 0.0, 1.0)
        self.scheduled_positive = cap > 0
        for start, end, factor in self.disruptions:
            down = (start <= day) & (day < end)
            if down.any():
                cap = np.where(down, cap * factor, cap)
        if isinstance(cap, np.ndarray) and np.all(cap == cap[0]):
            cap = float(cap[0])
        self.current = cap
        return cap


def mark_changes(dirty: np.ndarray, first: float, last: float, horizon: int) -> None:
    """Mark days ``first`` to ``last`` (clipped to the horizon) as days the capacity may change."""
    lo = int(max(0, min(horizon, first)))
    hi = int(max(0, min(horizon, last + 1)))
    dirty[lo:hi] = True
