"""The cluster state's incremental totals and rack index agree with the free map after any sequence of
allocations, releases, drains and tray failures: free GPUs, the most free in one rack, and best fit (the
fullest rack that fits, lowest index on ties) as a plain scan of the free map finds them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.cluster.state import ClusterState
from aifactory.cluster.topology import Topology
from aifactory.scheduler.placement import place

RACKS = 5
TOPO = Topology.build(RACKS, rack_gpus=16)  # 4 trays of 4 GPUs; the type's spare trays make shrinking racks

actions = st.lists(
    st.one_of(
        st.tuples(st.just("allocate"), st.integers(0, RACKS - 1), st.integers(1, 16)),
        st.tuples(st.just("release"), st.integers(0, 50), st.just(0)),
        st.tuples(st.just("drain"), st.integers(0, RACKS - 1), st.just(0)),
        st.tuples(st.just("restore"), st.integers(0, RACKS - 1), st.just(0)),
        st.tuples(st.just("fail"), st.integers(0, RACKS - 1), st.just(0)),
        st.tuples(st.just("repair"), st.integers(0, RACKS - 1), st.just(0)),
    ),
    max_size=60,
)


def _scan_best_fit(free: list[int], gpus: int) -> int | None:
    fitting = [(f, rack) for rack, f in enumerate(free) if f >= gpus]
    return min(fitting)[1] if fitting else None


@settings(max_examples=200)
@given(actions=actions)
def test_totals_and_best_fit_follow_the_free_map(actions: list[tuple[str, int, int]]) -> None:
    state = ClusterState(TOPO)
    jobs: list[str] = []
    for n, (what, a, b) in enumerate(actions):
        if what == "allocate" and state.free[a] >= b:
            state.allocate(f"j{n}", ((a, b),))
            jobs.append(f"j{n}")
        elif what == "release" and jobs:
            state.release(jobs.pop(a % len(jobs)))
        elif what == "drain":
            state.drain(a)
        elif what == "restore":
            state.restore(a)
        elif what == "fail" and state.healthy_trays[a] > 0:
            state.fail_tray(a)
        elif what == "repair" and state.healthy_trays[a] < TOPO.rack.trays:
            state.repair_tray(a)
        free = list(state.free)
        assert free == [c - u for c, u in zip(state.capacity, state.used, strict=True)]
        assert state.free_gpus == sum(max(f, 0) for f in free)
        assert state.max_free == max(free)
        for gpus in range(1, TOPO.rack_gpus + 1):
            expected = _scan_best_fit(free, gpus)
            assert state.best_fit(gpus) == expected
            assert place(gpus, free, TOPO) == (None if expected is None else ((expected, gpus),))
