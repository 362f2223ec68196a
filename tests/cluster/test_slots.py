"""GPU slots: never two jobs on one GPU, broken trays' slots go to no new job, a refused request takes
nothing — under random sequences of starts, ends, adoptions and tray failures, alone and driven by the
scheduler's own placements."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.cluster.slots import GpuSlots
from aifactory.cluster.topology import Topology
from aifactory.scheduler.core import Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy

TOPO = Topology.build(3, rack_gpus=8)  # 2 trays of 4 GPUs per rack


def check(slots: GpuSlots) -> None:
    """Every schedulable slot is free or held by exactly one job."""
    held = [gid for ids in slots.held.values() for gid in ids]
    assert len(held) == len(set(held)), "a GPU is held by two jobs"
    for rack in range(TOPO.racks):
        mine = {gid % slots.rack_gpus for gid in held if gid // slots.rack_gpus == rack}
        assert not mine & slots.free[rack]
        assert mine | slots.free[rack] == set(range(TOPO.rack_gpus))


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("assign"),
            st.lists(
                st.tuples(st.integers(0, 2), st.integers(1, 8)),
                min_size=1,
                max_size=3,
                unique_by=lambda p: p[0],
            ),
        ),
        st.tuples(st.just("adopt"), st.lists(st.integers(0, 3 * 8 - 1), max_size=4, unique=True)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("block"), st.tuples(st.integers(0, 2), st.integers(0, 2))),
    ),
    max_size=40,
)


@given(ops=ops)
def test_no_gpu_is_ever_held_by_two_jobs(ops: list[tuple[str, object]]) -> None:
    slots = GpuSlots(TOPO)
    for n, (op, arg) in enumerate(ops):
        job = f"j{n}"
        before = ([set(f) for f in slots.free], dict(slots.held))
        if op == "assign":
            try:
                ids = slots.assign(job, tuple(arg))  # type: ignore[arg-type]
            except ValueError:
                assert ([set(f) for f in slots.free], dict(slots.held)) == before  # nothing taken
            else:
                assert len(ids) == sum(g for _, g in arg)  # type: ignore[attr-defined]
                assert not any(gid % 8 in slots.blocked[gid // 8] for gid in ids)  # no broken tray's GPU
        elif op == "adopt":
            taken = {gid for held in slots.held.values() for gid in held}
            if taken & set(arg):  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="is held by"):
                    slots.adopt(job, arg)  # type: ignore[arg-type]
                assert ([set(f) for f in slots.free], dict(slots.held)) == before
            else:
                slots.adopt(job, arg)  # type: ignore[arg-type]
        elif op == "release":
            slots.release(f"j{arg}")
        else:
            rack, trays = arg  # type: ignore[misc]
            slots.block_last_trays(rack, trays, 4)
        check(slots)


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(
        st.one_of(
            st.tuples(st.just("submit"), st.integers(1, 20)),
            st.tuples(st.just("finish"), st.integers(0, 30)),
            st.tuples(st.just("trays"), st.tuples(st.integers(0, 2), st.integers(0, 2))),
        ),
        max_size=40,
    )
)
def test_every_placement_the_scheduler_makes_gets_its_slots(events: list[tuple[str, object]]) -> None:
    """As the service's worker drives them: a broken tray shrinks the rack in the scheduler and blocks
    its slots; whatever the scheduler starts can always be given distinct, working GPUs."""
    s = Scheduler(TOPO, policy_named("fairshare"), Tenancy({"a": 1, "b": 1}, TOPO.gpus))
    slots = GpuSlots(TOPO)
    now = 0.0
    for n, (op, arg) in enumerate(events):
        now += 1.0
        if op == "submit":
            s.submit(Job(f"j{n}", "ab"[n % 2], arg, now, 1e6))  # type: ignore[arg-type]
        elif op == "finish":
            running = sorted(s.running)
            if running:
                victim = running[arg % len(running)]  # type: ignore[operator]
                s.finish(victim, now)
                slots.release(victim)
        else:
            rack, broken = arg  # type: ignore[misc]
            s.set_rack(rack, drained=False, healthy_trays=TOPO.rack.trays - broken)
            slots.block_last_trays(rack, broken, TOPO.rack.gpus_per_tray)
        result = s.cycle(now)
        for victim in result.preempted:
            slots.release(victim)
        for start in result.starts:
            slots.assign(start.job.id, start.placement)  # never refused
        check(slots)
        assert set(slots.held) == set(s.running)
