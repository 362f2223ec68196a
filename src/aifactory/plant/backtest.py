"""Backtests of the forecast: replay a shop-floor log to several cut-off times, forecast from each, and
score the forecasts against what the log says happened after it.

Scored are the units open at a cut-off that finished their route later in the log (units still open at
its end are *censored* and counted, not scored; scrapped ones are neither). The scores: the mean
absolute error of P50 and its bias (P50 − actual, hours), and the coverage of the P10–P90 interval
(about 0.8 for a calibrated forecast).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.plant.events import Floor, FloorState
from aifactory.plant.forecast import DEFAULT_HORIZON_HOURS, Forecast, Mapper, forecast, quantiles
from aifactory.plant.model import Plant


def snapshots(
    plant: Plant, lines: Iterable[str], cutoffs: Sequence[float]
) -> tuple[list[FloorState], FloorState]:
    """The floor at each cut-off (in increasing order) and at the end of the log, in one pass."""
    floor = Floor(plant)
    pending = sorted(cutoffs)
    taken: list[FloorState] = []
    for line in lines:
        while pending and not floor.feed(line, pending[0]):
            floor.state.now = pending.pop(0)
            taken.append(floor.state.snapshot())
        if not pending:
            floor.feed(line)
    for t in pending:
        floor.state.now = max(floor.state.last_t, t)
        taken.append(floor.state.snapshot())
    floor.state.now = floor.state.last_t
    return taken, floor.state


def default_cutoffs(first: float, last: float, n: int) -> list[float]:
    """``n`` cut-offs evenly inside the log's span (none at its ends)."""
    return [round(first + (last - first) * k / (n + 1), 3) for k in range(1, n + 1)]


def log_span(lines: Iterable[str]) -> tuple[float, float]:
    """The first and last event times of a log (lines that are not events are skipped)."""
    first, last = np.inf, -np.inf
    for line in lines:
        try:
            t = float(json.loads(line)["t"])
        except (ValueError, KeyError, TypeError):
            continue
        if np.isfinite(t):
            first, last = min(first, t), max(last, t)
    return float(first), float(last)


def _actual(fc: Forecast, final: FloorState) -> npt.NDArray[np.float64]:
    """When each unit of the forecast finished its route in the log (NaN: scrapped, or still open)."""
    return np.array(
        [final.units[k].since if final.units[k].status == "left" else np.nan for k in fc.ids],
        dtype=np.float64,
    )


def score(fc: Forecast, final: FloorState) -> dict[str, Any]:
    """Score one forecast against the log's end state."""
    censored = sum(final.units[k].status not in ("left", "scrapped") for k in fc.ids)
    out: dict[str, Any] = {"now_hours": fc.now, "open_units": len(fc.ids), "censored": censored}
    out.update(
        _scores_by_item(_actual(fc, final), quantiles(fc.ends), [fc.floor.units[k].item for k in fc.ids])
    )
    return out


def _scores_by_item(
    actual: npt.NDArray[np.float64], q: npt.NDArray[np.float64], items: list[str]
) -> dict[str, Any]:
    out = _scores(actual, q)
    names = np.array(items, dtype=object)
    out["by_item"] = {
        item: _scores(actual[names == item], q[:, names == item]) for item in dict.fromkeys(items)
    }
    return out


def _scores(actual: np.ndarray, q: np.ndarray) -> dict[str, Any]:
    seen = np.isfinite(actual)
    a, p10, p50, p90 = actual[seen], q[0][seen], q[1][seen], q[2][seen]
    told = np.isfinite(p50)
    err = p50[told] - a[told]
    covered = (p10 <= a) & (a <= p90)
    return {
        "scored": int(seen.sum()),
        "mae_p50_hours": round(float(np.abs(err).mean()), 3) if len(err) else None,
        "bias_hours": round(float(err.mean()), 3) if len(err) else None,
        "coverage_p10_p90": round(float(covered.mean()), 4) if len(a) else None,
        "p50_after_horizon": int((~told).sum()),
    }


def backtest(
    plant: Plant,
    lines: Sequence[str],
    cutoffs: Sequence[float],
    *,
    replications: int = 30,
    seed: int = 0,
    horizon_hours: float = DEFAULT_HORIZON_HOURS,
    new_releases: bool = True,
    mapper: Mapper | None = None,
    on_done: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Forecast from each cut-off and score it; the scores per cut-off and over all of them."""
    states, final = snapshots(plant, lines, cutoffs)
    per_cutoff = []
    actual: list[npt.NDArray[np.float64]] = []
    q: list[npt.NDArray[np.float64]] = []
    items: list[str] = []
    for state in states:
        fc = forecast(
            plant, state, replications=replications, seed=seed, horizon_hours=horizon_hours,
            new_releases=new_releases, mapper=mapper, on_done=on_done,
        )  # fmt: skip
        per_cutoff.append(score(fc, final))
        actual.append(_actual(fc, final))
        q.append(quantiles(fc.ends))
        items.extend(fc.floor.units[k].item for k in fc.ids)
    overall = _scores_by_item(
        np.concatenate(actual) if actual else np.zeros(0), np.hstack(q) if q else np.zeros((3, 0)), items
    )
    return {
        "plant": plant.name,
        "replications": replications,
        "seed": seed,
        "horizon_hours": horizon_hours,
        "new_releases": new_releases,
        "cutoffs": per_cutoff,
        "overall": overall,
    }
