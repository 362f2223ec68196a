"""The event kernel: events in order of time, then priority, then scheduling order; ``run(until)``
processes what is due at ``until`` and leaves the clock there; the past is refused; kernels share nothing.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.sim import LATE, NORMAL, URGENT, Kernel


def recorder(kernel: Kernel, seen: list[tuple[float, object]]):  # type: ignore[no-untyped-def]
    """A handler that notes (the kernel's time, its argument)."""
    return lambda arg: seen.append((kernel.now, arg))


def test_events_run_in_order_of_time() -> None:
    k = Kernel()
    seen: list[tuple[float, object]] = []
    note = recorder(k, seen)
    for t in (5.0, 1.0, 3.0, 2.0, 4.0):
        k.at(t, note, t)
    assert k.run(until=10.0) == 5
    assert seen == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0), (5.0, 5.0)]


def test_same_time_runs_by_priority_then_scheduling_order() -> None:
    k = Kernel()
    seen: list[tuple[float, object]] = []
    note = recorder(k, seen)
    k.at(1.0, note, "late-1", priority=LATE)
    k.at(1.0, note, "normal-1")
    k.at(1.0, note, "urgent-1", priority=URGENT)
    k.at(1.0, note, "normal-2", priority=NORMAL)
    k.at(1.0, note, "late-2", priority=LATE)
    k.at(1.0, note, "urgent-2", priority=URGENT)
    k.at(0.5, note, "earlier, late", priority=LATE)
    k.run(until=1.0)
    assert [a for _, a in seen] == [
        "earlier, late",
        "urgent-1",
        "urgent-2",
        "normal-1",
        "normal-2",
        "late-1",
        "late-2",
    ]


def test_priorities_are_ordered() -> None:
    assert URGENT < NORMAL < LATE


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5).map(float), st.sampled_from([URGENT, NORMAL, LATE])),
        min_size=1,
        max_size=40,
    )
)
def test_order_is_time_priority_sequence(events: list[tuple[float, int]]) -> None:
    k = Kernel()
    seen: list[int] = []
    for i, (t, prio) in enumerate(events):
        k.at(t, seen.append, i, priority=prio)
    assert k.run(until=10.0) == len(events)
    expected = sorted(range(len(events)), key=lambda i: (events[i][0], events[i][1], i))
    assert seen == expected


def test_after_is_relative_to_now_and_handlers_see_their_time() -> None:
    k = Kernel(start=2.0)
    seen: list[tuple[float, object]] = []
    note = recorder(k, seen)

    def chain(n: object) -> None:
        note(n)
        assert isinstance(n, int)
        if n < 3:
            k.after(1.5, chain, n + 1)

    k.after(0.5, chain, 0)
    k.run(until=100.0)
    assert seen == [(2.5, 0), (4.0, 1), (5.5, 2), (7.0, 3)]


def test_run_processes_events_at_until_and_sets_now() -> None:
    k = Kernel()
    seen: list[tuple[float, object]] = []
    note = recorder(k, seen)
    k.at(3.0, note, "at until")
    k.at(3.0 + 1e-9, note, "just after")
    assert k.run(until=3.0) == 1
    assert seen == [(3.0, "at until")]
    assert k.now == 3.0
    assert k.peek() == pytest.approx(3.0 + 1e-9)
    assert k.run(until=7.5) == 1
    assert k.now == 7.5  # the clock goes to until even with no event there
    assert k.peek() == math.inf


def test_events_scheduled_at_until_by_a_handler_are_processed() -> None:
    k = Kernel()
    seen: list[tuple[float, object]] = []
    note = recorder(k, seen)
    k.at(1.0, lambda _: k.at(2.0, note, "scheduled during the run"))
    k.at(1.0, lambda _: k.after(0.0, note, "zero delay"))
    assert k.run(until=2.0) == 4
    assert seen == [(1.0, "zero delay"), (2.0, "scheduled during the run")]


def test_run_counts_events_over_calls() -> None:
    k = Kernel()
    for t in range(10):
        k.at(float(t), lambda _: None)
    assert k.processed == 0
    assert k.run(until=4.0) == 5  # 0, 1, 2, 3, 4
    assert k.processed == 5
    k.step()
    assert k.now == 5.0
    assert k.processed == 6
    assert k.run(until=100.0) == 4
    assert k.processed == 10
    assert k.run(until=200.0) == 0
    assert k.processed == 10


def test_scheduling_in_the_past_is_refused() -> None:
    k = Kernel()
    k.run(until=5.0)
    with pytest.raises(ValueError, match="before now"):
        k.at(4.999, print)
    with pytest.raises(ValueError, match="before now"):
        k.run(until=4.0)
    k.at(5.0, print)  # now itself is allowed
    assert len(k.heap) == 1


def test_a_handler_cannot_schedule_before_its_own_time() -> None:
    k = Kernel()
    errors: list[Exception] = []

    def back_in_time(_: object) -> None:
        try:
            k.at(k.now - 1.0, print)
        except ValueError as exc:
            errors.append(exc)

    k.at(3.0, back_in_time)
    k.run(until=10.0)
    assert len(errors) == 1
    assert k.heap == []


def test_independent_kernels_side_by_side() -> None:
    a, b = Kernel(), Kernel(start=100.0)
    seen_a: list[tuple[float, object]] = []
    seen_b: list[tuple[float, object]] = []
    a.at(1.0, recorder(a, seen_a), "a1")
    b.at(101.0, recorder(b, seen_b), "b1")
    a.at(2.0, recorder(a, seen_a), "a2")
    assert a.run(until=1.5) == 1
    assert b.now == 100.0 and b.processed == 0 and len(b.heap) == 1
    assert b.run(until=200.0) == 1
    assert a.now == 1.5 and len(a.heap) == 1
    assert a.run(until=3.0) == 1
    assert seen_a == [(1.0, "a1"), (2.0, "a2")]
    assert seen_b == [(101.0, "b1")]
    assert (a.processed, b.processed) == (2, 1)


def test_interleaved_kernels_give_the_same_sequence_as_alone() -> None:
    def program(k: Kernel, seen: list[float]) -> None:
        def tick(n: object) -> None:
            seen.append(k.now)
            assert isinstance(n, int)
            if n:
                k.after(0.25 * n, tick, n - 1)

        k.at(0.0, tick, 6)

    alone_k = Kernel()
    alone: list[float] = []
    program(alone_k, alone)
    alone_k.run(until=50.0)
    k1, k2 = Kernel(), Kernel()
    s1: list[float] = []
    s2: list[float] = []
    program(k1, s1)
    program(k2, s2)
    for until in (0.5, 1.0, 2.0, 3.0, 50.0):  # step the two in turns
        k1.run(until)
        k2.run(until)
    assert s1 == alone and s2 == alone
