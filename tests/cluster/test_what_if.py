"""A what-if trial on the free map: its releases and holds stand inside the block, are undone to a mark
or in full, and leave the state exactly as it was — also when the block raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aifactory.cluster.state import ClusterState
from aifactory.cluster.topology import Topology

RACKS = 4
placements = st.lists(
    st.tuples(st.integers(0, RACKS - 1), st.integers(1, 8)), min_size=1, max_size=3, unique_by=lambda p: p[0]
).map(tuple)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("release"), placements),
        st.tuples(st.just("hold"), placements),
        st.tuples(st.just("mark"), st.none()),
        st.tuples(st.just("undo"), st.none()),
    ),
    max_size=30,
)


@given(steps=steps)
def test_a_trial_is_undone_to_its_marks_and_in_full(steps: list[tuple[str, object]]) -> None:
    state = ClusterState(Topology.build(RACKS, rack_gpus=8))
    state.allocate("x", ((0, 5), (1, 8)))
    before = list(state.free)
    with state.what_if() as trial:
        model = list(before)  # what the free map should be, kept by hand
        marks: list[tuple[int, list[int]]] = []
        for op, arg in steps:
            if op in ("release", "hold"):
                sign = 1 if op == "release" else -1
                for rack, gpus in arg:  # type: ignore[attr-defined]
                    model[rack] += sign * gpus
                getattr(trial, op)(arg)
            elif op == "mark":
                marks.append((trial.mark(), list(model)))
            elif marks:
                mark, model = marks.pop()
                trial.undo(mark)
            assert list(trial.free) == model
    assert list(state.free) == before
    assert state.free_gpus == sum(max(f, 0) for f in before)


def test_a_trial_that_raises_is_undone() -> None:
    state = ClusterState(Topology.build(2, rack_gpus=8))
    state.allocate("x", ((0, 8),))
    with pytest.raises(RuntimeError), state.what_if() as trial:
        trial.release(state.placements["x"])
        assert list(state.free) == [8, 8]  # the trial works on the live map …
        raise RuntimeError
    assert list(state.free) == [0, 8]  # … and leaves it as it was
