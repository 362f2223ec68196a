"""Tray and rack health: spares absorb failures, the job on a broken tray is interrupted and restarts
from its last checkpoint, a failed rack is drained; replays with random failures keep their invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.cluster.state import ClusterState
from aifactory.cluster.topology import Topology
from aifactory.replay.failures import FailureModel
from aifactory.replay.metrics import replay_metrics
from aifactory.replay.runner import replay
from aifactory.scheduler.core import CycleResult, Options, Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import POLICIES, policy_named
from aifactory.scheduler.tenancy import Tenancy
from replay.test_replay_invariants import check_invariants, jobs_strategy


def test_spare_trays_absorb_failures_then_the_rack_shrinks() -> None:
    state = ClusterState(Topology.build(1, schedulable_trays=16))  # 18 trays, 2 spares
    state.fail_tray(0)
    state.fail_tray(0)
    assert state.capacity[0] == 64  # both spares in service
    state.fail_tray(0)
    assert state.capacity[0] == 60 and state.free_gpus == 60
    state.repair_tray(0)
    assert state.capacity[0] == 64
    with pytest.raises(ValueError, match="no broken tray"):
        state.repair_tray(0)
        state.repair_tray(0)
        state.repair_tray(0)


def _scheduler(**options: float) -> Scheduler:
    topo = Topology.build(1, rack_gpus=8)  # 2 trays of 4 GPUs, no spares
    return Scheduler(topo, policy_named("fifo"), Tenancy({"a": 1}, topo.gpus), Options(**options))  # type: ignore[arg-type]


def test_the_job_on_the_broken_tray_is_interrupted_and_loses_work_since_its_checkpoint() -> None:
    sched = _scheduler(checkpoint_s=3600)
    sched.submit(Job("x", "a", 4, 0, 10_000))  # occupies tray 0 (u < 0.5 of the rack's 2 trays)
    sched.submit(Job("y", "a", 4, 0, 10_000))
    sched.cycle(0.0)
    result = CycleResult()
    assert sched.fail_tray(0, 5000.0, 0.7, result) == "y"  # 0.7 × 2 trays = 1.4: the second job's tray
    assert result.interrupted == ["y"] and result.lost_s == {"y": 5000.0 - 3600.0}
    assert sched.remaining["y"] == 10_000 - 3600
    assert sched.state.capacity[0] == 4 and "y" in sched.queue
    assert sched.cycle(5000.0).starts == []  # one tray left, x holds it
    sched.repair_tray(0)
    assert [s.job.id for s in sched.cycle(5000.0).starts] == ["y"]


def test_a_broken_idle_tray_interrupts_nobody() -> None:
    sched = _scheduler()
    sched.submit(Job("x", "a", 4, 0, 100))
    sched.cycle(0.0)
    result = CycleResult()
    assert sched.fail_tray(0, 10.0, 0.9, result) is None and not result.interrupted
    assert sched.state.free_gpus == 0


def test_a_failed_rack_interrupts_its_jobs_and_is_drained() -> None:
    topo = Topology.build(2, rack_gpus=8)
    sched = Scheduler(
        topo, policy_named("fifo"), Tenancy({"a": 1}, topo.gpus), Options(checkpoint_s=float("inf"))
    )
    for name in ("x", "y", "z"):
        sched.submit(Job(name, "a", 4, 0, 100))
    sched.cycle(0.0)
    result = CycleResult()
    rack = sched.running["x"].placement[0][0]
    on_rack = sorted(j for j, r in sched.state.placements.items() if r[0][0] == rack)
    assert len(on_rack) == 2  # best fit packs two 4-GPU jobs into one rack
    hit = sched.fail_rack(rack, 50.0, result)
    assert sorted(hit) == on_rack and sorted(sched.running) == sorted({"x", "y", "z"} - set(on_rack))
    assert all(result.lost_s[j] == 50.0 for j in hit)  # no checkpoint: the whole segment is lost
    assert sched.tenancy.total_gpus == 8
    sched.restore(rack)
    assert sched.tenancy.total_gpus == 16


def test_a_replay_with_failures_loses_work_and_reports_it() -> None:
    topo = Topology.build(2, rack_gpus=16)
    jobs = [Job(f"j{i}", "a", 8, float(i * 100), 20_000.0) for i in range(12)]
    model = FailureModel(tray_mtbf_s=50_000.0, repair_s=3600.0)
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), failures=model, seed=3)
    again = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), failures=model, seed=3)
    check_invariants(result, jobs)
    assert result.tray_failures > 0 and result.lost_gpu_s > 0
    assert [s.start for s in result.segments] == [s.start for s in again.segments]  # same seed, same run
    metrics = replay_metrics(result)
    assert metrics["tray_failures"] == result.tray_failures
    # from the run segments instead: all jobs completed, so the GPU time spent beyond their own work
    # (8 GPUs × 20,000 s each) was redone; with fifo (no preemption) a job runs in more than one
    # segment exactly when a failure interrupted it
    spent = sum((seg.end - seg.start) * seg.gpus for seg in result.segments)
    assert metrics["gpu_hours_lost"] == pytest.approx((spent - 12 * 8 * 20_000.0) / 3600)
    segments = {j.id: {seg.segment for seg in result.segments if seg.job_id == j.id} for j in jobs}
    assert metrics["jobs_interrupted"] == sum(len(s) > 1 for s in segments.values()) > 0


@settings(max_examples=40, deadline=None)
@given(
    jobs=jobs_strategy,
    policy=st.sampled_from(list(POLICIES)),
    seed=st.integers(0, 10),
    mtbf=st.sampled_from([200.0, 2000.0]),
)
def test_random_traces_with_failures_keep_the_invariants(
    jobs: list[tuple[str, int, int, int]], policy: str, seed: int, mtbf: float
) -> None:
    trace = sorted(
        (Job(f"j{i}", t, g, float(s), float(d)) for i, (t, g, s, d) in enumerate(jobs)),
        key=lambda j: j.submit,
    )
    topo = Topology.build(2, rack_gpus=16, block_racks=2)
    model = FailureModel(tray_mtbf_s=mtbf, repair_s=100.0)
    options = Options(checkpoint_s=50.0)
    tenancy = Tenancy({"a": 1, "b": 2, "c": 1}, topo.gpus)
    result = replay(trace, topo, policy, tenancy, failures=model, seed=seed, options=options)
    check_invariants(result, trace)
