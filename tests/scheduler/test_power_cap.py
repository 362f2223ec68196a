"""The facility power budget, as the scheduler holds it: a start that would put more GPUs to work than
the budget allows waits, and ``explain`` says that power is why."""

from __future__ import annotations

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import replay
from aifactory.scheduler.admission import PowerCap
from aifactory.scheduler.core import Options, Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy

CAP = PowerCap(max_busy_gpus=6, budget_mw=0.5, design_c=31.0)


def test_a_start_above_the_power_cap_waits_and_explain_says_power() -> None:
    topo = Topology.build(2, rack_gpus=8)
    sched = Scheduler(topo, policy_named("fifo"), Tenancy({"a": 1}, topo.gpus), Options(power=CAP))
    sched.submit(Job("j1", "a", 4, 0.0, 10.0))
    sched.submit(Job("j2", "a", 4, 0.0, 10.0))
    started = [s.job.id for s in sched.cycle(0.0).starts]
    assert started == ["j1"]  # 12 free GPUs, but 4 + 4 > 6 busy
    assert sched.busy_gpus == 4
    why = sched.explain("j2")
    assert "waits (power)" in why and "0.5 MW" in why and "6 GPUs busy" in why and "4 are" in why
    sched.finish("j1", 10.0)
    assert [s.job.id for s in sched.cycle(10.0).starts] == ["j2"]


def test_a_job_larger_than_the_cap_is_rejected_by_a_replay() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [Job("big", "a", 8, 0.0, 10.0), Job("ok", "a", 6, 0.0, 10.0)]
    result = replay(jobs, topo, "fifo", Tenancy({"a": 1}, topo.gpus), options=Options(power=CAP))
    assert [(j.id, "power budget" in why) for j, why in result.rejected] == [("big", True)]
    assert result.records["ok"].first_start == 0


def test_without_a_cap_the_same_jobs_start_together() -> None:
    topo = Topology.build(2, rack_gpus=8)
    sched = Scheduler(topo, policy_named("fifo"), Tenancy({"a": 1}, topo.gpus))
    sched.submit(Job("j1", "a", 4, 0.0, 10.0))
    sched.submit(Job("j2", "a", 4, 0.0, 10.0))
    assert len(sched.cycle(0.0).starts) == 2


def test_reclaim_frees_the_power_a_start_needs_not_only_the_gpus() -> None:
    # 2 racks of 8 GPUs, power for 8 busy: entitlements are shares of those 8 (4 each). a borrows all 8
    # on rack 0; b asks for 4, and rack 1 has 8 GPUs free — but no power: a job of a must be preempted
    # although the GPUs b gets are elsewhere
    topo = Topology.build(2, rack_gpus=8)
    cap = PowerCap(max_busy_gpus=8, budget_mw=0.2, design_c=30.0)
    sched = Scheduler(
        topo, policy_named("fairshare"), Tenancy({"a": 1, "b": 1}, topo.gpus), Options(power=cap)
    )
    for k in range(2):
        sched.submit(Job(f"a{k}", "a", 4, 0.0, 100.0))
    assert len(sched.cycle(0.0).starts) == 2
    sched.submit(Job("b0", "b", 4, 1.0, 10.0))
    result = sched.cycle(1.0)
    assert [s.job.id for s in result.starts] == ["b0"] and len(result.preempted) == 1
    assert sched.busy_gpus == 8
    assert sched.tenancy.entitled_gpus("b") == 4
