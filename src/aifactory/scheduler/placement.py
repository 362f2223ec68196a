"""Topology-aware gang placement.

Rules (docs/scheduler.md):

* a job that fits one NVLink domain runs inside one rack — never split;
* small jobs go to the *fullest* rack that still fits them (best fit), so that whole racks stay free
  for large gangs;
* a job larger than a rack takes ``k = ⌈gpus / rack⌉`` racks with balanced slices, all inside one
  scale-out block when any block can hold it (the block with the fewest suitable racks, to keep
  roomier blocks for larger gangs); only when no block can does it span blocks.

All-or-nothing: a placement is returned only if the whole gang fits now.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from aifactory.cluster.state import Placement
from aifactory.cluster.topology import Topology


def slices(gpus: int, racks: int) -> list[int]:
    """Balanced per-rack shares of a gang over ``racks`` racks (largest first)."""
    base, extra = divmod(gpus, racks)
    return [base + 1] * extra + [base] * (racks - extra)


def racks_needed(gpus: int, topology: Topology) -> int:
    return -(-gpus // topology.rack_gpus)


def place(gpus: int, free: Sequence[int] | npt.NDArray[np.int64], topology: Topology) -> Placement | None:
    """Where a gang of ``gpus`` can start now on the free map ``free`` (GPUs free per rack), or
    ``None``. (:meth:`ClusterState.best_fit` answers the one-rack case from its index.)"""
    if gpus <= topology.rack_gpus:
        # best fit: the fullest rack that fits (ties: lowest index)
        if isinstance(free, np.ndarray):  # a trial's array (many racks): vectorised
            fits = free >= gpus
            if not fits.any():
                return None
            return ((int(np.argmin(np.where(fits, free, np.iinfo(np.int64).max))), gpus),)
        best, best_free = -1, 1 << 62
        for rack, f in enumerate(free):
            if gpus <= f < best_free:
                best, best_free = rack, f
                if f == gpus:
                    break  # nothing fits tighter
        return ((best, gpus),) if best >= 0 else None
    k = racks_needed(gpus, topology)
    if k > topology.racks:
        return None
    return _place_gang(gpus, k, np.asarray(free, dtype=np.int64), topology)  # no copy of an array


def _place_gang(gpus: int, k: int, free: npt.NDArray[np.int64], topology: Topology) -> Placement | None:
    shares = slices(gpus, k)
    need = shares[0]
    suitable = np.flatnonzero(free >= need)
    if len(suitable) < k:
        return None
    blocks = suitable // topology.block_racks
    counts = np.bincount(blocks, minlength=topology.blocks)
    fitting = np.flatnonzero(counts >= k)
    if len(fitting):
        block = int(fitting[np.argmin(counts[fitting])])
        chosen = suitable[blocks == block]
    else:
        chosen = suitable
    # within the candidates, the fullest racks first (pack), stable by index
    order = np.argsort(free[chosen], kind="stable")[:k]
    racks = sorted(int(r) for r in chosen[order])
    return tuple((rack, share) for rack, share in zip(racks, shares, strict=True))


def spans_blocks(placement: Placement, topology: Topology) -> bool:
    return len({topology.block_of(rack) for rack, _ in placement}) > 1


def largest_placeable(free: Sequence[int], topology: Topology) -> int:
    """The largest gang that could start now (for explanations): one rack's free GPUs, or a balanced
    gang over ``k`` racks — which it only uses when it needs more than ``k − 1`` racks' worth."""
    best = max(0, *free) if len(free) else 0
    rack = topology.rack_gpus
    ordered = sorted(free, reverse=True)
    for k in range(2, len(ordered) + 1):
        gang = k * int(ordered[k - 1])  # k racks with at least this much free each
        if gang > (k - 1) * rack:
            best = max(best, gang)
    return best
