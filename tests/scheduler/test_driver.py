"""What drivers (the replay, the service's worker) may do to a scheduler: its named methods — adopt a
running job, set the council, set budgets, set a rack's health — and a policy of their own as a value.
Budgets are spent by one path whether the books come from a ledger (the service) or the cycles (replay)."""

from __future__ import annotations

import pytest

from aifactory.cluster.topology import Topology
from aifactory.scheduler.core import CycleResult, Scheduler
from aifactory.scheduler.council import Council, Programme, Project
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.policy import Policy, Wait
from aifactory.scheduler.tenancy import Tenancy


def scheduler(policy: str = "fifo", racks: int = 2, rack_gpus: int = 8) -> Scheduler:
    topo = Topology.build(racks, rack_gpus=rack_gpus)
    return Scheduler(topo, policy_named(policy), Tenancy({"a": 1, "b": 1}, topo.gpus))


def test_an_adopted_job_holds_its_gpus_and_nothing_else_starts_on_them() -> None:
    s = scheduler()
    s.adopt(Job("old", "a", 8, 0.0, 1000.0), ((1, 8),), started=-500.0)
    assert s.running["old"].start == -500.0 and list(s.state.free) == [8, 0]
    assert s.running_gpus["a"] == 8 and "old" not in s.queue
    s.submit(Job("new", "b", 8, 0.0, 10.0))
    result = s.cycle(0.0)
    assert [(st.job.id, st.placement) for st in result.starts] == [("new", ((0, 8),))]
    s.submit(Job("third", "b", 1, 0.0, 10.0))
    assert s.cycle(1.0).starts == []  # the factory is full: the adopted job's GPUs are not free


def test_budget_spending_is_the_same_from_a_ledger_and_from_the_cycles() -> None:
    # 4 GPUs from t=0; budget 800 GPU-s: spent at t=200, held after
    def started() -> Scheduler:
        s = scheduler()
        s.submit(Job("j", "a", 4, 0.0, 1e6))
        s.cycle(0.0)
        return s

    replayed = started()
    replayed.set_budgets(0.0, {"a": 800.0})  # the replay's way: the cycles spend
    replayed.cycle(100.0)
    ledger = started()  # the service's way: a ledger says 0 spent on closed segments at t=100
    ledger.set_budgets(100.0, {"a": 800.0}, settled={"a": 0.0})
    assert ledger.tenancy.spent["a"] == pytest.approx(400.0)  # 4 GPUs × 100 s of the open segment
    for s in (replayed, ledger):
        assert s.tenancy.spent["a"] == pytest.approx(400.0)
        assert not s.tenancy.over_budget("a")
        s.cycle(200.0)
        assert s.tenancy.spent["a"] == pytest.approx(800.0)
        assert s.tenancy.over_budget("a")
    ledger.set_budgets(200.0, {"a": 800.0}, settled={"a": 300.0})  # 300 GPU-s spent before on closed runs
    assert ledger.tenancy.spent["a"] == pytest.approx(300.0 + 800.0)
    ledger.set_budgets(200.0, {})
    assert not ledger.tenancy.over_budget("a")  # no budget: unlimited


def test_a_new_council_keeps_usage_and_the_factory_as_it_is_now() -> None:
    s = scheduler(racks=2)
    s.set_rack(1, drained=True, healthy_trays=s.topology.rack.trays)  # half the factory out of service
    s.submit(Job("j", "a", 8, 0.0, 1e6))
    s.cycle(0.0)
    s.cycle(3600.0)
    usage = s.tenancy.usage["a"]
    assert usage > 0
    s.set_council(Council({"p": Programme(3, {"a": Project()}), "q": Programme(1, {"c": Project()})}))
    assert s.tenancy.usage["a"] == usage and s.tenancy.last == 3600.0
    assert s.tenancy.entitled_gpus("a") == pytest.approx(6.0)  # ¾ of the 8 schedulable GPUs, not of 16
    assert s.tenancy.entitled_gpus("c") == pytest.approx(2.0)
    s.submit(Job("k", "c", 1, 3600.0, 10.0))  # a tenant new with the council can be scheduled at once
    assert s.running_gpus["c"] == 0 and s.programme_gpus["q"] == 0


def test_a_rack_set_by_the_operator_shrinks_and_drains_while_its_jobs_run_on() -> None:
    s = scheduler(racks=2, rack_gpus=8)  # 2 trays of 4 GPUs per rack
    s.submit(Job("j", "a", 8, 0.0, 1e6))
    s.cycle(0.0)
    rack = s.running["j"].placement[0][0]
    s.set_rack(rack, drained=False, healthy_trays=1)
    assert s.state.capacity[rack] == 4 and "j" in s.running  # it runs on; nothing new starts there
    assert s.tenancy.total_gpus == 12
    s.set_rack(rack, drained=True, healthy_trays=1)
    assert s.state.capacity[rack] == 0 and s.tenancy.total_gpus == 8
    s.set_rack(rack, drained=False, healthy_trays=2)
    assert s.state.capacity[rack] == 8 and s.tenancy.total_gpus == 16


def test_the_cycle_returns_why_the_jobs_it_did_not_start_wait() -> None:
    s = scheduler("fifo", racks=1)
    s.submit(Job("big", "a", 8, 0.0, 100.0))
    s.submit(Job("head", "a", 8, 1.0, 100.0))
    s.submit(Job("next", "b", 1, 2.0, 100.0))
    result = s.cycle(2.0)
    assert [st.job.id for st in result.starts] == ["big"]
    assert result.waiting == {"head": "head of the queue: waits for enough GPUs in the right racks"}
    assert "waits (order)" in s.explain("next") and "behind head" in s.explain("next")
    s.finish("big", 100.0)
    result = s.cycle(100.0)
    assert [st.job.id for st in result.starts] == ["head"] and "head" not in result.waiting


def _newest_first(s: Scheduler, now: float, result: CycleResult) -> None:
    """Newest job first (a policy written outside the registry)."""
    for job in sorted(s.queue.in_order(), key=lambda j: -j.submit):
        placement = s.fits_now(job)
        if placement is None:
            result.waiting[job.id] = "newest first: no room"
            continue
        s.start(job, placement, now, result)


def _newest_wait(s: Scheduler, job: Job, wait: Wait) -> str | None:
    return f"{job.id} waits: newer jobs go first ({wait.free_gpus} GPUs free)"


def test_a_policy_is_a_value_the_core_runs_without_knowing_it() -> None:
    newest = Policy("newest", _newest_first, preempts=False, explain=_newest_wait, summary="newest first")
    topo = Topology.build(1, rack_gpus=8)
    s = Scheduler(topo, newest, Tenancy({"a": 1}, topo.gpus))
    for i in range(3):
        s.submit(Job(f"j{i}", "a", 4, float(i), 100.0))
    result = s.cycle(3.0)
    assert [st.job.id for st in result.starts] == ["j2", "j1"]
    assert result.waiting == {"j0": "newest first: no room"}
    assert s.explain("j0") == "j0 waits: newer jobs go first (0 GPUs free)"
    assert s.policy_name == "newest" and not s.may_preempt
