"""Replay invariants on a sample of the Philly trace and on random small traces (every policy):
every job completes, no rack is ever over-allocated, a job that fits one rack is never split, and a
gang starts all its GPUs at the same instant."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import ReplayResult, replay
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import POLICIES
from aifactory.scheduler.tenancy import Tenancy
from data_paths import philly_path


def check_invariants(result: ReplayResult, jobs: list[Job]) -> None:
    topo = result.topology
    rejected = {job.id for job, _ in result.rejected}
    for job in jobs:  # rejected exactly when bigger than the factory or than its borrowing limits allow
        too_big = job.gpus > topo.gpus or job.gpus > result.tenancy.ceiling(job.tenant, topo.gpus)
        assert (job.id in rejected) == too_big
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
    check_invariants(result, trace)


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
