"""Racks that come online later (delivered by the supply twin) join the replay as they arrive."""

from __future__ import annotations

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import replay
from aifactory.scheduler.job import Job
from aifactory.scheduler.tenancy import Tenancy


def test_a_gang_waits_for_the_rack_it_needs_to_come_online() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job("small", "a", 4, 0.0, 10.0), Job("gang", "a", 16, 0.0, 10.0)]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), rack_online={1: 100.0})
    assert result.records["small"].first_start == 0
    assert result.records["gang"].first_start == 100  # both racks only from t=100


def test_a_job_larger_than_all_racks_that_ever_arrive_is_rejected() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job("gang", "a", 16, 0.0, 10.0)]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), rack_online={1: float("inf")})
    assert [job.id for job, _ in result.rejected] == ["gang"]


def test_entitlements_follow_the_racks_online() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job(f"a{i}", "a", 1, 0.0, 50.0) for i in range(8)] + [Job("b0", "b", 4, 10.0, 5.0)]
    result = replay(jobs, topo, "fairshare", Tenancy({"a": 1, "b": 1}, topo.gpus), rack_online={1: 1000.0})
    # with one rack online b is entitled to 4 of 8 GPUs: it reclaims them at once
    assert result.records["b0"].first_start == 10


def test_a_replay_until_a_time_stops_there_and_closes_what_runs() -> None:
    topo = Topology.build(1, rack_gpus=8)
    jobs = [
        Job("long", "a", 4, 0.0, 1000.0),
        Job("late", "a", 8, 50.0, 10.0),
        Job("after", "a", 1, 200.0, 5.0),
    ]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), until=100.0)
    assert [(s.job_id, s.start, s.end) for s in result.segments] == [("long", 0.0, 100.0)]
    assert result.records["late"].first_start != result.records["late"].first_start  # NaN: never started
    assert result.idle_while_waiting_gpu_s == 4 * 50.0  # 4 GPUs free while "late" waited from t=50 to 100
