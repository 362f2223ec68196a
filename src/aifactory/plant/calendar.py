"""Operators on duty over the week: a pool's shifts and breaks as a weekly step function.

A shift puts its ``count`` operators on duty from its start to its end on each of its days (the days it
starts on; a night shift runs into the next day), less its breaks. Overlapping shifts add up. The week
starts at hour 0 on the plant's ``start`` weekday; the step function repeats every 168 hours.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aifactory.plant.resources import WEEKDAYS, OperatorPool

WEEK_HOURS = 168.0


def weekly_duty(pool: OperatorPool, weekday0: int) -> list[tuple[float, int]] | None:
    """``[(hour of the week, operators on duty from then on), …]`` sorted by hour, covering one week
    from hour 0; None for a pool without shifts (always ``count`` on duty)."""
    if not pool.shifts:
        return None
    deltas: dict[float, int] = {}

    def add(start: float, end: float, n: int) -> None:
        # a week-periodic interval [start, end) (hours from the week's start, possibly past 168)
        for a, b in (
            (start, end),
            (start - WEEK_HOURS, end - WEEK_HOURS),
            (start + WEEK_HOURS, end + WEEK_HOURS),
        ):
            lo, hi = max(a, 0.0), min(b, WEEK_HOURS)
            if hi > lo:
                deltas[lo] = deltas.get(lo, 0) + n
                deltas[hi] = deltas.get(hi, 0) - n

    for shift in pool.shifts:
        n = pool.count if shift.count is None else shift.count
        days = shift.days if shift.days is not None else list(WEEKDAYS)
        start, end = shift.hours()
        for day in days:
            offset = ((WEEKDAYS.index(day) - weekday0) % 7) * 24.0
            add(offset + start, offset + end, n)
            for b in shift.breaks:
                bs, be = _clock(b.start), _clock(b.end)
                add(offset + bs, offset + be, -n)
    steps: list[tuple[float, int]] = []
    level = 0
    for hour in sorted(deltas):
        level += deltas[hour]
        if hour >= WEEK_HOURS:
            break
        if steps and steps[-1][0] == hour:
            steps[-1] = (hour, level)
        elif not steps or steps[-1][1] != level:
            steps.append((hour, level))
    if not steps or steps[0][0] > 0:
        steps.insert(0, (0.0, 0))
    return steps


def _clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) + int(minutes) / 60


def duty_hours(
    steps: list[tuple[float, int]] | None, count: int, edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Operator-hours on duty in each interval ``[edges[i], edges[i+1])`` (hours of the run)."""
    if steps is None:
        return np.diff(edges) * count
    return np.diff(_cumulative(steps, edges))


def _cumulative(steps: list[tuple[float, int]], t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Operator-hours on duty from hour 0 to each ``t``."""
    hours = np.array([h for h, _ in steps] + [WEEK_HOURS])
    levels = np.array([n for _, n in steps], dtype=np.float64)
    per_week = float(np.sum(np.diff(hours) * levels))
    cum_at = np.concatenate([[0.0], np.cumsum(np.diff(hours) * levels)])
    weeks, into = np.divmod(np.asarray(t, dtype=np.float64), WEEK_HOURS)
    i = np.clip(np.searchsorted(hours, into, side="right") - 1, 0, len(levels) - 1)
    return np.asarray(weeks * per_week + cum_at[i] + (into - hours[i]) * levels[i], dtype=np.float64)
