"""Dispatching in the fab engine: which lot (or batch) a free tool starts next, and starting it.

Each family's rule (:mod:`aifactory.fab.dispatch`) is served by a named dispatch mode: the common rules
by a single pass over the queue, any other by a full ranking of the eligible lots.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from aifactory.fab.dataset import Dataset
from aifactory.fab.dispatch import FamilyRule
from aifactory.fab.events import K_DONE, K_READY
from aifactory.fab.model_build import BASIS_BATCH, BATCH_SAME_STEP, FabModel
from aifactory.fab.state import FabState

# The two first-eligible-lot modes are numbered lowest: ``mode <= PRIORITY_FIFO`` tests for either.
FIFO: Final = 0
"""Dispatch mode of FIFO-only rules: the first eligible lot in the queue."""
PRIORITY_FIFO: Final = 1
"""Dispatch mode of priority-then-FIFO rules: the first eligible lot of the highest waiting priority
(the full ranking when no eligible lot has it)."""
RANKED: Final = 2
"""Dispatch mode of every other rule: the best of a full ranking of the eligible lots."""
PRIORITY_SETUP_FIFO: Final = 3
"""Dispatch mode of priority, then no setup needed, then FIFO (no critical ratio, no setup first, no
minimum run): one pass, stopping at a lot of the top priority that needs no setup."""


def dispatch_mode(rule: FamilyRule, has_min_run: bool) -> int:
    """The dispatch mode serving ``rule`` in a family whose setup group has a minimum run or not."""
    if rule.fifo_only:
        return FIFO
    if rule.hp_only:
        return PRIORITY_FIFO
    if rule.hp and rule.rsetup and not (rule.cr or rule.setup_first or has_min_run):
        return PRIORITY_SETUP_FIFO
    return RANKED


class Dispatcher(FabState):
    """The run's state with dispatching: picking lots or batches for a free tool and starting the job."""

    def __init__(
        self, dataset: Dataset, model: FabModel, rng: np.random.Generator, end: float, warmup: float
    ) -> None:
        super().__init__(dataset, model, rng, end, warmup)
        self.fam_mode = [dispatch_mode(r, bool(model.fam_min_run[f])) for f, r in enumerate(model.fam_rule)]
        """Per family: its dispatch mode (:data:`FIFO` …)."""

    def _ranked(self, tool: int, f: int, q: list[int], now: float) -> list[int]:
        """Eligible lots of queue ``q`` for ``tool``, best first."""
        m = self.m
        rule = m.fam_rule[f]
        cur = self.t_setup[tool]
        step_setup = m.step_setup
        lot_step = self.lot_step
        keyed: list[tuple[float, float, float, float, int, int]] = []
        min_run = m.fam_min_run[f]
        locked = bool(min_run) and self.t_runs[tool] < min_run.get(cur, 0)
        ded_step = self.lot_ded_step
        ded_tool = self.lot_ded_tool
        for i, lot in enumerate(q):
            s = lot_step[lot]
            if ded_step[lot] == s and ded_tool[lot] != tool:
                continue
            su = step_setup[s]
            if locked and su >= 0 and su != cur:
                continue  # minimum run: stay in the current setup
            needs = 1.0 if su >= 0 and su != cur else 0.0
            cr = 0.0
            if rule.cr:
                cr = (self.lot_due[lot] - now) / max(m.step_remaining[s], 1.0)
            keyed.append(
                (
                    needs if rule.setup_first else 0.0,
                    -self.lot_prio[lot] if rule.hp else 0.0,
                    needs if rule.rsetup else 0.0,
                    cr,
                    i,
                    lot,
                )
            )
        keyed.sort()
        return [k[5] for k in keyed]

    def pick_one(self, tool: int, f: int, q: list[int], now: float) -> int:
        """Index in ``q`` of the lot ``tool`` takes next, -1 = none."""
        mode = self.fam_mode[f]
        if mode <= PRIORITY_FIFO:  # FIFO or PRIORITY_FIFO, the modes numbered lowest
            ded_step = self.lot_ded_step
            lot_step = self.lot_step
            ded_tool = self.lot_ded_tool
            prio = self.lot_prio
            top = -1
            if mode == PRIORITY_FIFO:
                counts = self.q_prio[f]
                for p, n in counts.items():
                    if n > 0 and p > top:
                        top = p
            for i, lot in enumerate(q):
                ds = ded_step[lot]
                if ds >= 0 and ds == lot_step[lot] and ded_tool[lot] != tool:
                    continue
                if top < 0 or prio[lot] == top:
                    return i
            if top < 0:
                return -1
            # no eligible lot has the top priority: fall through to the full ranking
        elif mode == PRIORITY_SETUP_FIFO:
            ded_step = self.lot_ded_step
            lot_step = self.lot_step
            ded_tool = self.lot_ded_tool
            prio = self.lot_prio
            step_setup = self.m.step_setup
            cur = self.t_setup[tool]
            top = max((p for p, n in self.q_prio[f].items() if n > 0), default=0)
            best = -1
            best_key = 0
            for i, lot in enumerate(q):
                s = lot_step[lot]
                if ded_step[lot] == s and ded_tool[lot] != tool:
                    continue
                su = step_setup[s]
                needs = 1 if su >= 0 and su != cur else 0
                key = needs - 2 * prio[lot]
                if best < 0 or key < best_key:
                    best, best_key = i, key
                    if needs == 0 and prio[lot] == top:
                        break
            return best
        ranked = self._ranked(tool, f, q, now)
        return q.index(ranked[0]) if ranked else -1

    def pick_batch(self, tool: int, f: int, q: list[int], now: float) -> list[int]:
        """The lots of the batch ``tool`` starts next (one lot at a non-batch step), [] = none yet."""
        m = self.m
        by_wafer = m.fam_batch_by_wafer[f]
        same_step = m.fam_batch_crit[f] == BATCH_SAME_STEP
        lot_step = self.lot_step
        # quick check: can any batch reach its minimum (ignoring the maximum)?
        totals: dict[int, int] = {}
        ready = False
        for lot in q:
            s = lot_step[lot]
            if m.step_basis[s] != BASIS_BATCH:
                ready = True
                break
            key = s if same_step else -(self.lot_pfam[lot] * 1_000_000 + m.step_name_key[s]) - 1
            total = totals.get(key, 0) + (self.lot_wafers[lot] if by_wafer else 1)
            totals[key] = total
            if total >= m.step_bmin[s]:
                ready = True
                break
        if not ready:
            return []
        groups: dict[int, list[int]] = {}
        sizes: dict[int, int] = {}
        for lot in self._ranked(tool, f, q, now):
            s = lot_step[lot]
            if m.step_basis[s] != BASIS_BATCH:
                return [lot]
            key = s if same_step else -(self.lot_pfam[lot] * 1_000_000 + m.step_name_key[s]) - 1
            size = self.lot_wafers[lot] if by_wafer else 1
            have = sizes.get(key, 0)
            if have and have + size > m.step_bmax[s]:
                continue
            sizes[key] = have + size
            groups.setdefault(key, []).append(lot)
        for key, lots in groups.items():
            if sizes[key] >= m.step_bmin[self.lot_step[lots[0]]]:
                return lots
        return []

    def try_start(self, tool: int, now: float) -> bool:
        """Start the best job the queue offers ``tool`` (assumed free); False if there is none."""
        m = self.m
        f = m.tool_fam[tool]
        q = self.queue[f]
        if not q:
            return False
        if m.fam_batching[f]:
            lots = self.pick_batch(tool, f, q, now)
            if not lots:
                return False
            for lot in lots:
                q.remove(lot)
        else:
            i = self.pick_one(tool, f, q, now)
            if i < 0:
                return False
            lots = [q.pop(i)]
        counts = self.q_prio[f]
        for lot in lots:
            counts[self.lot_prio[lot]] -= 1
        s = self.lot_step[lots[0]]
        wafers = 0
        for lot in lots:
            wafers += self.lot_wafers[lot]
        # setup
        st = 0.0
        su = m.step_setup[s]
        if su >= 0:
            cur = self.t_setup[tool]
            if cur != su or m.step_setup_always[s]:
                d = m.step_stime[s]
                if d is None:
                    d = m.setup_time.get((cur, su))
                    if d is None:
                        d = m.setup_any.get(su)
                if d is not None:
                    st = self.draw(d)
                if cur != su:
                    self.t_runs[tool] = 0
                self.t_setup[tool] = su
            self.t_runs[tool] += len(lots)
        ps = now + st + m.fam_load[f]
        pe = ps + self.proc_time(s, wafers)
        end = pe + m.fam_unload[f]
        gate = end
        if m.fam_cap[f] > 1:
            if m.step_lot_iv[s] > 0.0:
                gate = min(end, ps + m.step_lot_iv[s])
            elif m.step_waf_iv[s] > 0.0:
                gate = min(end, ps + wafers * m.step_waf_iv[s])
        # accounting
        if st > 0.0:
            self.acc_setup[tool] += self.clip(now, now + st)
        uu = self.t_util_until[tool]
        self.acc_util[tool] += self.clip(now if now > uu else uu, end)
        if end > uu:
            self.t_util_until[tool] = end
        # state
        self.t_inproc[tool] += 1
        self.t_gate[tool] = gate
        self.job_seq += 1
        self.jobs[self.job_seq] = lots
        self.push(end, K_DONE, tool, self.job_seq)
        if gate < end:
            self.push(gate, K_READY, tool)
        if self.t_idle[tool]:
            self.t_idle[tool] = False
            self.idle[f].remove(tool)
        return True

    def tool_ready(self, tool: int, now: float) -> None:
        """``tool`` may be able to start a job: do so, else mark it idle."""
        f = self.m.tool_fam[tool]
        if self.t_block[tool] or self.t_inproc[tool] >= self.m.fam_cap[f] or self.t_gate[tool] > now:
            return
        if self.try_start(tool, now):
            return
        if not self.t_idle[tool]:
            self.t_idle[tool] = True
            self.idle[f].append(tool)
