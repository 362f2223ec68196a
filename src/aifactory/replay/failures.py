"""Hardware failures during a replay: trays break at random and are repaired after a while.

Each working tray fails after an exponential time with mean ``tray_mtbf_s`` (independent trays: the
factory sees a Poisson stream of failures at rate *working trays ÷ MTBF*); a broken tray is back after
an exponential repair time with mean ``repair_s``. A failure hits a uniformly chosen working tray of a
rack chosen in proportion to its working trays; the scheduler decides which job (if any) was on it.
Random draws come from the generator the caller injects, so a replay is reproducible from its seed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class FailureModel:
    tray_mtbf_s: float
    repair_s: float

    def __post_init__(self) -> None:
        if not (self.tray_mtbf_s > 0 and self.repair_s > 0):
            raise ValueError("tray MTBF and repair time must be > 0")


@dataclass
class FailureProcess:
    """The next tray failure and the repairs under way, over racks that are online."""

    model: FailureModel
    rng: np.random.Generator
    healthy: npt.NDArray[np.int64]  # working trays per rack (the scheduler's view, kept in step)
    online: npt.NDArray[np.bool_]
    repairs: list[tuple[float, int]] = field(default_factory=list)  # (time, rack)
    next_failure: float = np.inf

    def plan(self, now: float) -> None:
        """Draw the time of the next failure from ``now`` (memoryless: redrawn after every change)."""
        working = int(self.healthy[self.online].sum())
        rate = working / self.model.tray_mtbf_s
        self.next_failure = now + self.rng.exponential(1 / rate) if rate > 0 else np.inf

    def next_event(self) -> float:
        return min(self.next_failure, self.repairs[0][0] if self.repairs else np.inf)

    def fail(self, now: float) -> tuple[int, float]:
        """A tray fails at ``now``: (its rack, the draw that picks the tray within the rack)."""
        weights = np.where(self.online, self.healthy, 0).astype(np.float64)
        rack = int(self.rng.choice(len(weights), p=weights / weights.sum()))
        self.healthy[rack] -= 1
        heapq.heappush(self.repairs, (now + self.rng.exponential(self.model.repair_s), rack))
        u = float(self.rng.random())
        self.plan(now)
        return rack, u

    def repaired(self, now: float) -> list[int]:
        """Racks whose broken tray is back at ``now`` (one entry per tray)."""
        racks = []
        while self.repairs and self.repairs[0][0] <= now:
            _, rack = heapq.heappop(self.repairs)
            self.healthy[rack] += 1
            racks.append(rack)
        if racks:
            self.plan(now)
        return racks
