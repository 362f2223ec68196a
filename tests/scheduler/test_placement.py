"""Topology-aware gang placement."""

from __future__ import annotations

import numpy as np
import pytest

from aifactory.cluster.state import ClusterState
from aifactory.cluster.topology import Topology
from aifactory.scheduler.placement import place, slices, spans_blocks


def free_of(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_a_small_job_goes_to_the_fullest_rack_that_fits() -> None:
    topo = Topology.build(4, block_racks=2)
    assert place(8, free_of(72, 10, 40, 8), topo) == ((3, 8),)
    assert place(9, free_of(72, 10, 40, 8), topo) == ((1, 9),)


def test_a_job_that_fits_one_rack_is_never_split() -> None:
    topo = Topology.build(3)
    # 60 GPUs are free in all, 30 per rack at most: a 40-GPU job must wait
    assert place(40, free_of(30, 30, 0), topo) is None


def test_a_large_gang_takes_balanced_slices_inside_one_block() -> None:
    topo = Topology.build(8, block_racks=4)
    free = free_of(72, 72, 10, 10, 72, 72, 72, 72)
    placement = place(128, free, topo)
    assert placement is not None
    assert sorted(g for _, g in placement) == [64, 64]
    # block 0 has two suitable racks, block 1 four: the tighter block is used
    assert {r for r, _ in placement} == {0, 1}
    assert not spans_blocks(placement, topo)


def test_a_gang_spans_blocks_only_when_no_block_can_hold_it() -> None:
    topo = Topology.build(4, block_racks=2)
    placement = place(144, free_of(72, 0, 72, 0), topo)
    assert placement == ((0, 72), (2, 72))
    assert spans_blocks(placement, topo)


def test_balanced_slices() -> None:
    assert slices(130, 2) == [65, 65]
    assert slices(145, 3) == [49, 48, 48]
    assert sum(slices(1001, 14)) == 1001


def test_nothing_is_placed_when_the_gang_cannot_fit() -> None:
    topo = Topology.build(2)
    assert place(145, free_of(72, 72), topo) is None
    assert place(1, free_of(0, 0), topo) is None


def test_schedulable_trays_limit_a_rack() -> None:
    topo = Topology.build(1, schedulable_trays=16)
    assert topo.rack_gpus == 64
    state = ClusterState(topo)
    assert state.free_gpus == 64
    assert place(65, state.free, topo) is None


def test_allocation_state_never_overcommits_and_drains() -> None:
    state = ClusterState(Topology.build(2))
    state.allocate("a", ((0, 70),))
    with pytest.raises(ValueError, match="rack 0 has 2 free"):
        state.allocate("b", ((0, 3),))
    state.drain(0)
    assert place(1, state.free, state.topology) == ((1, 1),)
    state.release("a")
    state.restore(0)
    assert state.free_gpus == 144
