"""Replay invariants on a sample of the Philly trace and on random small traces (every policy):
every job completes, no rack is ever over-allocated, a job that fits one rack is never split, and a
gang starts all its GPUs at the same instant."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import ReplayResult, replay
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import POLICIES
from aifactory.scheduler.tenancy import Tenancy
from data_paths import philly_path


def check_invariants(
    result: ReplayResult, jobs: list[Job], most: Callable[[str], float] = lambda tenant: math.inf
) -> None:
    """``most(tenant)``: the most GPUs the tenant may ever hold under its limits, worked out by the caller
    (no limit by default)."""
    topo = result.topology
    rejected = {job.id for job, _ in result.rejected}
    for job in jobs:  # rejected exactly when bigger than the factory or than its limits allow
        too_big = job.gpus > topo.gpus or job.gpus > most(job.tenant) + 1e-6
        assert (job.id in rejected) == too_big, (job, most(job.tenant))
    runnable = [j for j in jobs if j.id not in rejected]
    assert len(result.records) == len(runnable)
    for rec in result.records.values():
        assert rec.end >= rec.first_start >= rec.job.submit  # completed, never before submission
    by_segment: dict[tuple[str, int], list[tuple[float, float, int, int]]] = defaultdict(list)
    for seg in result.segments:
        assert seg.end >= seg.start
        by_segment[(seg.job_id, seg.segment)].append((seg.start, seg.end, seg.rack, seg.gpus))
    work: dict[str, float] = defaultdict(float)
    for (job_id, _), rows in by_segment.items():
        job = result.records[job_id].job
        assert sum(g for *_, g in rows) == job.gpus  # the whole gang …
        assert len({start for start, *_ in rows}) == 1  # … starts at one instant
        assert len({end for _, end, *_ in rows}) == 1
        if job.gpus <= topo.rack_gpus:
            assert len(rows) == 1  # fits one NVLink domain: never split
        work[job_id] += rows[0][1] - rows[0][0]
    for job_id, rec in result.records.items():
        assert work[job_id] - rec.lost_s == pytest.approx(rec.job.duration, abs=1e-6)  # work done once
    # sweep: GPUs held on each rack never exceed its schedulable GPUs
    events: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for seg in result.segments:
        events[seg.rack] += [(seg.start, seg.gpus), (seg.end, -seg.gpus)]
    for rack_events in events.values():
        held = 0
        for _, delta in sorted(rack_events, key=lambda e: (e[0], e[1])):  # releases before starts
            held += delta
            assert held <= topo.rack_gpus


@pytest.fixture(scope="module")
def philly_sample() -> list[Job]:
    from aifactory.replay.trace import load_trace

    return load_trace(philly_path()).jobs[:4000]


@pytest.mark.parametrize("policy", list(POLICIES))
def test_philly_sample_on_six_racks(philly_sample: list[Job], policy: str) -> None:
    topo = Topology.build(6)
    tenancy = Tenancy.equal(sorted({j.tenant for j in philly_sample}), topo.gpus)
    result = replay(philly_sample, topo, policy, tenancy)
    check_invariants(result, philly_sample)


jobs_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([1, 1, 1, 2, 4, 8, 12, 16, 24, 40]),
        st.integers(0, 200),  # submit
        st.integers(1, 300),  # duration
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(jobs=jobs_strategy, policy=st.sampled_from(list(POLICIES)), racks=st.integers(1, 3))
def test_random_traces_keep_the_invariants(
    jobs: list[tuple[str, int, int, int]], policy: str, racks: int
) -> None:
    trace = sorted(
        (Job(f"j{i}", t, g, float(s), float(d)) for i, (t, g, s, d) in enumerate(jobs)),
        key=lambda j: j.submit,
    )
    topo = Topology.build(racks, rack_gpus=16, block_racks=2)
    result = replay(trace, topo, policy, Tenancy({"a": 1, "b": 2, "c": 1}, topo.gpus))
    check_invariants(result, trace)
    assert {job.id for job, _ in result.rejected} == {j.id for j in trace if j.gpus > topo.gpus}


@settings(max_examples=40, deadline=None)
@given(
    jobs=jobs_strategy,
    policy=st.sampled_from(list(POLICIES)),
    racks=st.integers(1, 3),
    quota=st.sampled_from([None, 4.0, 40.0]),
    borrow=st.sampled_from([None, 0.0, 6.0]),
    lend=st.sampled_from([None, 0.0, 8.0]),
)
# and, whatever hypothesis draws, jobs just above and below each limit (see council_most): on 16 GPUs
# b (own 64/9) may borrow 6: 12 GPUs pass, 16 do not; on 48 GPUs c keeps all of its 16, so a and b may
# hold at most 32 (a's 40 is refused, c's is not); with a quota of 4, b owns 28 and may borrow nothing
@example(
    jobs=[("b", 16, 0, 10), ("b", 12, 0, 10), ("a", 16, 0, 10)],
    policy="quota", racks=1, quota=None, borrow=6.0, lend=None,
)  # fmt: skip
@example(
    jobs=[("a", 40, 0, 10), ("c", 40, 0, 10), ("b", 24, 5, 10)],
    policy="fairshare", racks=3, quota=None, borrow=None, lend=0.0,
)  # fmt: skip
@example(
    jobs=[("b", 40, 0, 10), ("b", 24, 0, 10), ("a", 40, 5, 10)],
    policy="backfill", racks=3, quota=4.0, borrow=0.0, lend=8.0,
)  # fmt: skip
def test_random_traces_under_a_council_tree_keep_the_invariants(
    jobs: list[tuple[str, int, int, int]],
    policy: str,
    racks: int,
    quota: float | None,
    borrow: float | None,
    lend: float | None,
) -> None:
    # a and b are projects of one programme (a maybe with a GPU quota, b maybe with a borrowing
    # limit), c a programme of its own that may lend only part of its unused share
    from aifactory.scheduler.council import Council, Programme, Project

    council = Council(
        {
            "P": Programme(2, {"a": Project(quota_gpus=quota), "b": Project(2, borrowing_limit_gpus=borrow)}),
            "c": Programme(1, lending_limit_gpus=lend),
        }
    )
    trace = sorted(
        (Job(f"j{i}", t, g, float(s), float(d)) for i, (t, g, s, d) in enumerate(jobs)),
        key=lambda j: j.submit,
    )
    topo = Topology.build(racks, rack_gpus=16, block_racks=2)
    result = replay(trace, topo, policy, Tenancy.of(council, topo.gpus))
    check_invariants(result, trace, lambda tenant: council_most(tenant, topo.gpus, quota, borrow, lend))


def council_most(
    tenant: str, total: int, quota: float | None, borrow: float | None, lend: float | None
) -> float:
    """The most GPUs a tenant of that council may ever hold, by hand from docs/scheduler.md (Limits).

    P (share 2 of 3) gets 2/3 of the GPUs: a takes its quota (at most P's part) — or, without one, 1/3 of
    P's part by weight (1 against b's 2) — and b the rest; b may borrow ``borrow`` above its own. c gets
    1/3 and lends at most ``lend`` of it while unused, so a and b can never use the other 1/3 − ``lend``
    GPUs (beyond their own); c itself is limited by nothing."""
    p_part, c_part = 2 * total / 3, total / 3
    own_a = p_part / 3 if quota is None else min(quota, p_part)
    own = {"a": own_a, "b": p_part - own_a}
    if tenant == "c":
        return math.inf
    most = math.inf
    if tenant == "b" and borrow is not None:
        most = own["b"] + borrow
    kept = c_part - lend if lend is not None else 0.0
    if kept > 0:
        most = min(most, max(own[tenant], total - kept))
    return most


def test_council_most_by_hand() -> None:
    # 48 GPUs: P 32, c 16. No quota: a 32/3, b 64/3; b may borrow 6: 64/3 + 6. c lends 8 of 16: a and b
    # never use the 8 it keeps, so at most 40 (a), min(64/3 + 6, 40) (b)
    assert council_most("a", 48, None, 6.0, 8.0) == pytest.approx(40.0)
    assert council_most("b", 48, None, 6.0, 8.0) == pytest.approx(64 / 3 + 6)
    assert council_most("c", 48, None, 6.0, 8.0) == math.inf
    # a quota of 40 above P's 32 is cut to 32, leaving b nothing of its own: b may hold its 6 borrowed
    assert council_most("b", 48, 40.0, 6.0, None) == pytest.approx(6.0)
    assert council_most("a", 48, 40.0, None, None) == math.inf


def test_a_lending_limit_never_lets_borrowers_into_the_kept_gpus() -> None:
    # c keeps its whole unused share (lends 0): a and b together never hold more than their own GPUs
    from aifactory.scheduler.council import Council, Programme, Project

    council = Council(
        {"P": Programme(3, {"a": Project(), "b": Project()}), "c": Programme(1, lending_limit_gpus=0)}
    )
    topo = Topology.build(1, rack_gpus=16)
    jobs = [Job(f"{t}{i}", t, 1, float(i), 50.0) for t in "ab" for i in range(30)]
    result = replay(sorted(jobs, key=lambda j: j.submit), topo, "fairshare", Tenancy.of(council, topo.gpus))
    events = sorted(
        [(seg.start, seg.gpus) for seg in result.segments]
        + [(seg.end, -seg.gpus) for seg in result.segments],
        key=lambda e: (e[0], e[1]),
    )
    held = peak = 0
    for _, delta in events:
        held += delta
        peak = max(peak, held)
    assert peak == 12  # P's 3/4 of 16: c's 4 idle GPUs stay free
