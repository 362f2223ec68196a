"""Hand-computed schedules for each policy, reclaim, no preemption loop, fair-share convergence."""

from __future__ import annotations

import pytest

from aifactory.cluster.topology import Topology
from aifactory.replay.runner import ReplayResult, replay
from aifactory.scheduler.core import Options, Scheduler
from aifactory.scheduler.job import Job
from aifactory.scheduler.policies import POLICIES, policy_named
from aifactory.scheduler.tenancy import Tenancy


def make_job(
    name: str, gpus: int, duration: float, submit: float = 0.0, tenant: str = "a", **kw: object
) -> Job:
    return Job(name, tenant, gpus, submit, duration, **kw)  # type: ignore[arg-type]


def run(
    jobs: list[Job],
    policy: str,
    *,
    racks: int = 1,
    rack_gpus: int = 8,
    shares: dict[str, float] | None = None,
    options: Options | None = None,
) -> ReplayResult:
    topo = Topology.build(racks, rack_gpus=rack_gpus, block_racks=8)
    tenants = shares or dict.fromkeys(sorted({j.tenant for j in jobs}), 1.0)
    return replay(jobs, topo, policy, Tenancy(tenants, topo.gpus), options=options)


def starts(result: ReplayResult) -> dict[str, tuple[float, float]]:
    return {k: (r.first_start, r.end) for k, r in result.records.items()}


JOBS = [make_job("A", 4, 10, 0), make_job("B", 8, 5, 1), make_job("C", 2, 3, 2), make_job("D", 2, 20, 2)]


def test_fifo_blocks_everyone_behind_the_head() -> None:
    assert starts(run(JOBS, "fifo")) == {"A": (0, 10), "B": (10, 15), "C": (15, 18), "D": (15, 35)}


def test_easy_backfill_starts_short_jobs_that_end_before_the_head_reservation() -> None:
    # B (8 GPUs) is reserved for t=10, when A ends; C (ends at 5) backfills, D (would end at 22) may not
    assert starts(run(JOBS, "backfill")) == {"A": (0, 10), "B": (10, 15), "C": (2, 5), "D": (15, 35)}


def test_backfill_uses_time_limits_when_given() -> None:
    jobs = [
        make_job("A", 4, 10, 0, time_limit=10),
        make_job("B", 8, 5, 1),
        make_job("C", 2, 3, 2, time_limit=30),  # declared long: must not jump ahead
    ]
    assert starts(run(jobs, "backfill"))["C"] == (15, 18)


def test_fairshare_reclaims_for_a_tenant_below_its_entitlement_within_one_cycle() -> None:
    borrower = [make_job(f"a{i}", 1, 100, 0, tenant="a") for i in range(8)]
    owner = [make_job("b0", 4, 10, 10, tenant="b")]
    result = run(borrower + owner, "fairshare", shares={"a": 1, "b": 1})
    assert result.records["b0"].first_start == 10  # reclaimed in the cycle of its arrival
    preempted = sorted(k for k, r in result.records.items() if r.preemptions)
    assert len(preempted) == 4  # a goes down to exactly its entitlement (4 of 8), not below
    assert sum(r.preemptions for r in result.records.values()) == 4  # and nothing bounces back


def test_no_reclaim_for_a_start_that_would_itself_be_borrowing() -> None:
    borrower = [make_job(f"a{i}", 1, 100, 0, tenant="a") for i in range(8)]
    greedy = [make_job("b0", 6, 10, 10, tenant="b")]  # 6 > b's entitlement of 4
    result = run(borrower + greedy, "fairshare", shares={"a": 1, "b": 1})
    assert sum(r.preemptions for r in result.records.values()) == 0
    assert result.records["b0"].first_start == 100


def test_reclaim_cannot_loop_between_two_tenants() -> None:
    # both tenants keep the factory saturated with preemptible work: after the first rebalancing no
    # tenant is ever below its entitlement while another is above it, so nothing is preempted again
    jobs = [make_job(f"a{i}", 1, 50, float(i), tenant="a") for i in range(40)]
    jobs += [make_job(f"b{i}", 1, 50, 5.0 + i, tenant="b") for i in range(40)]
    result = run(sorted(jobs, key=lambda j: j.submit), "fairshare", shares={"a": 1, "b": 1})
    assert all(r.preemptions <= 1 for r in result.records.values())
    assert sum(r.preemptions for r in result.records.values()) <= 4


def test_fair_share_converges_to_the_entitlements_under_saturation() -> None:
    shares = {"x": 1.0, "y": 2.0, "z": 5.0}
    jobs = [make_job(f"{t}{i}", 1, 200.0, float(i), tenant=t) for t in shares for i in range(400)]
    result = run(sorted(jobs, key=lambda j: j.submit), "fairshare", rack_gpus=16, shares=shares)
    # GPU-seconds used per tenant over a window while all three still have work queued
    window = (1000.0, 6000.0)
    used = dict.fromkeys(shares, 0.0)
    for seg in result.segments:
        lo, hi = max(seg.start, window[0]), min(seg.end, window[1])
        if hi > lo:
            used[result.records[seg.job_id].job.tenant] += (hi - lo) * seg.gpus
    total = sum(used.values())
    for tenant, share in shares.items():
        assert used[tenant] / total == pytest.approx(share / 8.0, abs=0.05)


def test_policies_are_looked_up_by_name() -> None:
    assert set(POLICIES) >= {"fifo", "backfill", "fairshare"}
    with pytest.raises(ValueError, match="policies: fifo, backfill, fairshare"):
        policy_named("lottery")


def test_explain_names_fragmentation_quota_and_impossible() -> None:
    topo = Topology.build(2, rack_gpus=8)
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy({"a": 1, "b": 1}, topo.gpus))
    for i, gpus in enumerate([5, 5]):
        sched.submit(make_job(f"r{i}", gpus, 100, tenant="a"))
    sched.cycle(0.0)
    sched.submit(make_job("frag", 4, 10, tenant="b"))
    sched.submit(make_job("huge", 64, 10, tenant="b"))
    sched.cycle(1.0)
    assert "fragmentation" in sched.explain("frag")  # 6 GPUs free, but at most 3 in one rack
    assert "never run" in sched.explain("huge")
    assert "running on rack" in sched.explain("r0")
    assert "not known" in sched.explain("nope")


def test_explain_names_quota_when_the_tenant_is_at_its_entitlement() -> None:
    topo = Topology.build(1, rack_gpus=8)
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy({"a": 1, "b": 1}, topo.gpus))
    for i in range(4):
        sched.submit(make_job(f"b{i}", 1, 100, tenant="b"))
    for i in range(4):
        sched.submit(make_job(f"a{i}", 1, 100, tenant="a"))
    sched.cycle(0.0)
    sched.submit(make_job("a-more", 2, 10, tenant="a"))
    sched.cycle(1.0)
    assert "quota" in sched.explain("a-more")


def test_impossible_jobs_are_rejected_and_the_rest_runs() -> None:
    result = run([make_job("ok", 2, 5), make_job("too-big", 9, 5)], "fifo")
    assert [job.id for job, _ in result.rejected] == ["too-big"]
    assert result.records["ok"].end == 5


def test_quota_admits_jobs_within_nominal_quota_before_borrowers() -> None:
    # a queues 6 one-GPU jobs at t=0 (quota 4 of 8: 2 of them borrow); b's 4-GPU job arrives at t=0 too,
    # later in the queue: it is within b's quota, so it is admitted before a's borrowing jobs
    jobs = [make_job(f"a{i}", 1, 10, 0, tenant="a") for i in range(6)] + [
        make_job("b0", 4, 10, 0, tenant="b")
    ]
    result = run(jobs, "quota", shares={"a": 1, "b": 1})
    assert result.records["b0"].first_start == 0
    started_at_0 = sorted(k for k, r in result.records.items() if r.first_start == 0)
    assert started_at_0 == ["a0", "a1", "a2", "a3", "b0"]


def test_quota_lends_idle_capacity_and_reclaims_it() -> None:
    borrower = [make_job(f"a{i}", 1, 100, 0, tenant="a") for i in range(8)]
    owner = [make_job("b0", 4, 10, 10, tenant="b")]
    result = run(borrower + owner, "quota", shares={"a": 1, "b": 1})
    assert all(result.records[f"a{i}"].first_start == 0 for i in range(8))  # borrowed all 8
    assert result.records["b0"].first_start == 10  # reclaimed at once
    assert sum(r.preemptions for r in result.records.values()) == 4


def test_quota_higher_priority_preempts_lower_priority_within_a_tenant() -> None:
    jobs = [make_job(f"lo{i}", 1, 100, 0, tenant="a", priority=0) for i in range(4)]
    jobs += [make_job(f"x{i}", 1, 100, 0, tenant="b") for i in range(4)]  # b keeps its own quota busy
    jobs += [make_job("hi", 2, 10, 5, tenant="a", priority=5)]
    result = run(jobs, "quota", shares={"a": 1, "b": 1})
    assert result.records["hi"].first_start == 5
    assert sum(result.records[f"lo{i}"].preemptions for i in range(4)) == 2
    assert all(result.records[f"x{i}"].preemptions == 0 for i in range(4))


@pytest.mark.parametrize("policy", ["fairshare", "quota"])
def test_a_large_gang_does_not_starve_behind_a_stream_of_small_jobs(policy: str) -> None:
    # b's 16-GPU gang is bigger than b's entitlement (8 of 16) and never fits while a keeps the factory
    # busy with a stream of 1-GPU jobs; after waiting starvation_s (1 day) it gets a reservation
    stream = [make_job(f"a{i}", 1, 3600.0, 60.0 * i, tenant="a") for i in range(4000)]
    gang = make_job("gang", 16, 600.0, 30.0, tenant="b")
    jobs = sorted([*stream, gang], key=lambda j: j.submit)
    starving = run(jobs, policy, rack_gpus=16, shares={"a": 1, "b": 1})
    assert starving.records["gang"].first_start > 10 * 86400  # without the guard: until the stream drains
    result = run(jobs, policy, rack_gpus=16, shares={"a": 1, "b": 1}, options=Options(starvation_s=86400.0))
    waited = result.records["gang"].first_start - gang.submit
    assert 86400.0 < waited <= 86400.0 + 3600.0 + 60.0  # guard after a day, then at most one job length


def test_a_job_is_stopped_at_its_time_limit() -> None:
    jobs = [make_job("over", 2, 100, 0, time_limit=10), make_job("ok", 2, 5, 0, time_limit=10)]
    result = run(jobs, "fifo")
    assert result.records["over"].end == 10 and result.records["over"].timed_out
    assert result.records["ok"].end == 5 and not result.records["ok"].timed_out


def test_a_time_limit_counts_run_time_across_preemptions() -> None:
    borrower = [make_job(f"a{i}", 1, 100, 0, tenant="a", time_limit=60) for i in range(8)]
    owner = [make_job("b0", 4, 10, 10, tenant="b")]
    result = run(borrower + owner, "fairshare", shares={"a": 1, "b": 1})
    for i in range(8):
        rec = result.records[f"a{i}"]
        ran = sum(seg.end - seg.start for seg in result.segments if seg.job_id == f"a{i}")
        assert ran == pytest.approx(60.0) and rec.timed_out  # 60 s of run time in all, then stopped


def test_reclaim_preempts_only_on_the_racks_the_gang_uses() -> None:
    # 2 racks of 4 GPUs; a is entitled to 3, b to 5. a fills both racks (a0–a3 on rack 0, a4–a7 on rack
    # 1); at t=5 a0 ends and a8 takes its GPU on rack 0, so a8 is a's most recent start. At t=10 b's
    # 4-GPU gang reclaims: a is 5 over its entitlement, so victims are taken newest first — a8 (rack 0),
    # then a7, a6, a5, a4 — until the gang fits, on rack 1. Rack 0 is not used by the gang, so a8 is
    # spared: exactly the four on rack 1 are preempted.
    topo = Topology.build(2, rack_gpus=4)
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy({"a": 3, "b": 5}, topo.gpus))
    for i in range(8):
        sched.submit(make_job(f"a{i}", 1, 100, tenant="a"))
    sched.cycle(0.0)
    racks = {j: r.placement[0][0] for j, r in sched.running.items()}
    on_rack = {rack: sorted(j for j, on in racks.items() if on == rack) for rack in (0, 1)}
    assert on_rack == {0: ["a0", "a1", "a2", "a3"], 1: ["a4", "a5", "a6", "a7"]}
    sched.finish("a0", 5.0)
    sched.submit(make_job("a8", 1, 100, 5.0, tenant="a"))
    assert [(st.job.id, st.placement) for st in sched.cycle(5.0).starts] == [("a8", ((0, 1),))]
    sched.submit(make_job("b0", 4, 10, 10.0, tenant="b"))
    result = sched.cycle(10.0)
    assert sorted(result.preempted) == on_rack[1]
    assert [(st.job.id, st.placement) for st in result.starts] == [("b0", ((1, 4),))]
    assert "a8" in sched.running and sched.running_gpus == {"a": 4, "b": 4}
    # the trial that chose the victims left nothing behind: every GPU is held, none twice
    assert list(sched.state.free) == [0, 0]


def test_needed_keeps_every_victim_when_the_trimmed_set_makes_no_room() -> None:
    # A defensive branch of the private helper that no schedule reaches (holding the victims on other
    # racks leaves the gang's racks as free as they were, so the gang still fits there): it is given a
    # placement that the trimmed set cannot satisfy, and must then keep all the victims.
    from aifactory.scheduler.policies import _needed

    topo = Topology.build(2, rack_gpus=4)
    sched = Scheduler(topo, policy_named("fairshare"), Tenancy({"a": 1, "b": 1}, topo.gpus))
    for i in range(8):
        sched.submit(make_job(f"a{i}", 1, 100, tenant="a"))
    sched.cycle(0.0)
    on_rack = {rack: [j for j, p in sched.state.placements.items() if p[0][0] == rack] for rack in (0, 1)}
    victims = [on_rack[0][0], *on_rack[1]]  # one victim on rack 0, where the placement puts nothing
    before = list(sched.state.free)
    with sched.state.what_if() as trial:
        for victim in victims:
            trial.release(sched.state.placements[victim])
        assert _needed(sched, trial, make_job("b1", 5, 10, tenant="b"), victims, ((1, 4),)) == victims
        assert list(trial.free) == [1, 4]  # the trial's releases stand (and nothing else) …
    assert list(sched.state.free) == before  # … until the trial ends: all undone


@pytest.mark.parametrize("policy", ["fifo", "backfill", "fairshare", "quota"])
def test_a_spent_budget_holds_the_tenants_jobs_without_blocking_others(policy: str) -> None:
    # a may use 1 GPU-hour: two 30-minute one-GPU jobs run one after the other on its GPU, the third is
    # held for good; b's jobs behind it in the queue are not blocked
    topo = Topology.build(1, rack_gpus=8)
    jobs = [make_job(f"a{i}", 8, 450, 450.0 * i, tenant="a") for i in range(3)]  # 8 GPUs × 450 s = 1 GPU-h
    jobs += [make_job("b0", 8, 100, 1000.0, tenant="b")]
    tenancy = Tenancy({"a": 1, "b": 1}, topo.gpus, budgets={"a": 3600.0})
    result = replay(jobs, topo, policy, tenancy)
    assert result.records["a0"].end == 450
    assert [job.id for job, _ in result.held] == ["a1", "a2"]  # a0 used the whole budget
    assert result.records["b0"].first_start == 1000


def test_explain_names_a_spent_budget() -> None:
    topo = Topology.build(1, rack_gpus=8)
    sched = Scheduler(topo, policy_named("fifo"), Tenancy({"a": 1}, topo.gpus, budgets={"a": 100.0}))
    sched.submit(make_job("a0", 8, 1000))
    sched.cycle(0.0)
    sched.submit(make_job("a1", 1, 10))
    sched.finish("a0", 200.0)
    sched.cycle(200.0)
    assert "held (budget)" in sched.explain("a1")


def test_a_job_preempted_and_then_held_is_reported_unfinished() -> None:
    from aifactory.replay.metrics import replay_metrics

    topo = Topology.build(1, rack_gpus=8)
    jobs = [make_job(f"b{i}", 1, 100, 0, tenant="b") for i in range(8)]
    jobs.append(make_job("a0", 4, 10, 10, tenant="a"))
    tenancy = Tenancy({"a": 1, "b": 1}, topo.gpus, budgets={"b": 80.0})  # spent exactly at t=10
    result = replay(jobs, topo, "fairshare", tenancy)
    held = {job.id for job, _ in result.held}
    assert len(held) == 4 and all(result.records[j].preemptions == 1 for j in held)
    metrics = replay_metrics(result)  # no crash on segments of held jobs
    assert metrics["held"] == 4 and metrics["completed"] == 5 and metrics["jobs"] == 9


@pytest.mark.parametrize("policy", ["fifo", "backfill"])
def test_many_held_jobs_ahead_do_not_block_the_queue(policy: str) -> None:
    topo = Topology.build(1, rack_gpus=8)
    jobs = [make_job("b-spend", 8, 10, 0, tenant="b")]
    jobs += [make_job(f"b{i}", 1, 10, 5.0, tenant="b") for i in range(250)]
    jobs.append(make_job("a0", 1, 10, 6.0, tenant="a"))
    tenancy = Tenancy({"a": 1, "b": 1}, topo.gpus, budgets={"b": 80.0})
    result = replay(jobs, topo, policy, tenancy)
    assert result.records["a0"].first_start == 10  # after b-spend ends, past 250 held jobs
    assert len(result.held) == 250


def test_quota_does_not_preempt_by_priority_when_idle_gpus_can_be_borrowed() -> None:
    topo = Topology.build(2, rack_gpus=8)
    jobs = [make_job("low", 8, 100, 0, tenant="a"), make_job("hi", 2, 10, 5, tenant="a", priority=5)]
    result = replay(jobs, topo, "quota", Tenancy({"a": 1, "b": 1}, topo.gpus))
    assert result.records["low"].preemptions == 0
    assert result.records["hi"].first_start == 5  # borrowed the idle rack instead


def test_replay_does_not_change_the_callers_tenancy() -> None:
    topo = Topology.build(1, rack_gpus=8)
    jobs = [make_job(f"{t}{i}", 2, 50, float(i), tenant=t) for t in "ab" for i in range(6)]
    tenancy = Tenancy({"a": 1, "b": 1}, topo.gpus)
    first = replay(jobs, topo, "fairshare", tenancy)
    second = replay(jobs, topo, "fairshare", tenancy)
    assert tenancy.last is None and not any(tenancy.usage.values())
    assert {k: r.end for k, r in first.records.items()} == {k: r.end for k, r in second.records.items()}
