"""Forecasts from the floor: when each open unit and each order will be done, P10 / P50 / P90, from
replications of the twin warm-started at the floor's time (:mod:`aifactory.plant.warm`).

A replication runs until every open unit has ended or the horizon has passed; a unit scrapped, or not
done within the horizon, has no completion in that replication (an infinite time: its P90 is
"after the horizon" when more than a tenth of the replications say so). An order is done when its last
open unit of the product is. The replications are picklable jobs with seeds from
:func:`~aifactory.sim.replications.replication_seeds`: the same results serially or on workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aifactory.plant.events import FloorState
from aifactory.plant.model import Plant
from aifactory.plant.warm import WarmSim
from aifactory.sim.replications import replication_seeds

F = npt.NDArray[np.float64]
QUANTILES = (0.1, 0.5, 0.9)
DEFAULT_HORIZON_HOURS = 28 * 24.0
_LATE = 1e300  # stands for "not done" while quantiles are taken (linear interpolation of inf gives nan)


@dataclass(frozen=True)
class ForecastJob:
    """One warm-started replication."""

    plant: Plant
    floor: FloorState
    seed: int
    horizon_hours: float
    new_releases: bool = True


def run_forecast_job(job: ForecastJob) -> tuple[F, npt.NDArray[np.bool_]]:
    sim = WarmSim(job.plant, job.seed, job.floor, new_releases=job.new_releases)
    return sim.follow(job.horizon_hours)


Mapper = Callable[
    [Callable[[ForecastJob], tuple[F, npt.NDArray[np.bool_]]], list[ForecastJob]],
    Iterable[tuple[F, npt.NDArray[np.bool_]]],
]


@dataclass(frozen=True)
class Forecast:
    """The completions of the floor's open units in every replication."""

    now: float
    horizon_hours: float
    ids: list[int]
    """Floor ids of the open units (the columns of ``ends``)."""
    floor: FloorState
    ended: F
    """(replication, unit): hour the unit finished its route or was scrapped (infinity: after the horizon)."""
    shipped: npt.NDArray[np.bool_]
    """(replication, unit): it finished its route (was not scrapped)."""
    product: str

    @property
    def ends(self) -> F:
        """(replication, unit): hour the unit finished its route (infinity: scrapped or after the horizon)."""
        return np.where(self.shipped, self.ended, np.inf)

    @property
    def replications(self) -> int:
        return int(self.ends.shape[0])

    def unit_rows(self) -> list[dict[str, Any]]:
        """One row per open unit: where it is and its completion's P10 / P50 / P90 (None: after the
        horizon) and the share of replications in which it is done within the horizon."""
        q = quantiles(self.ends)
        done = np.isfinite(self.ends).mean(axis=0)
        scrapped = (np.isfinite(self.ended) & ~self.shipped).mean(axis=0)
        rows = []
        for i, k in enumerate(self.ids):
            u = self.floor.units[k]
            rows.append(
                {
                    "unit": k,
                    "item": u.item,
                    "order": u.order,
                    "station": u.station,
                    "status": u.status,
                    "released_hours": u.released,
                    **{f"p{round(100 * p)}_hours": _finite(q[j, i]) for j, p in enumerate(QUANTILES)},
                    "done_share": float(done[i]),
                    "scrapped_share": float(scrapped[i]),
                }
            )
        return rows

    def order_rows(self) -> list[dict[str, Any]]:
        """One row per order with open units of the product: done when its last such unit has shipped or
        been scrapped (``short_share``: the replications in which one was scrapped)."""
        members: dict[str, list[int]] = {}
        for i, k in enumerate(self.ids):
            u = self.floor.units[k]
            if u.order is not None and u.item == self.product:
                members.setdefault(u.order, []).append(i)
        rows = []
        for order, cols in members.items():
            last = self.ended[:, cols].max(axis=1)
            short = (np.isfinite(self.ended[:, cols]) & ~self.shipped[:, cols]).any(axis=1)
            q = quantiles(last[:, None])[:, 0]
            rows.append(
                {
                    "order": order,
                    "open_units": len(cols),
                    **{f"p{round(100 * p)}_hours": _finite(q[j]) for j, p in enumerate(QUANTILES)},
                    "done_share": float(np.isfinite(last).mean()),
                    "short_share": float(short.mean()),
                }
            )
        rows.sort(key=lambda r: (r["p50_hours"] is None, r["p50_hours"] or 0.0, r["order"]))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "now_hours": self.now,
            "horizon_hours": self.horizon_hours,
            "replications": self.replications,
            "open_units": len(self.ids),
            "orders": self.order_rows(),
            "units": self.unit_rows(),
        }


def quantiles(ends: F) -> F:
    """P10 / P50 / P90 down the replications (rows: the quantiles); infinity where too few are done."""
    finite = np.isfinite(ends)
    q = np.quantile(np.where(finite, ends, _LATE), QUANTILES, axis=0)
    top = ends[finite].max() if finite.any() else 0.0
    return np.where(q > top, np.inf, q)  # any weight on "not done" is "after the horizon"


def _finite(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None


def forecast(
    plant: Plant,
    floor: FloorState,
    *,
    replications: int = 30,
    seed: int = 0,
    horizon_hours: float = DEFAULT_HORIZON_HOURS,
    new_releases: bool = True,
    mapper: Mapper | None = None,
    on_done: Callable[[], None] | None = None,
) -> Forecast:
    """Forecast the open units of ``floor`` (a :meth:`FloorState.snapshot` is taken first)."""
    snapshot = floor.snapshot()
    jobs = [
        ForecastJob(plant, snapshot, s, horizon_hours, new_releases)
        for s in replication_seeds(seed, replications)
    ]
    ended, shipped = [], []
    for e, s in (mapper or _serial)(run_forecast_job, jobs):
        ended.append(e)
        shipped.append(s)
        if on_done is not None:
            on_done()
    ids = list(snapshot.units)
    if not ids:
        return Forecast(snapshot.now, horizon_hours, ids, snapshot, np.zeros((replications, 0)),
                        np.zeros((replications, 0), dtype=bool), plant.release.item)  # fmt: skip
    return Forecast(
        snapshot.now, horizon_hours, ids, snapshot, np.vstack(ended), np.vstack(shipped), plant.release.item
    )


def _serial(
    fn: Callable[[ForecastJob], tuple[F, npt.NDArray[np.bool_]]], jobs: list[ForecastJob]
) -> Iterable[tuple[F, npt.NDArray[np.bool_]]]:
    return map(fn, jobs)
