"""Flattening a compiled network and its per-run draws into the arrays the numba kernel takes."""

from __future__ import annotations

from typing import Any

import numpy as np

from aifactory.scenario.model import Scenario
from aifactory.supply.network import Network, never_closes
from aifactory.supply.parameters import Parameters

I64 = np.int64


def _days(values: np.ndarray, minimum: int = 0) -> np.ndarray:
    days: np.ndarray = np.maximum(np.rint(values), minimum).astype(I64)
    return days


def _csr(groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(groups) + 1, dtype=I64)
    ptr[1:] = np.cumsum([len(g) for g in groups])
    flat: np.ndarray = np.array([x for g in groups for x in g], dtype=I64)
    return ptr, flat


def pack(s: Scenario, net: Network, params: Parameters) -> dict[str, Any]:
    """Flatten the network and the per-run draws into arrays (stages indexed in processing order)."""
    order = net.order
    index = {sid: i for i, sid in enumerate(order)}
    runs = len(next(iter(params.values())))
    horizon = net.horizon
    # input buffers: one slot per (stage, item)
    buf_slot: dict[tuple[str, str], int] = {}
    in_groups: list[list[int]] = []
    in_qty: list[float] = []
    buf_init: list[float] = []
    for sid in order:
        group = []
        for item, qty in net.stages[sid].consumes.items():
            buf_slot[(sid, item)] = len(buf_init)
            buf_init.append(float(s.stages[sid].initial_inventory.get(item, 0.0)))
            group.append(len(in_qty))
            in_qty.append(qty)
        in_groups.append(group)
    in_ptr, in_flat = _csr(in_groups)
    in_buf = np.array(
        [buf_slot[(sid, item)] for sid in order for item in net.stages[sid].consumes], dtype=I64
    )
    del in_flat
    lanes = net.lanes
    lane_delay = np.array(
        [_days(params[f"lanes.{ln.index}.transit_days"], 1 if ln.back else 0) for ln in lanes], dtype=I64
    ).reshape(len(lanes), runs)
    inl_ptr, inl_lane = _csr([net.stages[sid].inflows for sid in order])
    # destination slots: one per (source stage, destination)
    slot_dest: list[int] = []
    slot_delay: list[np.ndarray] = []
    out_groups: list[list[int]] = []
    outs: list[Any] = []
    for sid in order:
        group = []
        for out in net.stages[sid].outflows:
            group.append(len(outs))
            outs.append((sid, out))
        out_groups.append(group)
    for j, dest in enumerate(net.destinations):
        for _ in dest.sources:
            slot_dest.append(j)
            slot_delay.append(_days(params[f"destinations.{dest.id}.transit_days"]))
    out_ptr, _ = _csr(out_groups)
    n_out = len(outs)
    out_kind = np.zeros(n_out, dtype=I64)
    out_target = np.zeros(n_out, dtype=I64)
    out_dest = np.full(n_out, -1, dtype=I64)
    out_consumer = np.full(n_out, -1, dtype=I64)
    out_cbuf = np.full(n_out, -1, dtype=I64)
    out_weight = np.zeros((n_out, horizon))
    out_bycap = np.zeros(n_out, dtype=np.bool_)
    out_pull = np.zeros(n_out, dtype=np.bool_)
    out_qty = np.ones(n_out)
    out_cover = np.zeros(n_out)
    for k, (_, out) in enumerate(outs):
        out_weight[k] = out.weight
        if out.kind == "lane":
            lane = lanes[out.index]
            out_target[k] = out.index
            out_consumer[k] = index[lane.dst]
            out_cbuf[k] = buf_slot[(lane.dst, lane.item)]
            out_bycap[k], out_pull[k], out_qty[k], out_cover[k] = (
                out.by_capacity,
                out.pull,
                out.qty,
                out.cover_days,
            )
        else:
            out_kind[k] = 1
            out_target[k] = out.slot
            out_dest[k] = out.index
    stage_specs = [net.stages[sid] for sid in order]
    dn_ptr, dn_child = _csr([[index[c] for c in net.downstream[sid]] for sid in order])
    exp_stage, exp_start, exp_inv_ramp, exp_add = [], [], [], []
    dis_stage, dis_start, dis_end, dis_factor = [], [], [], []
    for i, sid in enumerate(order):
        p = f"stages.{sid}"
        for e, exp in enumerate(s.stages[sid].expansions):
            exp_stage.append(i)
            exp_start.append(s.day(exp.date) + np.rint(params[f"{p}.expansions.{e}.delay_days"]))
            exp_inv_ramp.append(1.0 / np.maximum(np.rint(params[f"{p}.expansions.{e}.ramp_days"]), 1.0))
            exp_add.append(params[f"{p}.expansions.{e}.add_per_day"])
        for d, dis in enumerate(s.stages[sid].disruptions):
            b = f"{p}.disruptions.{d}"
            start = s.day(dis.start) + np.rint(params[f"{b}.start_offset_days"])
            dis_stage.append(i)
            dis_start.append(np.where(params[f"{b}.occurs"] > 0, start, np.inf))
            dis_end.append(start + np.rint(params[f"{b}.days"]))
            dis_factor.append(dis.capacity_factor)

    def rows(values: list[Any], dtype: Any = np.float64) -> np.ndarray:
        return np.array(values, dtype=dtype).reshape(len(values), runs)

    # The first day each stage can have capacity in any run: before it the stage is skipped (nothing can
    # reach it either, since closed consumers get nothing), which is exact and saves idle work.
    first_active = np.full(len(order), horizon, dtype=I64)
    for i, st in enumerate(stage_specs):
        positive = np.flatnonzero(st.base_capacity > 0)
        if positive.size:
            first_active[i] = positive[0]
    for e, i in enumerate(exp_stage):
        first_active[i] = min(first_active[i], max(0, int(np.floor(np.min(exp_start[e])))))
    out_dead = np.array(
        [out_consumer[k] >= 0 and first_active[out_consumer[k]] >= horizon for k in range(n_out)]
    )
    out_never_closes = np.array([never_closes(out, net) for _, out in outs], dtype=np.bool_)

    # Days on which a stage's capacity may differ from the day before (ramps, expansions, disruptions,
    # closure, its first day): on all other days the kernel keeps yesterday's capacity.
    cap_changes = np.zeros((len(order), horizon), dtype=np.bool_)
    for i, st in enumerate(stage_specs):
        varies = i in set(exp_stage) or i in set(dis_stage) or st.closable
        if varies:
            cap_changes[i, :] = True
            continue
        cap_changes[i, 0] = True
        cap_changes[i, 1:] = st.base_capacity[1:] != st.base_capacity[:-1]
        if 0 < first_active[i] < horizon:
            cap_changes[i, first_active[i]] = True

    return {
        "base_cap": np.array([st.base_capacity for st in stage_specs]).reshape(len(order), horizon),
        "scale": rows([params[f"stages.{sid}.capacity_scale"] for sid in order]),
        "gross": rows(
            [params[f"stages.{sid}.yield"] * params[f"stages.{sid}.output_per_unit"] for sid in order]
        ),
        "ct": rows([_days(params[f"stages.{sid}.cycle_time_days"]) for sid in order], I64),
        "in_ptr": in_ptr,
        "in_buf": in_buf,
        "in_qty": np.array(in_qty),
        "buf_init": np.array(buf_init),
        "inl_ptr": inl_ptr,
        "inl_lane": inl_lane,
        "lane_buf": np.array([buf_slot[(ln.dst, ln.item)] for ln in lanes], dtype=I64),
        "lane_pull": np.array([ln.pull for ln in lanes], dtype=np.bool_),
        "lane_delay": lane_delay,
        "out_ptr": out_ptr,
        "out_kind": out_kind,
        "out_target": out_target,
        "out_dest": out_dest,
        "out_consumer": out_consumer,
        "out_cbuf": out_cbuf,
        "out_weight": out_weight,
        "out_bycap": out_bycap,
        "out_pull": out_pull,
        "out_qty": out_qty,
        "out_cover": out_cover,
        "slot_dest": np.array(slot_dest, dtype=I64),
        "slot_delay": rows(slot_delay, I64),
        "demand": np.array([d.demand if d.demand is not None else -1.0 for d in net.destinations]),
        "closable": np.array([st.closable for st in stage_specs], dtype=np.bool_),
        "dn_ptr": dn_ptr,
        "dn_child": dn_child,
        "exp_stage": np.array(exp_stage, dtype=I64),
        "exp_start": rows(exp_start),
        "exp_inv_ramp": rows(exp_inv_ramp),
        "exp_add": rows(exp_add),
        "dis_stage": np.array(dis_stage, dtype=I64),
        "dis_start": rows(dis_start),
        "dis_end": rows(dis_end),
        "dis_factor": np.array(dis_factor),
        "first_active": first_active,
        "cap_changes": cap_changes,
        "exp_first": np.array([np.floor(np.min(x)) for x in exp_start]),
        "dis_first": np.array([np.min(x) for x in dis_start]),
        "dis_last": np.array([np.max(x) for x in dis_end]),
        "out_dead": out_dead.astype(np.bool_),
        "demand_limited": np.array([st.demand_limited for st in stage_specs], dtype=np.bool_),
        "out_never_closes": out_never_closes,
    }
