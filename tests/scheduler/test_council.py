"""Council → programmes → projects: entitlements in closed form, hierarchical fair share, reclaim
inside a programme, borrowing and lending limits, programme budgets and budget periods."""

from __future__ import annotations

import pytest

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import ReplayResult, replay
from aifactory.scheduler.core import Scheduler
from aifactory.scheduler.council import Council, Programme, Project
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import policy_named
from aifactory.scheduler.tenancy import Tenancy


def job(name: str, tenant: str, gpus: int, duration: float, submit: float = 0.0) -> Job:
    return Job(name, tenant, gpus, submit, duration)


def test_entitlements_resolve_shares_weights_and_quotas() -> None:
    council = Council(
        {
            "research": Programme(0.5, {"nlp": Project(weight=3), "vision": Project(weight=1)}),
            "industry": Programme(0.3, {"chipco": Project(quota_gpus=100), "auto": Project(weight=1)}),
            "anchor": Programme(0.2),
        }
    )
    tenants, programmes = council.entitled_gpus(1000)
    assert programmes == {"research": 500, "industry": 300, "anchor": 200}
    assert tenants == {"nlp": 375, "vision": 125, "chipco": 100, "auto": 200, "anchor": 200}
    # quotas beyond the programme's part are scaled down together; weighted projects get nothing
    tight = Council(
        {"p": Programme(1, {"a": Project(quota_gpus=300), "b": Project(quota_gpus=100), "c": Project()})}
    )
    assert tight.entitled_gpus(200)[0] == {"a": 150, "b": 50, "c": 0}
    assert council.parents() == {
        "nlp": "research",
        "vision": "research",
        "chipco": "industry",
        "auto": "industry",
        "anchor": "anchor",
    }


def test_entitlements_follow_the_factory_as_it_grows() -> None:
    council = Council({"p": Programme(1, {"fixed": Project(quota_gpus=72), "rest": Project()})})
    tenancy = Tenancy.of(council, 144)
    assert tenancy.entitled_gpus("fixed") == 72 and tenancy.entitled_gpus("rest") == 72
    tenancy.resize(288)
    assert tenancy.entitled_gpus("fixed") == 72 and tenancy.entitled_gpus("rest") == 216
    assert tenancy.entitlements == {"fixed": 0.25, "rest": 0.75}


def test_a_name_used_twice_in_the_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="'a' names two tenants"):
        Council({"a": Programme(1), "b": Programme(1, {"a": Project()})})


def test_jobs_cannot_belong_to_a_programme_that_has_projects() -> None:
    topo = Topology.build(1, rack_gpus=8)
    sched = Scheduler(
        topo, policy_named("fairshare"), Tenancy.of(Council({"p": Programme(1, {"q": Project()})}), 8)
    )
    with pytest.raises(ValueError, match="programme with projects"):
        sched.submit(job("j", "p", 1, 10))


def _used_in(result: ReplayResult, window: tuple[float, float]) -> dict[str, float]:
    used: dict[str, float] = {}
    for seg in result.segments:
        lo, hi = max(seg.start, window[0]), min(seg.end, window[1])
        if hi > lo:
            tenant = result.records[seg.job_id].job.tenant
            used[tenant] = used.get(tenant, 0.0) + (hi - lo) * seg.gpus
    return used


def test_hierarchical_fair_share_converges_to_programme_then_project_shares() -> None:
    # A (half) has two projects of weights 1 and 3, B (half) one project: 1/8, 3/8, 1/2 — a flat fair
    # share over three equal tenants would give each a third
    council = Council(
        {"A": Programme(1, {"a1": Project(1), "a2": Project(3)}), "B": Programme(1, {"b": Project()})}
    )
    topo = Topology.build(1, rack_gpus=16)
    jobs = [job(f"{t}{i}", t, 1, 200.0, float(i)) for t in ("a1", "a2", "b") for i in range(400)]
    result = replay(sorted(jobs, key=lambda j: j.submit), topo, "fairshare", Tenancy.of(council, topo.gpus))
    used = _used_in(result, (1000.0, 6000.0))
    total = sum(used.values())
    assert used["a1"] / total == pytest.approx(1 / 8, abs=0.03)
    assert used["a2"] / total == pytest.approx(3 / 8, abs=0.03)
    assert used["b"] / total == pytest.approx(1 / 2, abs=0.03)


def test_a_project_reclaims_from_its_sibling_not_from_another_programme() -> None:
    # 16 GPUs: A = {a1, a2} 8, B = {b} 8. b uses its 8, a2 borrowed a1's 4; a1 comes back and takes its 4
    # GPUs back from a2 — b, within its programme's entitlement, is left alone
    council = Council(
        {"A": Programme(1, {"a1": Project(), "a2": Project()}), "B": Programme(1, {"b": Project()})}
    )
    topo = Topology.build(1, rack_gpus=16)
    jobs = [job(f"b{i}", "b", 1, 100, 0.0) for i in range(8)]
    jobs += [job(f"a2_{i}", "a2", 1, 100, 0.0) for i in range(8)]
    jobs += [job("a1", "a1", 4, 10, 10.0)]
    result = replay(jobs, topo, "fairshare", Tenancy.of(council, topo.gpus))
    assert result.records["a1"].first_start == 10
    preempted = {k for k, r in result.records.items() if r.preemptions}
    assert len(preempted) == 4 and all(k.startswith("a2_") for k in preempted)


def test_a_programme_within_its_share_reclaims_from_a_programme_above_its_share() -> None:
    council = Council(
        {"A": Programme(1, {"a1": Project(), "a2": Project()}), "B": Programme(1, {"b": Project()})}
    )
    topo = Topology.build(1, rack_gpus=16)
    jobs = [job(f"b{i}", "b", 1, 100, 0.0) for i in range(16)]  # B borrows all of A's 8
    jobs += [job("a1", "a1", 4, 10, 10.0)]
    result = replay(jobs, topo, "fairshare", Tenancy.of(council, topo.gpus))
    assert result.records["a1"].first_start == 10
    assert sum(r.preemptions for r in result.records.values()) == 4


def test_a_borrowing_limit_caps_a_project_above_its_entitlement() -> None:
    # a is entitled to 4 of 16 GPUs and may borrow 2 more: at most 6 at once although 16 are idle
    council = Council({"A": Programme(1, {"a": Project(borrowing_limit_gpus=2)}), "B": Programme(3)})
    topo = Topology.build(1, rack_gpus=16)
    jobs = [job(f"a{i}", "a", 1, 10, 0.0) for i in range(12)]
    for policy in ("fairshare", "quota", "fifo"):
        result = replay(jobs, topo, policy, Tenancy.of(council, topo.gpus))
        assert sorted(r.first_start for r in result.records.values()) == [0] * 6 + [10] * 6, policy


def test_a_lending_limit_keeps_part_of_an_idle_programme_for_its_own_projects() -> None:
    # B (8 of 16 GPUs) lends at most 2 of its unused GPUs: A may borrow up to 8 + 2
    council = Council({"A": Programme(1), "B": Programme(1, lending_limit_gpus=2)})
    topo = Topology.build(1, rack_gpus=16)
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy.of(council, topo.gpus))
    for i in range(14):
        sched.submit(job(f"a{i}", "A", 1, 100))
    sched.cycle(0.0)
    assert len(sched.running) == 10
    assert "lending limit" in sched.explain("a10")
    sched.submit(job("b0", "B", 6, 50, 1.0))  # B's own project starts at once on the kept GPUs
    assert [s.job.id for s in sched.cycle(1.0).starts] == ["b0"]


def test_a_programme_budget_holds_all_its_projects() -> None:
    council = Council({"A": Programme(1, {"a1": Project(), "a2": Project()}, budget_gpu_s=8 * 100.0)})
    topo = Topology.build(1, rack_gpus=8)
    jobs = [job("x", "a1", 8, 100, 0.0), job("y", "a2", 8, 100, 200.0)]
    result = replay(jobs, topo, "fairshare", Tenancy.of(council, topo.gpus))
    assert [j.id for j, _ in result.held] == ["y"]
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy.of(council, topo.gpus))
    sched.submit(jobs[0])
    sched.cycle(0.0)
    sched.finish("x", 100.0)
    sched.submit(jobs[1])
    sched.cycle(200.0)
    assert "programme A has used 0.2 of 0.2 GPU-hours" in sched.explain("y")


def test_budgets_renew_each_period() -> None:
    # 1 GPU-hour a day: the second 1-hour job waits for the next day, then runs
    topo = Topology.build(1, rack_gpus=8)
    tenancy = Tenancy({"a": 1}, topo.gpus, budgets={"a": 3600.0}, budget_period_s=86400.0)
    jobs = [job("d1", "a", 1, 3600, 0.0), job("d2", "a", 1, 3600, 7200.0), job("w", "a", 1, 10, 90000.0)]
    result = replay(jobs, topo, "fifo", tenancy)
    assert not result.held
    assert result.records["d2"].first_start == 86400.0  # held until the next period begins
    assert result.records["w"].first_start == 2 * 86400.0  # d2 spent the second day's budget


def test_held_jobs_run_when_the_next_period_begins_even_with_nothing_else_happening() -> None:
    topo = Topology.build(1, rack_gpus=8)
    tenancy = Tenancy({"a": 1}, topo.gpus, budgets={"a": 3600.0}, budget_period_s=86400.0)
    result = replay([job("d1", "a", 1, 3600, 0.0), job("d2", "a", 1, 3600, 7200.0)], topo, "fifo", tenancy)
    assert not result.held and result.records["d2"].first_start == 86400.0


def test_a_zero_budget_holds_for_good_even_with_periods() -> None:
    topo = Topology.build(1, rack_gpus=8)
    tenancy = Tenancy({"a": 1, "b": 1}, topo.gpus, budgets={"b": 0.0}, budget_period_s=86400.0)
    result = replay([job("a1", "a", 1, 3600, 0.0), job("b1", "b", 1, 10, 0.0)], topo, "fairshare", tenancy)
    assert [j.id for j, _ in result.held] == ["b1"]
