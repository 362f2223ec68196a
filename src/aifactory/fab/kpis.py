"""What a fab run reports: per lot type and per tool family, in the shape of ``kpis.json``.

Lot KPIs count lots completing after the warm-up: ``throughput`` (lots), ``cycle_time_days`` (mean of
completion − release) and ``on_time_pct`` (completion ≤ due; a lot without a due date counts as on
time; a lot type with no completion reports 0, 0.0, 0.0). Tool-family KPIs are % of the measured window
``[warm-up, end]`` summed over the family's tools: ``br`` in breakdown, ``pm`` in PM, ``avail`` =
100 − br − pm, ``setup`` in setup (% of the window), and ``util`` = time occupied by a job — setup,
load, processing and unload — as % of the **available** (not down) time, the AutoSched definition
``reference_toolgroups.txt`` uses (there util can exceed avail: HVLM's litho has avail 86 %, util
96 %). A cascading tool holding two overlapping jobs counts the time once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class LotKpis:
    throughput: int
    cycle_time_days: float
    on_time_pct: float


@dataclass(frozen=True, slots=True)
class ToolKpis:
    avail: float
    util: float
    br: float
    pm: float
    setup: float


def _empty_i32() -> npt.NDArray[np.int32]:
    return np.zeros(0, dtype=np.int32)


def _empty_i64() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


def _empty_f64() -> npt.NDArray[np.float64]:
    return np.zeros(0, dtype=np.float64)


_ARRAYS: tuple[str, ...] = ("lot_type", "release_days", "done_days", "wafers")
_ARRAYS += ("released_lots", "released_wafers", "wip_start", "wip_end")


@dataclass(frozen=True, slots=True, eq=False)
class Completions:
    """Every lot that completed after the warm-up, in completion order (what calibration fits),
    and, per lot type, the lots and wafers released after the warm-up and the lots in the fab when the
    warm-up ended (``wip_start``) and at the end (``wip_end``).

    ``lot_type`` indexes ``type_names``; times are days from the data set's epoch.
    """

    type_names: tuple[str, ...] = ()
    lot_type: npt.NDArray[np.int32] = field(default_factory=_empty_i32)
    release_days: npt.NDArray[np.float64] = field(default_factory=_empty_f64)
    done_days: npt.NDArray[np.float64] = field(default_factory=_empty_f64)
    wafers: npt.NDArray[np.int32] = field(default_factory=_empty_i32)
    released_lots: npt.NDArray[np.int64] = field(default_factory=_empty_i64)
    released_wafers: npt.NDArray[np.int64] = field(default_factory=_empty_i64)
    wip_start: npt.NDArray[np.int64] = field(default_factory=_empty_i64)
    wip_end: npt.NDArray[np.int64] = field(default_factory=_empty_i64)

    @property
    def cycle_time_days(self) -> npt.NDArray[np.float64]:
        return self.done_days - self.release_days

    def __len__(self) -> int:
        return len(self.lot_type)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Completions):
            return NotImplemented
        return self.type_names == other.type_names and all(
            np.array_equal(getattr(self, f), getattr(other, f)) for f in _ARRAYS
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class FabResult:
    """The outcome of one run of :func:`aifactory.fab.engine.simulate`."""

    events: int
    lots: dict[str, LotKpis]
    toolgroups: dict[str, ToolKpis]
    released: int = 0
    completed: int = 0
    """All completions, warm-up included."""
    wip_end: int = 0
    """Lots in the fab at the end."""
    completions: Completions = field(default_factory=Completions)

    def to_kpis(
        self, dataset_name: str, days: float, warmup_days: float, seed: int, wall_seconds: float
    ) -> dict[str, Any]:
        """The ``kpis.json`` document (docs/fab.md)."""
        return {
            "dataset": dataset_name,
            "days": days,
            "warmup_days": warmup_days,
            "seed": seed,
            "wall_seconds": wall_seconds,
            "events": self.events,
            "lots": {
                name: {
                    "throughput": k.throughput,
                    "cycle_time_days": k.cycle_time_days,
                    "on_time_pct": k.on_time_pct,
                }
                for name, k in self.lots.items()
            },
            "toolgroups": {
                name: {"avail": k.avail, "util": k.util, "br": k.br, "pm": k.pm, "setup": k.setup}
                for name, k in self.toolgroups.items()
            },
        }
