"""Allocation lifecycle, burn-down and budgets, with answers worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aifactory.market import (
    Allocation,
    AllocationState,
    MarketError,
    apply_burn,
    budget_status,
    burn,
    expire,
    expire_due,
    remaining,
    request,
    review,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def granted(project: str, hours: float, start: float, end: float, used: float = 0.0) -> Allocation:
    """An approved allocation of ``hours`` GPU-hours over [h(start), h(end)), ``used`` already burned."""
    return Allocation(
        project=project,
        gpu_hours_requested=hours,
        gpu_hours_granted=hours,
        start=h(start),
        end=h(end),
        state=AllocationState.APPROVED,
        used=used,
    )


# --- request -------------------------------------------------------------------------------------------


def test_request_is_requested() -> None:
    a = request("p1", 100.0, h(0), h(24))
    assert a.state is AllocationState.REQUESTED
    assert a.gpu_hours_granted is None and a.used == 0.0
    assert remaining(a) == 0.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("p1", 0.0, h(0), h(1)), "gpu_hours"),
        (("p1", -5.0, h(0), h(1)), "gpu_hours"),
        (("p1", float("nan"), h(0), h(1)), "gpu_hours"),
        (("p1", 10.0, h(1), h(1)), "end"),
        (("p1", 10.0, h(2), h(1)), "end"),
        (("", 10.0, h(0), h(1)), "project"),
        (("p1", 10.0, datetime(2026, 1, 1), h(1)), "start"),
    ],
)
def test_request_validation(args: tuple[str, float, datetime, datetime], field: str) -> None:
    with pytest.raises(MarketError, match=rf"^{field}: "):
        request(*args)


# --- review --------------------------------------------------------------------------------------------


def test_approve_grants_as_requested() -> None:
    a = review(request("p1", 100.0, h(0), h(24)), "approve", now=h(-1))
    assert a.state is AllocationState.APPROVED
    assert a.gpu_hours_granted == 100.0 and (a.start, a.end) == (h(0), h(24))
    assert remaining(a) == 100.0


def test_amend_changes_hours_and_period() -> None:
    a = review(request("p1", 100.0, h(0), h(24)), "amend", now=h(-1), gpu_hours=60.0, end=h(48))
    assert a.state is AllocationState.APPROVED
    assert (a.gpu_hours_requested, a.gpu_hours_granted) == (100.0, 60.0)
    assert (a.start, a.end) == (h(0), h(48))


def test_amend_must_change_something() -> None:
    r = request("p1", 100.0, h(0), h(24))
    with pytest.raises(MarketError, match=r"^decision: amend must change"):
        review(r, "amend", now=h(-1))
    with pytest.raises(MarketError, match=r"^decision: amend must change"):
        review(r, "amend", now=h(-1), gpu_hours=100.0, start=h(0))


def test_amend_validates_new_values() -> None:
    r = request("p1", 100.0, h(0), h(24))
    with pytest.raises(MarketError, match=r"^end: must be after start"):
        review(r, "amend", now=h(-1), start=h(30))
    with pytest.raises(MarketError, match=r"^gpu_hours: must be > 0"):
        review(r, "amend", now=h(-1), gpu_hours=0.0)


def test_approve_refuses_changes_and_reject_refuses_arguments() -> None:
    r = request("p1", 100.0, h(0), h(24))
    with pytest.raises(MarketError, match=r"^gpu_hours: approve grants as requested"):
        review(r, "approve", now=h(-1), gpu_hours=50.0)
    with pytest.raises(MarketError, match=r"^end: not allowed when rejecting"):
        review(r, "reject", now=h(-1), end=h(5))
    rejected = review(r, "reject", now=h(-1))
    assert rejected.state is AllocationState.REJECTED and rejected.gpu_hours_granted is None


def test_only_requested_can_be_reviewed() -> None:
    approved = review(request("p1", 100.0, h(0), h(24)), "approve", now=h(-1))
    for decision in ("approve", "amend", "reject"):
        with pytest.raises(MarketError, match=r"^state: the allocation is \w+; only a requested allocation"):
            review(approved, decision, now=h(-1), gpu_hours=5.0 if decision == "amend" else None)


def test_unknown_decision_lists_valid_ones() -> None:
    with pytest.raises(MarketError, match=r"^decision: 'grant' is not one of approve, amend, reject"):
        review(request("p1", 1.0, h(0), h(1)), "grant", now=h(0))


def test_cannot_grant_a_period_already_over() -> None:
    r = request("p1", 100.0, h(0), h(24))
    with pytest.raises(MarketError, match=r"^end: the period ended"):
        review(r, "approve", now=h(24))
    assert review(r, "amend", now=h(24), end=h(48)).end == h(48)


# --- expire --------------------------------------------------------------------------------------------


def test_expire_only_once_the_period_is_over() -> None:
    a = review(request("p1", 100.0, h(0), h(24)), "approve", now=h(0))
    with pytest.raises(MarketError, match=r"^end: the period runs until"):
        expire(a, now=h(23))
    e = expire(a, now=h(24))
    assert e.state is AllocationState.EXPIRED and e.gpu_hours_granted == 100.0
    with pytest.raises(MarketError, match=r"^state: the allocation is expired and cannot expire"):
        expire(e, now=h(30))
    rejected = review(request("p1", 1.0, h(0), h(1)), "reject", now=h(0))
    with pytest.raises(MarketError, match=r"^state: the allocation is rejected"):
        expire(rejected, now=h(30))


def test_expire_due_sweeps() -> None:
    allocs = [
        review(request("p1", 10.0, h(0), h(10)), "approve", now=h(0)),
        review(request("p1", 10.0, h(0), h(30)), "approve", now=h(0)),
        request("p1", 10.0, h(0), h(5)),
    ]
    states = [a.state for a in expire_due(allocs, now=h(20))]
    assert states == [AllocationState.EXPIRED, AllocationState.APPROVED, AllocationState.EXPIRED]


# --- burn ----------------------------------------------------------------------------------------------


def test_segment_half_inside_the_period_burns_half() -> None:
    # 10 GPUs for 3 hours = 30 GPU-hours; the allocation covers the last 1.5 h of it: 15 GPU-hours.
    allocs = [granted("p1", 1000.0, 1.5, 24)]
    result = burn(allocs, "p1", h(0), h(3), gpus=10)
    assert result.charges == ((0, 15.0),)
    assert result.uncovered == 15.0 and result.overdrawn == 0.0 and result.total == 30.0


def test_overlapping_allocations_burn_the_one_ending_first() -> None:
    # A: [0, 10), B: [2, 5) both cover [2, 4). 4 GPUs over [0, 4): [0, 2) only A (8), [2, 4) B first (8).
    allocs = [granted("p1", 100.0, 0, 10), granted("p1", 100.0, 2, 5)]
    result = burn(allocs, "p1", h(0), h(4), gpus=4)
    assert dict(result.charges) == {0: 8.0, 1: 8.0}
    assert result.uncovered == 0.0


def test_exhausted_allocation_spills_to_the_next_then_overdraws() -> None:
    # B (ends first) has 3 GPU-hours left, A has 5. 4 GPUs over [2, 4) need 8: B 3, A 5, 0 over.
    # Then another 4 GPU-hours: nothing left, all overdrawn (and uncovered).
    allocs = [granted("p1", 10.0, 0, 10, used=5.0), granted("p1", 10.0, 2, 5, used=7.0)]
    first = burn(allocs, "p1", h(2), h(4), gpus=4)
    assert dict(first.charges) == {1: 3.0, 0: 5.0} and first.uncovered == 0.0
    after = apply_burn(allocs, first)
    assert [remaining(a) for a in after] == [0.0, 0.0]
    second = burn(after, "p1", h(4), h(5), gpus=4)
    assert second.charges == () and second.uncovered == 4.0 and second.overdrawn == 4.0


def test_burn_ignores_other_projects_requests_and_rejected() -> None:
    allocs = [
        granted("p2", 100.0, 0, 10),
        request("p1", 100.0, h(0), h(10)),
        review(request("p1", 100.0, h(0), h(10)), "reject", now=h(0)),
    ]
    result = burn(allocs, "p1", h(0), h(1), gpus=2)
    assert result.charges == () and result.uncovered == 2.0 and result.overdrawn == 0.0


def test_burn_still_charges_an_allocation_expired_since() -> None:
    a = expire(granted("p1", 100.0, 0, 10), now=h(12))
    assert burn([a], "p1", h(8), h(12), gpus=1).charges == ((0, 2.0),)


def test_budget_status_over_active_allocations() -> None:
    allocs = [
        granted("p1", 100.0, 0, 10, used=30.0),
        granted("p1", 50.0, 5, 20, used=10.0),
        granted("p1", 70.0, 10, 20),  # not yet started at t=6
        granted("p2", 500.0, 0, 20),
    ]
    s = budget_status(allocs, "p1", now=h(6))
    assert (s.granted, s.used, s.remaining, s.active) == (150.0, 40.0, 110.0, 2)
    assert budget_status(allocs, "p1", now=h(25)).active == 0


# --- properties ----------------------------------------------------------------------------------------

periods = st.tuples(st.integers(0, 40), st.integers(1, 20), st.floats(0.0, 200.0))


@given(
    allocs=st.lists(periods, max_size=5),
    seg=st.tuples(st.integers(0, 50), st.integers(1, 30)),
    gpus=st.integers(0, 72),
)
def test_burn_conserves_gpu_hours(
    allocs: list[tuple[int, int, float]], seg: tuple[int, int], gpus: int
) -> None:
    allocations = [
        Allocation(
            project="p1",
            gpu_hours_requested=1.0,
            gpu_hours_granted=1.0 + g,
            start=h(s),
            end=h(s + d),
            state=AllocationState.APPROVED,
            used=g / 2,
        )
        for s, d, g in allocs
    ]
    start, length = seg
    result = burn(allocations, "p1", h(start), h(start + length), gpus)
    assert result.total == pytest.approx(gpus * length)
    assert result.burned + result.uncovered == pytest.approx(result.total, abs=1e-9)
    assert 0.0 <= result.overdrawn <= result.uncovered + 1e-9
    segment_hours = set(range(start, start + length))
    for i, hours in result.charges:
        s, d, g = allocs[i]
        assert 0.0 < hours <= (1.0 + g) - g / 2 + 1e-9  # what is left of it: granted 1 + g, used g / 2
        # whole hours both the allocation and the segment cover, counted one by one (all ends are on the
        # hour): it is charged at most that many hours of the segment's GPUs
        shared = len(segment_hours & set(range(s, s + d)))
        assert hours <= gpus * shared + 1e-9
