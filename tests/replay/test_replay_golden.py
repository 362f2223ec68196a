"""The schedules of a sample of the Philly trace, pinned: refactoring the scheduler changes none of them.

Each digest is the sha256 of every job's first start, end, preemptions and interruptions and of every
run segment (job, segment, start, end, rack, GPUs), as the scheduler produced them before the policies
became values and the cycle got its Kueue-style phases. A change here is either a bug or a change of
behaviour that must be named (and the digest re-pinned with it)."""

from __future__ import annotations

import hashlib
import json

import pytest

from aifactory.cluster.topology import Topology
from aifactory.replay.failures import FailureModel
from aifactory.replay.runner import ReplayResult, replay
from aifactory.scheduler.core import Options
from aifactory.scheduler.job import Job
from aifactory.scheduler.tenancy import Tenancy
from data_paths import philly_path

PINNED = {
    "fifo": "8b408e1ea2b0e454",
    "backfill": "47ffc88c3afa231d",
    "fairshare": "e05ca0be9b4909f7",
    "quota": "688431db73554781",
    "fairshare+failures": "2e15d748183f2e83",
    "quota+starvation": "dd39044e120e60ec",
}


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    from aifactory.replay.trace import load_trace

    return load_trace(philly_path()).jobs[:3000]


def _digest(result: ReplayResult) -> str:
    rows = sorted(
        (r.job.id, r.first_start, r.end, r.preemptions, r.interruptions, round(r.lost_s, 6))
        for r in result.records.values()
    )
    segments = sorted((s.job_id, s.segment, s.start, s.end, s.rack, s.gpus) for s in result.segments)
    return hashlib.sha256(json.dumps([rows, segments]).encode()).hexdigest()[:16]


def _equal(jobs: list[Job], topo: Topology) -> Tenancy:
    return Tenancy.equal(sorted({j.tenant for j in jobs}), topo.gpus)


@pytest.mark.parametrize("policy", ["fifo", "backfill", "fairshare", "quota"])
def test_the_schedule_of_each_policy_is_unchanged(jobs: list[Job], policy: str) -> None:
    topo = Topology.build(2)
    assert _digest(replay(jobs, topo, policy, _equal(jobs, topo))) == PINNED[policy]


def test_the_schedule_with_tray_failures_is_unchanged(jobs: list[Job]) -> None:
    topo = Topology.build(3)
    failures = FailureModel(tray_mtbf_s=5e5, repair_s=7200)
    result = replay(jobs, topo, "fairshare", _equal(jobs, topo), failures=failures, seed=3)
    assert _digest(result) == PINNED["fairshare+failures"]


def test_the_schedule_with_a_starvation_guard_is_unchanged(jobs: list[Job]) -> None:
    topo = Topology.build(2)
    result = replay(jobs, topo, "quota", _equal(jobs, topo), options=Options(starvation_s=3600.0))
    assert _digest(result) == PINNED["quota+starvation"]
