"""The flow of lots through the fab engine: release, arrival at a step, moving on, completion.

A lot moving on may go back for rework, skip sampled steps, wait for the tool that did its dedicated
step and pay transport between the steps' locations; an arriving lot wakes an idle tool of its family.
"""

from __future__ import annotations

import math

from aifactory.fab.breakdowns import ToolDowns
from aifactory.fab.events import K_ARRIVE, K_DELAY, K_RELEASE


class LotFlow(ToolDowns):
    """The run's state with dispatching, tool downs and the lots' moves from release to completion."""

    def new_lot(
        self,
        type_name: str,
        part: str,
        prio: int,
        wafers: int,
        release: float,
        due: float | None,
        step: int,
        now: float,
        sample_first: bool,
    ) -> None:
        """Create a lot at ``step`` of its part's route and send it there (sampling it if asked)."""
        m = self.m
        lot = len(self.lot_step)
        flow = self.flow[self._type(type_name)]
        if now < self.warmup:
            flow[0] += 1
        else:
            flow[1] += 1
            flow[2] += wafers
        base = m.route_base[self.dataset.parts[part].route]
        s = base + step
        self.lot_step.append(s)
        self.lot_wafers.append(wafers)
        self.lot_prio.append(prio)
        self.lot_release.append(release)
        self.lot_due.append(math.inf if due is None else due)
        self.lot_type.append(self._type(type_name))
        self.lot_pfam.append(m.part_family.get(self.dataset.parts[part].family, 0))
        self.lot_ded_step.append(-1)
        self.lot_ded_tool.append(-1)
        self.lot_rw.append(None)
        if sample_first:
            end = m.step_route_end[s]
            sampling = m.step_sampling
            while s < end and sampling[s] < 1.0 and self.u() >= sampling[s]:
                s += 1
            if s >= end:
                self.complete(lot, now)
                return
            self.lot_step[lot] = s
        self.arrive(lot, now)

    def release(self, i: int, k: int, now: float) -> None:
        """Release ``i`` (periodic first, then listed) is due for the ``k``-th time."""
        if i >= len(self.periodic):
            lr = self.listed[i - len(self.periodic)]
            self.new_lot(lr.lot_type, lr.part, lr.priority, lr.wafers, now, lr.due, 0, now, True)
            return
        r = self.periodic[i]
        due = None if r.due_offset is None else now + r.due_offset
        for _ in range(r.lots_per_release):
            self.new_lot(r.lot_type, r.part, r.priority, r.wafers, now, due, 0, now, True)
        if k + 1 < r.repeats:
            self.push(now + self.draw(self.intervals[i]), K_RELEASE, i, k + 1)

    def complete(self, lot: int, now: float) -> None:
        """``lot`` left its route: count it (in the KPIs after the warm-up)."""
        self.completed += 1
        if now < self.warmup:
            self.flow[self.lot_type[lot]][3] += 1
        else:
            t = self.lot_type[lot]
            self.done_n[t] += 1
            self.done_ct[t] += now - self.lot_release[lot]
            if now <= self.lot_due[lot]:
                self.done_ontime[t] += 1
            self.done_lots.append((t, self.lot_release[lot], now, self.lot_wafers[lot]))

    def arrive(self, lot: int, now: float) -> None:
        """``lot`` reaches its step: join the family's queue and wake an idle tool, or start a delay."""
        m = self.m
        s = self.lot_step[lot]
        f = m.step_fam[s]
        if m.fam_delay[f]:
            self.push(now + self.proc_time(s, self.lot_wafers[lot]), K_DELAY, lot)
            return
        self.queue[f].append(lot)
        counts = self.q_prio[f]
        p = self.lot_prio[lot]
        counts[p] = counts.get(p, 0) + 1
        idle = self.idle[f]
        if not idle:
            return
        tool = idle[0]
        if self.lot_ded_step[lot] == s:
            tool = self.lot_ded_tool[lot]
            if not self.t_idle[tool]:
                return
        elif m.fam_wake_setup[f]:
            su = m.step_setup[s]
            if su >= 0:
                setups = self.t_setup
                for t in idle:
                    if setups[t] == su:
                        tool = t
                        break
        if self.try_start(tool, now) or not m.fam_min_run[f]:
            return
        # a tool held in its setup by a minimum run declined: another idle tool may take the lot
        for t in list(idle):
            if t != tool and self.try_start(t, now):
                return

    def advance(self, lot: int, now: float, tool: int) -> None:
        """The lot finished its step on ``tool``: move it on (rework, sampling, transport)."""
        m = self.m
        s = self.lot_step[lot]
        ded = m.step_ded[s]
        if ded >= 0:
            self.lot_ded_step[lot] = ded
            self.lot_ded_tool[lot] = tool
        ns = s + 1
        p = m.step_rw_p[s]
        if p > 0.0 and self.u() < p:
            done = self.lot_rw[lot]
            if done is None:
                done = self.lot_rw[lot] = set()
            if s not in done:
                done.add(s)
                ns = m.step_rw_to[s]
        end = m.step_route_end[s]
        sampling = m.step_sampling
        while ns < end and sampling[ns] < 1.0 and self.u() >= sampling[ns]:
            ns += 1
        if ns >= end:
            self.complete(lot, now)
            return
        self.lot_step[lot] = ns
        d = self.trans[m.fam_loc[m.step_fam[s]]][m.fam_loc[m.step_fam[ns]]]
        tt = 0.0 if d is None else self.draw(d)
        if tt > 0.0:
            self.push(now + tt, K_ARRIVE, lot)
        else:
            self.arrive(lot, now)
