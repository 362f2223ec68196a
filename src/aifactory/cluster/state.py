"""What is allocated where: free GPUs per rack, rack health, and each running job's placement.

The free map sits on the scheduler's hot path (every start and end changes it, every cycle asks where
a job would fit), so it is kept in plain lists with the totals the cheap tests read (free GPUs, the most
free in one rack) updated incrementally, and an index of the racks by how many GPUs they have free, so
that a best-fit search looks at free counts, not at every rack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aifactory.cluster.topology import Topology

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
    capacity: list[int] = field(init=False)
    used: list[int] = field(init=False)
    free: list[int] = field(init=False)  # capacity − used
    healthy_trays: list[int] = field(init=False)  # trays per rack that work (spares included)
    drained: list[bool] = field(init=False)
    placements: dict[str, Placement] = field(default_factory=dict)
    max_free: int = field(init=False)  # most free GPUs in one rack (kept current: a cheap first test)
    free_gpus: int = field(init=False)  # free GPUs in all racks
    # racks by free GPUs: bit r of _with_free[g] is set when rack r has exactly g > 0 GPUs free
    _with_free: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        racks = self.topology.racks
        gpus = self.topology.rack_gpus
        self.capacity = [gpus] * racks
        self.used = [0] * racks
        self.free = [gpus] * racks
        self.healthy_trays = [self.topology.rack.trays] * racks
        self.drained = [False] * racks
        self._with_free = [0] * (gpus + 1)
        if gpus > 0:
            self._with_free[gpus] = (1 << racks) - 1
        self.max_free = gpus if racks else 0
        self.free_gpus = gpus * racks

    def _set_free(self, rack: int, new: int) -> None:
        """Rack ``rack`` has ``new`` GPUs free: the totals and the index follow."""
        free = self.free
        old = free[rack]
        if old == new:
            return
        with_free = self._with_free
        bit = 1 << rack
        if old > 0:
            with_free[old] ^= bit
            self.free_gpus -= old
        if new > 0:
            with_free[new] |= bit
            self.free_gpus += new
        free[rack] = new
        if new > self.max_free:
            self.max_free = new
        elif old == self.max_free:
            self.max_free = max(free)

    def best_fit(self, gpus: int) -> int | None:
        """The fullest rack with at least ``gpus`` free (ties: the lowest index), or None — the rule
        :func:`~aifactory.scheduler.placement.place` applies to a job that fits one rack."""
        if gpus < 1:
            raise ValueError("a job needs at least one GPU")
        with_free = self._with_free
        for g in range(gpus, self.max_free + 1):
            racks = with_free[g]
            if racks:
                return (racks & -racks).bit_length() - 1
        return None

    def _recompute(self, rack: int) -> None:
        topo = self.topology
        trays = min(topo.schedulable_trays, self.healthy_trays[rack])
        self.capacity[rack] = 0 if self.drained[rack] else trays * topo.rack.gpus_per_tray
        self._set_free(rack, self.capacity[rack] - self.used[rack])

    def allocate(self, job_id: str, placement: Placement) -> None:
        if job_id in self.placements:
            raise ValueError(f"job {job_id} is already placed")
        free = self.free
        for rack, gpus in placement:
            if gpus > free[rack]:
                raise ValueError(f"rack {rack} has {free[rack]} free GPUs, job {job_id} wants {gpus}")
        used = self.used
        for rack, gpus in placement:
            used[rack] += gpus
            self._set_free(rack, free[rack] - gpus)
        self.placements[job_id] = placement

    def release(self, job_id: str) -> Placement:
        placement = self.placements.pop(job_id)
        free, used = self.free, self.used
        for rack, gpus in placement:
            used[rack] -= gpus
            self._set_free(rack, free[rack] + gpus)
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
        the block ends, whatever happens in it. Nothing else may change the state inside the block, and
        only the free map is the trial's (the totals and :meth:`best_fit` describe the state as it is)."""
        return WhatIf(self.free)

    def jobs_on(self, rack: int) -> list[tuple[str, int]]:
        """(job, GPUs on this rack) for the jobs running on ``rack``, in start order."""
        return [(job, g) for job, placement in self.placements.items() for r, g in placement if r == rack]


class WhatIf:
    """Hypothetical releases (and holds) of placements on a free map, undone together when the ``with``
    block ends (or back to a :meth:`mark`) — Kueue's preemption simulation on its snapshot.

    It sits on the scheduler's hot path (every backfill reservation and reclaim asks one), so the whole
    trial is undone by restoring a copy of the free map taken at the start (one list copy, however many
    placements were released), and only changes after a :meth:`mark` are logged for a partial undo."""

    __slots__ = ("_log", "_saved", "free")

    def __init__(self, free: list[int]) -> None:
        self.free = free
        self._saved = list(free)
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
