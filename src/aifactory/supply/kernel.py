"""The compiled engine: the same daily model as ``engine.simulate``, in numba.

Why: the numpy engine advances all runs together, but a realistic network needs ~300 numpy calls a
day, each bounded by call overhead, and per-run delays need gathers from rings of ``delay × runs``
values; on the reference scenario that floors at ~4 s for 10,000 runs × 1,461 days. Here the runs go
in blocks of ``RUN_BLOCK`` (a block's state stays in L2), days outer and stages in processing order
inside, and every decision that depends on a stage or an outflow is taken outside the loops over
runs, so each inner loop is a straight pass the compiler vectorises: ~1 s (docs/benchmarks.md).

``engine.simulate`` stays as the readable reference: tests check that both engines agree exactly.
"""

from __future__ import annotations

import numba
import numpy as np

from aifactory.scenario.model import Scenario
from aifactory.supply.network import Network, compile_network
from aifactory.supply.packing import pack
from aifactory.supply.parameters import Parameters
from aifactory.supply.results import MILLI, RunResult

I64 = np.int64
RUN_BLOCK = 256  # runs simulated together: one block's state stays in L2, inner loops vectorise


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _kernel(
    base_cap,
    scale,
    gross,
    ct,
    in_ptr,
    in_buf,
    in_qty,
    buf_init,
    inl_ptr,
    inl_lane,
    lane_buf,
    lane_pull,
    lane_delay,
    out_ptr,
    out_kind,
    out_target,
    out_dest,
    out_consumer,
    out_cbuf,
    out_weight,
    out_bycap,
    out_pull,
    out_qty,
    out_cover,
    slot_dest,
    slot_delay,
    demand,
    closable,
    dn_ptr,
    dn_child,
    exp_stage,
    exp_start,
    exp_inv_ramp,
    exp_add,
    dis_stage,
    dis_start,
    dis_end,
    dis_factor,
    first_active,
    cap_changes,
    out_dead,
    demand_limited,
    out_never_closes,
    exp_first,
    dis_first,
    dis_last,
    bucket_days,
    checkpoint_flag,
    run_block,
    # outputs
    tot_stage,
    tot_buf,
    tot_lane,
    tot_dest,
    series_stage,
    series_dest,
    sums_stage,
    checkpoints,
):
    """Days outer, stages in processing order, runs innermost: each stage-day is one pass over runs.

    Rings are (delay slots × runs) and *schedule*-style: a push writes row ``(day + delay_r) mod L``
    for each run, a pull reads row ``day mod L`` (contiguous). With a fixed delay per run every
    cell is written once per cycle before it is read, so rows need no clearing.
    """
    n_stage, horizon = base_cap.shape
    runs = scale.shape[1]
    n_lane = lane_delay.shape[0]
    n_slot = slot_delay.shape[0]
    n_dest = demand.shape[0]
    n_buf = buf_init.shape[0]
    n_out = out_kind.shape[0]
    comp_len = np.empty(n_stage, np.int64)
    lane_len = np.empty(n_lane, np.int64)
    slot_len = np.empty(n_slot, np.int64)
    for s in range(n_stage):
        comp_len[s] = ct[s].max() + 1
    for ln in range(n_lane):
        lane_len[ln] = lane_delay[ln].max() + 1
    for q in range(n_slot):
        slot_len[q] = slot_delay[q].max() + 1
    comp_off = np.zeros(n_stage + 1, np.int64)
    lane_off = np.zeros(n_lane + 1, np.int64)
    slot_off = np.zeros(n_slot + 1, np.int64)
    comp_off[1:] = np.cumsum(comp_len)
    lane_off[1:] = np.cumsum(lane_len)
    slot_off[1:] = np.cumsum(slot_len)
    # per-stage scratch vectors over one block of runs
    c_v = np.zeros(min(runs, run_block))
    want_v = np.zeros_like(c_v)
    allow_v = np.zeros_like(c_v)
    st_v = np.zeros_like(c_v)
    done_v = np.zeros_like(c_v)
    left_v = np.zeros_like(c_v)
    fill_v = np.zeros_like(c_v)
    ask_total = np.zeros_like(c_v)
    w_total = np.zeros_like(c_v)
    w_free = np.zeros_like(c_v)
    amount = np.zeros((n_out, min(runs, run_block)))
    weight = np.zeros((n_out, min(runs, run_block)))
    lane_pos = np.zeros(n_lane, np.int64)  # today's slot in each ring (one modulo a day, not a run)
    slot_pos = np.zeros(n_slot, np.int64)
    block = min(runs, run_block)
    for r0 in range(0, runs, block):
        nb = min(block, runs - r0)
        comp_ring = np.zeros((comp_off[-1], block))
        lane_ring = np.zeros((lane_off[-1], block))
        slot_ring = np.zeros((slot_off[-1], block))
        cap = np.zeros((n_stage, block))
        is_open = np.ones((n_stage, block))
        bound = np.zeros((n_stage, runs), np.bool_)
        below_of = np.zeros((n_stage, runs), np.bool_)
        buf = np.zeros((n_buf, block))
        for b in range(n_buf):
            buf[b, :] = buf_init[b]
        pipe = np.zeros((n_buf, block))
        stock = np.zeros((n_stage, block))
        sched_pos = np.zeros((n_stage, block), np.bool_)
        in_process = np.zeros((n_stage, block))
        remaining = np.zeros((n_dest, block))
        for j in range(n_dest):
            remaining[j, :] = demand[j]
        started = np.zeros((n_stage, block))
        completed = np.zeros((n_stage, block))
        cap_total = np.zeros((n_stage, block))
        bound_days = np.zeros((n_stage, block))
        bneck_days = np.zeros((n_stage, block))
        shipped = np.zeros((n_lane, block))
        allotted = np.zeros((n_dest, block))
        delivered = np.zeros((n_dest, block))
        last_stage = np.zeros((5, n_stage, block))
        last_dest = np.zeros((n_dest, block))
        n_checkpoint = 0
        bucket_left = bucket_days
        for t in range(horizon):
            for ln in range(n_lane):
                lane_pos[ln] = t % lane_len[ln]
            for q in range(n_slot):
                slot_pos[q] = t % slot_len[q]
            # 1. capacities
            for s in range(n_stage):
                if t < first_active[s] or not cap_changes[s, t]:
                    continue  # 0 before a stage's first possible day; else unchanged since yesterday
                base = base_cap[s, t]
                for r in range(nb):
                    cap[s, r] = base * scale[s, r0 + r]
            for e in range(exp_stage.shape[0]):
                if t + 1 <= exp_first[e]:
                    continue  # not started in any run yet
                s = exp_stage[e]
                for r in range(nb):
                    frac = (t - exp_start[e, r0 + r] + 1) * exp_inv_ramp[e, r0 + r]
                    cap[s, r] += exp_add[e, r0 + r] * min(max(frac, 0.0), 1.0)
            for s in range(n_stage):
                if cap_changes[s, t]:
                    for r in range(nb):
                        sched_pos[s, r] = cap[s, r] > 0.0
            for d in range(dis_stage.shape[0]):
                if t < dis_first[d] or t >= dis_last[d]:
                    continue  # outside every run's window
                s = dis_stage[d]
                f = dis_factor[d]
                for r in range(nb):
                    down = dis_start[d, r0 + r] <= t < dis_end[d, r0 + r]
                    cap[s, r] = cap[s, r] * f if down else cap[s, r]
            for s in range(n_stage - 1, -1, -1):
                if closable[s]:
                    for r in range(nb):
                        is_open[s, r] = 0.0
                    for k in range(out_ptr[s], out_ptr[s + 1]):
                        if out_kind[k] == 0:
                            cons = out_consumer[k]
                            for r in range(nb):
                                is_open[s, r] = 1.0 if cap[cons, r] > 0.0 else is_open[s, r]
                        else:
                            j = out_dest[k]
                            for r in range(nb):
                                is_open[s, r] = 1.0 if remaining[j, r] > 0.0 else is_open[s, r]
                    for r in range(nb):
                        cap[s, r] *= is_open[s, r]
            # 2. stages in processing order. Decisions that depend on the stage or outflow are taken
            # outside the loops over runs, so every inner loop is a straight pass the compiler vectorises.
            for s in range(n_stage):
                if t < first_active[s]:
                    continue
                for i in range(inl_ptr[s], inl_ptr[s + 1]):
                    ln = inl_lane[i]
                    row = lane_off[ln] + lane_pos[ln]
                    b = lane_buf[ln]
                    if lane_pull[ln]:
                        for r in range(nb):
                            a = lane_ring[row, r]
                            buf[b, r] += a
                            pipe[b, r] -= a
                    else:
                        for r in range(nb):
                            buf[b, r] += lane_ring[row, r]
                k0 = out_ptr[s]
                k1 = out_ptr[s + 1]
                for r in range(nb):
                    c_v[r] = cap[s, r]
                if demand_limited[s]:
                    for r in range(nb):
                        want_v[r] = 0.0
                    for k in range(k0, k1):
                        j = out_dest[k]
                        for r in range(nb):
                            want_v[r] += remaining[j, r]
                    for r in range(nb):
                        want = max(want_v[r] - in_process[s, r] - stock[s, r], 0.0)
                        g = gross[s, r0 + r]
                        want_v[r] = want / g if g > 0.0 else np.inf
                        c_v[r] = min(c_v[r], want_v[r])
                if in_ptr[s + 1] > in_ptr[s]:
                    for r in range(nb):
                        allow_v[r] = np.inf
                    for i in range(in_ptr[s], in_ptr[s + 1]):
                        q = in_qty[i]
                        b = in_buf[i]
                        if q != 1.0:
                            for r in range(nb):
                                allow_v[r] = min(allow_v[r], buf[b, r] / q)
                        else:
                            for r in range(nb):
                                allow_v[r] = min(allow_v[r], buf[b, r])
                    for r in range(nb):
                        st_v[r] = min(c_v[r], allow_v[r])
                        bound[s, r] = c_v[r] <= allow_v[r] and allow_v[r] > 0.0 and sched_pos[s, r]
                    for i in range(in_ptr[s], in_ptr[s + 1]):
                        q = in_qty[i]
                        b = in_buf[i]
                        if q != 1.0:
                            for r in range(nb):
                                buf[b, r] -= st_v[r] * q
                        else:
                            for r in range(nb):
                                buf[b, r] -= st_v[r]
                else:
                    for r in range(nb):
                        st_v[r] = c_v[r]
                        bound[s, r] = sched_pos[s, r]
                if closable[s]:
                    for r in range(nb):
                        bound[s, r] = bound[s, r] and is_open[s, r] > 0.0
                if demand_limited[s]:
                    for r in range(nb):
                        bound[s, r] = bound[s, r] and not cap[s, r] > want_v[r]
                c_len = comp_len[s]
                c_base = t % c_len
                c_row = comp_off[s] + c_base
                for r in range(nb):
                    started[s, r] += st_v[r]
                    cap_total[s, r] += c_v[r]
                    w_row = c_base + ct[s, r0 + r]
                    if w_row >= c_len:
                        w_row -= c_len
                    comp_ring[comp_off[s] + w_row, r] = st_v[r] * gross[s, r0 + r]
                for r in range(nb):
                    done_v[r] = comp_ring[c_row, r]
                    completed[s, r] += done_v[r]
                if demand_limited[s]:
                    for r in range(nb):
                        in_process[s, r] += st_v[r] * gross[s, r0 + r] - done_v[r]
                # 3. routing: pull lanes first, then capped destinations, then push outflows by share
                if k1 - k0 == 1 and out_never_closes[k0]:
                    for r in range(nb):
                        amount[k0, r] = done_v[r]
                else:
                    for r in range(nb):
                        left_v[r] = stock[s, r] + done_v[r]
                    for k in range(k0, k1):
                        for r in range(nb):
                            amount[k, r] = 0.0
                    n_pull = 0
                    for k in range(k0, k1):
                        if out_pull[k] and not out_dead[k]:
                            n_pull += 1
                    if n_pull > 0:
                        for r in range(nb):
                            ask_total[r] = 0.0
                        for k in range(k0, k1):
                            if out_pull[k] and not out_dead[k]:
                                cb = out_cbuf[k]
                                cons = out_consumer[k]
                                scale_k = out_cover[k] * out_qty[k]
                                for r in range(nb):
                                    ask = max(scale_k * cap[cons, r] - (buf[cb, r] + pipe[cb, r]), 0.0)
                                    weight[k, r] = ask
                                    ask_total[r] += ask
                        for r in range(nb):
                            tot = ask_total[r]
                            fill_v[r] = min(left_v[r] / tot, 1.0) if tot > 0.0 else 0.0
                            left_v[r] = left_v[r] - tot * fill_v[r]
                        for k in range(k0, k1):
                            if out_pull[k] and not out_dead[k]:
                                for r in range(nb):
                                    amount[k, r] = weight[k, r] * fill_v[r]
                    for r in range(nb):
                        w_total[r] = 0.0
                        w_free[r] = 0.0
                    any_capped = False
                    any_free = False
                    for k in range(k0, k1):
                        if out_pull[k] or out_dead[k]:
                            continue
                        wk = out_weight[k, t]
                        capped = out_kind[k] == 1 and demand[out_dest[k]] >= 0.0
                        if wk <= 0.0:
                            for r in range(nb):
                                weight[k, r] = 0.0
                        elif out_kind[k] == 0:
                            cons = out_consumer[k]
                            if out_bycap[k]:
                                wq = wk * out_qty[k]
                                for r in range(nb):
                                    weight[k, r] = wq * cap[cons, r]
                            else:
                                for r in range(nb):
                                    weight[k, r] = wk if cap[cons, r] > 0.0 else 0.0
                        elif capped:
                            j = out_dest[k]
                            for r in range(nb):
                                weight[k, r] = wk if remaining[j, r] > 0.0 else 0.0
                        else:
                            for r in range(nb):
                                weight[k, r] = wk
                        for r in range(nb):
                            w_total[r] += weight[k, r]
                        if capped:
                            any_capped = True
                        else:
                            any_free = True
                            for r in range(nb):
                                w_free[r] += weight[k, r]
                    if any_capped:
                        for k in range(k0, k1):
                            if out_kind[k] == 1 and demand[out_dest[k]] >= 0.0 and not out_dead[k]:
                                j = out_dest[k]
                                for r in range(nb):
                                    wk = weight[k, r]
                                    if wk != 0.0:
                                        safe = w_total[r] if w_total[r] > 0.0 else 1.0
                                        amt = min(left_v[r] * (wk / safe), remaining[j, r])
                                        amount[k, r] = amt
                                        left_v[r] = left_v[r] - amt
                    if any_free:
                        for k in range(k0, k1):
                            free = not out_pull[k] and not out_dead[k]
                            free = free and (out_kind[k] == 0 or demand[out_dest[k]] < 0.0)
                            if free:
                                for r in range(nb):
                                    if w_free[r] > 0.0:
                                        amount[k, r] = left_v[r] * (weight[k, r] / w_free[r])
                        for r in range(nb):
                            if w_free[r] > 0.0:
                                left_v[r] = 0.0
                    for r in range(nb):
                        stock[s, r] = left_v[r]
                for k in range(k0, k1):
                    if out_dead[k]:
                        continue
                    if out_kind[k] == 0:
                        ln = out_target[k]
                        pos = lane_pos[ln]
                        l_len = lane_len[ln]
                        off = lane_off[ln]
                        for r in range(nb):
                            row = pos + lane_delay[ln, r0 + r]
                            if row >= l_len:
                                row -= l_len
                            lane_ring[off + row, r] = amount[k, r]
                            shipped[ln, r] += amount[k, r]
                        if out_pull[k]:
                            cb = out_cbuf[k]
                            for r in range(nb):
                                pipe[cb, r] += amount[k, r]
                    else:
                        q = out_target[k]
                        pos = slot_pos[q]
                        q_len = slot_len[q]
                        off = slot_off[q]
                        j = out_dest[k]
                        for r in range(nb):
                            row = pos + slot_delay[q, r0 + r]
                            if row >= q_len:
                                row -= q_len
                            slot_ring[off + row, r] = amount[k, r]
                            allotted[j, r] += amount[k, r]
                        if demand[j] >= 0.0:
                            for r in range(nb):
                                remaining[j, r] -= amount[k, r]
            # 4. deliveries
            for q in range(n_slot):
                row = slot_off[q] + slot_pos[q]
                j = slot_dest[q]
                for r in range(nb):
                    delivered[j, r] += slot_ring[row, r]
            # 5. bottlenecks: capacity-bound with no capacity-bound stage downstream (reverse order)
            for s in range(n_stage - 1, -1, -1):
                for r in range(nb):
                    below_of[s, r] = False
                for i in range(dn_ptr[s], dn_ptr[s + 1]):
                    ch = dn_child[i]
                    for r in range(nb):
                        below_of[s, r] = below_of[s, r] or bound[ch, r] or below_of[ch, r]
                if t < first_active[s]:
                    continue
                for r in range(nb):
                    bd = bound[s, r]
                    bound_days[s, r] += 1.0 if bd else 0.0
                    bneck_days[s, r] += 1.0 if bd and not below_of[s, r] else 0.0
            # 6. checkpoints and buckets
            if checkpoint_flag[t + 1]:
                for j in range(n_dest):
                    for r in range(nb):
                        checkpoints[n_checkpoint, j, r0 + r] = delivered[j, r]
                n_checkpoint += 1
            bucket_left -= 1
            if bucket_left == 0 or t + 1 == horizon:
                bucket_left = bucket_days
                w = t // bucket_days
                for s in range(n_stage):
                    acc0 = 0.0
                    acc1 = 0.0
                    acc2 = 0.0
                    acc3 = 0.0
                    for r in range(nb):
                        series_stage[s, w, r0 + r] = completed[s, r] - last_stage[0, s, r]
                        acc0 += np.rint((started[s, r] - last_stage[1, s, r]) * MILLI)
                        acc1 += np.rint((cap_total[s, r] - last_stage[2, s, r]) * MILLI)
                        acc2 += np.rint((bound_days[s, r] - last_stage[3, s, r]) * MILLI)
                        acc3 += np.rint((bneck_days[s, r] - last_stage[4, s, r]) * MILLI)
                        last_stage[0, s, r] = completed[s, r]
                        last_stage[1, s, r] = started[s, r]
                        last_stage[2, s, r] = cap_total[s, r]
                        last_stage[3, s, r] = bound_days[s, r]
                        last_stage[4, s, r] = bneck_days[s, r]
                    sums_stage[0, s, w] += acc0
                    sums_stage[1, s, w] += acc1
                    sums_stage[2, s, w] += acc2
                    sums_stage[3, s, w] += acc3
                for j in range(n_dest):
                    for r in range(nb):
                        series_dest[j, w, r0 + r] = delivered[j, r] - last_dest[j, r]
                        last_dest[j, r] = delivered[j, r]
        # 7. totals at the end of the horizon, with what is still in process or in transit
        for s in range(n_stage):
            for r in range(nb):
                pending = 0.0
                for back in range(min(ct[s, r0 + r], horizon)):
                    pending += comp_ring[comp_off[s] + (horizon - 1 - back + ct[s, r0 + r]) % comp_len[s], r]
                tot_stage[0, s, r0 + r] = started[s, r]
                tot_stage[1, s, r0 + r] = completed[s, r]
                tot_stage[2, s, r0 + r] = cap_total[s, r]
                tot_stage[3, s, r0 + r] = bound_days[s, r]
                tot_stage[4, s, r0 + r] = bneck_days[s, r]
                tot_stage[5, s, r0 + r] = pending
                tot_stage[6, s, r0 + r] = stock[s, r]
        for b in range(n_buf):
            for r in range(nb):
                tot_buf[b, r0 + r] = buf[b, r]
        for ln in range(n_lane):
            for r in range(nb):
                pending = 0.0
                for back in range(min(lane_delay[ln, r0 + r], horizon)):
                    pending += lane_ring[
                        lane_off[ln] + (horizon - 1 - back + lane_delay[ln, r0 + r]) % lane_len[ln], r
                    ]
                tot_lane[0, ln, r0 + r] = shipped[ln, r]
                tot_lane[1, ln, r0 + r] = pending
        for j in range(n_dest):
            for r in range(nb):
                tot_dest[0, j, r0 + r] = allotted[j, r]
                tot_dest[1, j, r0 + r] = delivered[j, r]
        for q in range(n_slot):
            for r in range(nb):
                pending = 0.0
                for back in range(min(slot_delay[q, r0 + r], horizon)):
                    pending += slot_ring[
                        slot_off[q] + (horizon - 1 - back + slot_delay[q, r0 + r]) % slot_len[q], r
                    ]
                tot_dest[2, slot_dest[q], r0 + r] += pending
    return n_out


def simulate_compiled(
    s: Scenario,
    params: Parameters,
    *,
    bucket_days: int = 7,
    checkpoint_days: tuple[int, ...] = (),
    network: Network | None = None,
    run_block: int = RUN_BLOCK,
) -> RunResult:
    """Drop-in for ``engine.simulate``: same inputs, same ``RunResult`` keys and values."""
    net = network or compile_network(s)
    packed = pack(s, net, params)
    runs = len(next(iter(params.values())))
    horizon = net.horizon
    order = net.order
    n_stage, n_lane, n_dest = len(order), len(net.lanes), len(net.destinations)
    buckets = -(-horizon // bucket_days)
    checkpoint_flag = np.zeros(horizon + 1, dtype=np.bool_)
    cps = sorted(set(checkpoint_days))
    for day in cps:
        checkpoint_flag[day] = True
    tot_stage = np.zeros((7, n_stage, runs))
    tot_buf = np.zeros((len(packed["buf_init"]), runs))
    tot_lane = np.zeros((2, n_lane, runs))
    tot_dest = np.zeros((3, n_dest, runs))
    series_stage = np.zeros((n_stage, buckets, runs), dtype=np.float32)
    series_dest = np.zeros((n_dest, buckets, runs), dtype=np.float32)
    sums_stage = np.zeros((4, n_stage, buckets))
    checkpoints = np.zeros((len(cps), n_dest, runs))
    _kernel(
        **packed,
        bucket_days=bucket_days,
        checkpoint_flag=checkpoint_flag,
        run_block=run_block,
        tot_stage=tot_stage,
        tot_buf=tot_buf,
        tot_lane=tot_lane,
        tot_dest=tot_dest,
        series_stage=series_stage,
        series_dest=series_dest,
        sums_stage=sums_stage,
        checkpoints=checkpoints,
    )
    result = RunResult(runs=runs, bucket_days=bucket_days)
    slot = 0
    for i, sid in enumerate(order):
        p = f"stages.{sid}"
        result.totals |= {
            f"{p}.started": tot_stage[0, i],
            f"{p}.completed": tot_stage[1, i],
            f"{p}.capacity": tot_stage[2, i],
            f"{p}.bound_days": tot_stage[3, i],
            f"{p}.bottleneck_days": tot_stage[4, i],
            f"{p}.cost_usd": tot_stage[0, i] * params[f"{p}.cost_per_unit_usd"],
            f"{p}.in_process": tot_stage[5, i],
            f"{p}.stock": tot_stage[6, i],
        }
        for item in net.stages[sid].consumes:
            result.totals[f"{p}.buffer.{item}"] = tot_buf[slot]
            slot += 1
        result.series[f"{p}.completed"] = series_stage[i]
        for m, name in enumerate(("started", "capacity", "bound_days", "bottleneck_days")):
            result.sums[f"{p}.{name}"] = sums_stage[m, i].astype(np.int64)
    for ln in net.lanes:
        i = ln.index
        shipped = tot_lane[0, i]
        result.totals |= {
            f"lanes.{i}.shipped": shipped,
            f"lanes.{i}.in_transit": tot_lane[1, i],
            f"lanes.{i}.cost_usd": shipped * params[f"lanes.{i}.cost_per_unit_usd"],
            f"lanes.{i}.tariff_usd": shipped
            * params[f"items.{ln.item}.value_usd"]
            * params[f"lanes.{i}.tariff_rate"],
        }
    for j, d in enumerate(net.destinations):
        result.totals |= {
            f"destinations.{d.id}.allotted": tot_dest[0, j],
            f"destinations.{d.id}.delivered": tot_dest[1, j],
            f"destinations.{d.id}.in_transit": tot_dest[2, j],
        }
        result.series[f"destinations.{d.id}.delivered"] = series_dest[j]
        for c, day in enumerate(cps):
            result.checkpoints[f"{d.id}@{day}"] = checkpoints[c, j]
    return result
