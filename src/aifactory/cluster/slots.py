"""Which GPUs each running job holds: the GPU *slots* behind a placement's per-rack counts.

A placement says "4 GPUs on rack 3"; an executor needs "GPUs 219–222". Slot ``s`` of rack ``r`` has the
global id ``r × rack.gpus + s`` (ids count every GPU of a rack, spares included: a spare tray's slots are
never handed out). The rule this bookkeeping keeps: **no GPU is ever held by two jobs**, and a slot out
of service (its tray broken) is given to no new job — a job that holds one keeps it until it ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from aifactory.cluster.state import Placement
from aifactory.cluster.topology import Topology


class GpuSlots:
    """Free and held GPU slots per rack; lowest free slots first."""

    def __init__(self, topology: Topology) -> None:
        self.rack_gpus = topology.rack.gpus  # ids count every GPU of a rack; spares' slots stay unused
        self.schedulable = topology.rack_gpus
        self.racks = topology.racks
        self.free: list[set[int]] = [set(range(topology.rack_gpus)) for _ in range(topology.racks)]
        self.blocked: list[set[int]] = [set() for _ in range(topology.racks)]
        self.held: dict[str, list[int]] = {}

    def block_last_trays(self, rack: int, trays: int, gpus_per_tray: int) -> None:
        """The slots of the rack's last ``trays`` schedulable trays are out of service (broken): none
        is given to a new job (one holding a slot keeps it until it ends)."""
        end = self.schedulable
        self.blocked[rack] = set(range(max(end - trays * gpus_per_tray, 0), end))

    def available(self, rack: int) -> int:
        """Slots of ``rack`` a new job could be given now."""
        return len(self.free[rack] - self.blocked[rack])

    def assign(self, job_id: str, placement: Placement) -> list[int]:
        """Give ``job_id`` the lowest available slots its placement asks for, rack by rack (all or
        nothing: when a rack has too few, nothing is taken and ``ValueError`` says which)."""
        if job_id in self.held:
            raise ValueError(f"job {job_id} already holds GPUs")
        chosen: list[tuple[int, list[int]]] = []
        for rack, gpus in placement:
            slots = sorted(self.free[rack] - self.blocked[rack])[:gpus]
            if len(slots) < gpus:
                raise ValueError(f"rack {rack} has {len(slots)} free GPU slots, job {job_id} wants {gpus}")
            chosen.append((rack, slots))
        ids: list[int] = []
        for rack, slots in chosen:
            self.free[rack].difference_update(slots)
            ids += [rack * self.rack_gpus + s for s in slots]
        self.held[job_id] = ids
        return ids

    def adopt(self, job_id: str, ids: Iterable[int]) -> None:
        """A job found running (after a restart) holds these GPUs; refused (``ValueError``, nothing
        taken) if another job holds one of them or an id is not a GPU of this factory."""
        wanted = list(ids)
        if job_id in self.held:
            raise ValueError(f"job {job_id} already holds GPUs")
        for gid in wanted:
            rack, slot = divmod(gid, self.rack_gpus)
            if not 0 <= rack < self.racks or slot >= self.schedulable:
                raise ValueError(f"job {job_id}: GPU {gid} is not a schedulable GPU of this factory")
            if slot not in self.free[rack]:
                holder = next((j for j, held in self.held.items() if gid in held), "another job")
                raise ValueError(f"job {job_id}: GPU {gid} is held by {holder}")
        for gid in wanted:
            rack, slot = divmod(gid, self.rack_gpus)
            self.free[rack].discard(slot)
        self.held[job_id] = wanted

    def release(self, job_id: str) -> None:
        """The job's GPUs are free again (a job holding none: nothing happens)."""
        for gid in self.held.pop(job_id, []):
            rack, slot = divmod(gid, self.rack_gpus)
            self.free[rack].add(slot)
