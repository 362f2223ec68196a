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

    ``capacity[r]`` is what rack *r* may hand out: its schedulable trays' GPUs while enough trays are
    healthy (failed trays are replaced by the rack's spares), fewer when more trays have failed than
    there are spares, 0 while the rack is drained. ``free[r]`` is what is not allocated (negative on a
    rack whose capacity dropped under jobs that still run: they run on, nothing new starts there).
    """

    topology: Topology
    capacity: IntArray = field(init=False)
    used: IntArray = field(init=False)
    free: IntArray = field(init=False)  # capacity − used
    healthy_trays: IntArray = field(init=False)  # trays per rack that work (spares included)
    drained: npt.NDArray[np.bool_] = field(init=False)
    placements: dict[str, Placement] = field(default_factory=dict)
    max_free: int = field(init=False)  # most free GPUs in one rack (kept current: a cheap first test)
    free_gpus: int = field(init=False)  # free GPUs in all racks

    def __post_init__(self) -> None:
        racks = self.topology.racks
        self.capacity = np.full(racks, self.topology.rack_gpus, dtype=np.int64)
        self.used = np.zeros(racks, dtype=np.int64)
        self.free = self.capacity.copy()
        self.healthy_trays = np.full(racks, self.topology.rack.trays, dtype=np.int64)
        self.drained = np.zeros(racks, dtype=np.bool_)
        self._refresh()

    def _refresh(self) -> None:
        self.max_free = int(self.free.max())
        self.free_gpus = int(np.maximum(self.free, 0).sum())

    def _recompute(self, rack: int) -> None:
        topo = self.topology
        trays = min(topo.schedulable_trays, int(self.healthy_trays[rack]))
        self.capacity[rack] = 0 if self.drained[rack] else trays * topo.rack.gpus_per_tray
        self.free[rack] = self.capacity[rack] - self.used[rack]
        self._refresh()

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
        self.drained[rack] = True
        self._recompute(rack)

    def restore(self, rack: int) -> None:
        self.drained[rack] = False
        self._recompute(rack)

    def fail_tray(self, rack: int) -> None:
        """One more tray of the rack is broken (a spare takes its place while there is one)."""
        if self.healthy_trays[rack] <= 0:
            raise ValueError(f"rack {rack} has no working tray left to fail")
        self.healthy_trays[rack] -= 1
        self._recompute(rack)

    def repair_tray(self, rack: int) -> None:
        if self.healthy_trays[rack] >= self.topology.rack.trays:
            raise ValueError(f"rack {rack} has no broken tray to repair")
        self.healthy_trays[rack] += 1
        self._recompute(rack)

    def what_if(self) -> WhatIf:
        """A trial on this state's free map (placement and reclaim ask "if these jobs ended, where would
        the gang go?"), used as ``with state.what_if() as trial:``: the trial's changes are undone when
        the block ends, whatever happens in it. Nothing else may change the state inside the block."""
        return WhatIf(self.free)

    def jobs_on(self, rack: int) -> list[tuple[str, int]]:
        """(job, GPUs on this rack) for the jobs running on ``rack``, in start order."""
        return [(job, g) for job, placement in self.placements.items() for r, g in placement if r == rack]


class WhatIf:
    """Hypothetical releases (and holds) of placements on a free map, undone together when the ``with``
    block ends (or back to a :meth:`mark`) — Kueue's preemption simulation on its snapshot.

    It sits on the scheduler's hot path (every backfill reservation and reclaim asks one), so the whole
    trial is undone by restoring a copy of the free map taken at the start (one array copy, however many
    placements were released), and only changes after a :meth:`mark` are logged for a partial undo."""

    __slots__ = ("_log", "_saved", "free")

    def __init__(self, free: IntArray) -> None:
        self.free = free
        self._saved = free.copy()
        self._log: list[tuple[Placement, int]] | None = None  # logging starts at the first mark

    def __enter__(self) -> WhatIf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.undo()

    def release(self, placement: Placement) -> None:
        """As if the job on ``placement`` ended: its GPUs are free."""
        free = self.free
        for rack, gpus in placement:
            free[rack] += gpus
        if self._log is not None:
            self._log.append((placement, 1))

    def hold(self, placement: Placement) -> None:
        """As if ``placement`` were taken again (undoes a :meth:`release` out of order)."""
        free = self.free
        for rack, gpus in placement:
            free[rack] -= gpus
        if self._log is not None:
            self._log.append((placement, -1))

    def mark(self) -> int:
        """A point to :meth:`undo` back to; changes from here on are logged."""
        if self._log is None:
            self._log = []
        return len(self._log)

    def undo(self, mark: int | None = None) -> None:
        """Take back every change since ``mark`` (None: the whole trial)."""
        if mark is None:
            self.free[:] = self._saved
            self._log = None
            return
        log = self._log
        if log is None:
            raise ValueError("undo(mark) without a mark")
        free = self.free
        while len(log) > mark:
            placement, sign = log.pop()
            for rack, gpus in placement:
                free[rack] -= sign * gpus
