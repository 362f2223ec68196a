"""What is allocated where: free GPUs per rack, rack health, and each running job's placement."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from aifactory.cluster.topology import Topology

IntArray = npt.NDArray[np.int64]
Placement = tuple[tuple[int, int], ...]
"""((rack, gpus), ...): where a gang runs; one entry per rack it uses."""


@dataclass
class ClusterState:
    """Mutable allocation state over a read-only ``Topology``.

    ``capacity[r]`` is what rack *r* may hand out (its schedulable GPUs, 0 while drained or failed);
    ``free[r]`` what is not allocated. A drained rack keeps running its jobs but takes no new ones.
    """

    topology: Topology
    capacity: IntArray = field(init=False)
    used: IntArray = field(init=False)
    free: IntArray = field(init=False)  # capacity − used (negative on a drained rack still running jobs)
    placements: dict[str, Placement] = field(default_factory=dict)
    max_free: int = field(init=False)  # most free GPUs in one rack (kept current: a cheap first test)
    free_gpus: int = field(init=False)  # free GPUs in all racks

    def __post_init__(self) -> None:
        self.capacity = np.full(self.topology.racks, self.topology.rack_gpus, dtype=np.int64)
        self.used = np.zeros(self.topology.racks, dtype=np.int64)
        self.free = self.capacity.copy()
        self._refresh()

    def _refresh(self) -> None:
        self.max_free = int(self.free.max())
        self.free_gpus = int(np.maximum(self.free, 0).sum())

    def allocate(self, job_id: str, placement: Placement) -> None:
        if job_id in self.placements:
            raise ValueError(f"job {job_id} is already placed")
        for rack, gpus in placement:
            if gpus > self.free[rack]:
                raise ValueError(f"rack {rack} has {self.free[rack]} free GPUs, job {job_id} wants {gpus}")
        for rack, gpus in placement:
            self.used[rack] += gpus
            self.free[rack] -= gpus
        self.placements[job_id] = placement
        self._refresh()

    def release(self, job_id: str) -> Placement:
        placement = self.placements.pop(job_id)
        for rack, gpus in placement:
            self.used[rack] -= gpus
            self.free[rack] += gpus
        self._refresh()
        return placement

    def drain(self, rack: int) -> None:
        """Take a rack out of scheduling (maintenance, failure): running jobs stay until they end."""
        self.capacity[rack] = 0
        self.free[rack] = -self.used[rack]
        self._refresh()

    def restore(self, rack: int) -> None:
        self.capacity[rack] = self.topology.rack_gpus
        self.free[rack] = self.capacity[rack] - self.used[rack]
        self._refresh()
