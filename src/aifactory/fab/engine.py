"""A purpose-built discrete-event engine for SMT2020-format wafer fabs.

The event list is a ``heapq`` of ``(time, seq, kind, a, b)`` int/float tuples; state lives in flat
lists indexed by lot, tool, family and global step id (see :mod:`aifactory.fab.model_build`). The core
is pure: no I/O, time starts at 0 (the data set's epoch) and randomness comes from one
``numpy.random.Generator`` seeded by the caller, read through a buffer of uniforms.

Modelling choices (the format leaves them open, see ``docs/fab-format.md``):

* **Breakdowns and PMs on a busy tool** wait: the tool starts nothing new, finishes the job(s) it
  holds, then goes down. The next failure is drawn from the end of the repair; calendar PMs keep their
  fixed calendar (every ``interval`` after the first); count-based PMs trigger after a job completes
  once the tool has processed ``interval`` wafers since its previous PM started (the first at the
  ``FOA`` count). First occurrences of PMs are staggered: the k-th of N tools (k = 1…N) gets
  ``first × k / N``.
* **Jobs**: a job (one lot, or a batch) on a tool takes setup (if needed) + load + processing +
  unload. ``per_piece`` steps take ``wafers × draw``, or ``draw + (wafers − 1) × PartInterval`` when
  wafers cascade. A cascading tool (``STNCAP`` > 1) may start its next job ``BatchInterval`` (or
  ``wafers × PartInterval``) after the previous one finished setup and load, holding at most
  ``STNCAP`` jobs; other steps occupy it until the job ends.
* **Batching**: a free batch tool forms a batch of lots with the same criterion once their size (in
  the family's unit) reaches ``BATCHMN``, taking ranked lots up to ``BATCHMX``; with fewer it waits
  for arrivals. A lot at a batch tool's non-batch step runs alone.
* **Setups**: needed when the step's setup differs from the tool's (or always, with ``WHEN always``);
  time from the route's ``STIME``, else ``setup.txt``, else 0. Tools start with no setup. Lots needing
  no setup are preferred among equal-priority lots (``rank_RSETUP``); ``rule_LSSU`` prefers them
  before priority; arriving lots wake an idle tool already in their setup (``wake_LeastSetupTime``).
  A setup group's minimum run is enforced: a tool that changed to a setup takes only lots of that
  setup (or none) until it has run ``MINRUN`` lots in it, idling rather than changing.
* **Rework**: with the step's probability the lot goes back to ``RWKSTEP``, at most once per step per
  lot; repeated steps draw sampling again. **Sampling**: a step is skipped with probability
  1 − ``StepPercent``/100 (decided when the lot moves to it; WIP lots always do their ``CURSTEP``).
* **Dedication** (``SVESTN``/``FORSTEP``): the later step waits for the tool that did the earlier one.
* **Delay** families (location ``Delay``) are infinite servers: no queue, no tool accounting.
* **Transport** is paid between the locations of consecutive steps (0 when ``fromto.txt`` has no
  pair); not paid into the first step at release.
* Critical queue times are not enforced or measured; ``HOTLOT`` reservation is not modelled.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from aifactory.fab.dataset import Dataset, LotRelease, PeriodicRelease
from aifactory.fab.kpis import Completions, FabResult, LotKpis, ToolKpis
from aifactory.fab.model_build import (
    BASIS_BATCH,
    BASIS_WAFER,
    BATCH_SAME_STEP,
    CONST,
    EXPON,
    UNIFORM,
    Dist,
    FabModel,
    build_model,
    encode,
)

MINUTES_PER_DAY = 1440.0

K_RELEASE = 0
K_ARRIVE = 1
K_DONE = 2
K_READY = 3
K_DELAY = 4
K_DOWN = 5
K_UP = 6

_BUFFER = 1 << 16


class _Sim:
    """The state of one run; :func:`simulate` builds one and calls :meth:`run`."""

    def __init__(
        self, dataset: Dataset, model: FabModel, rng: np.random.Generator, end: float, warmup: float
    ) -> None:
        self.m = model
        self.rng = rng
        self.end = end
        self.warmup = warmup
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.events = 0
        self.ubuf: list[float] = []
        self.ui = _BUFFER
        # lots
        self.lot_step: list[int] = []
        self.lot_wafers: list[int] = []
        self.lot_prio: list[int] = []
        self.lot_release: list[float] = []
        self.lot_due: list[float] = []
        self.lot_type: list[int] = []
        self.lot_pfam: list[int] = []
        self.lot_ded_step: list[int] = []
        self.lot_ded_tool: list[int] = []
        self.lot_rw: list[set[int] | None] = []
        self.type_names: list[str] = []
        self.type_index: dict[str, int] = {}
        # per type accumulators (after warm-up)
        self.done_n: list[int] = []
        self.done_ct: list[float] = []
        self.done_ontime: list[int] = []
        # every lot completing after the warm-up: type, release and completion (minutes), wafers
        self.done_lots: list[tuple[int, float, float, int]] = []
        # per type: lots created before the warm-up ends, lots and wafers created after, lots completed
        # before it (for the release rate and the WIP at both ends of the measured window)
        self.flow: list[list[int]] = []
        self.completed = 0
        # families
        nf = len(model.fam_names)
        self.queue: list[list[int]] = [[] for _ in range(nf)]
        self.idle: list[list[int]] = [[] for _ in range(nf)]
        self.q_prio: list[dict[int, int]] = [{} for _ in range(nf)]
        self.fam_mode = [
            0
            if r.fifo_only
            else 1
            if r.hp_only
            else 3
            if r.hp and r.rsetup and not (r.cr or r.setup_first or model.fam_min_run[f])
            else 2
            for f, r in enumerate(model.fam_rule)
        ]
        """Per family: 0 = FIFO, 1 = priority then FIFO, 3 = priority, no setup, FIFO, 2 = general."""
        """Per family: how many waiting lots have each priority."""
        # tools
        nt = len(model.tool_fam)
        self.t_setup = [-1] * nt
        self.t_runs = [0] * nt
        """Lots processed since the tool's last setup change (for setup groups' minimum runs)."""
        self.t_inproc = [0] * nt
        self.t_gate = [0.0] * nt
        self.t_down = [False] * nt
        self.t_block = [False] * nt
        self.t_pending: list[list[int]] = [[] for _ in range(nt)]
        self.t_idle = [False] * nt
        self.t_util_until = [0.0] * nt
        self.t_count: list[list[float]] = [[0.0] * len(d) for d in model.tool_downs]
        self.t_thr: list[list[float]] = [[math.inf] * len(d) for d in model.tool_downs]
        self.t_wdowns = [[d for d, td in enumerate(downs) if td.by_wafers] for downs in model.tool_downs]
        """Per tool: its wafer-counted downs."""
        self.acc_util = [0.0] * nt
        self.acc_setup = [0.0] * nt
        self.acc_br = [0.0] * nt
        self.acc_pm = [0.0] * nt
        self.jobs: dict[int, list[int]] = {}
        self.job_seq = 0
        # transport by location pair
        nloc = max(model.fam_loc, default=0) + 1
        for a, b in model.transport:
            nloc = max(nloc, a + 1, b + 1)
        self.trans: list[list[Dist | None]] = [[None] * nloc for _ in range(nloc)]
        for (a, b), d in model.transport.items():
            self.trans[a][b] = d
        # releases
        self.periodic = [r for r in dataset.releases if isinstance(r, PeriodicRelease)]
        self.listed = [r for r in dataset.releases if isinstance(r, LotRelease)]
        self.intervals = [encode(r.interval) for r in self.periodic]
        self.dataset = dataset
        for r in dataset.releases:
            self._type(r.lot_type)
        for w in dataset.wip:
            self._type(w.lot_type)

    # -- helpers ---------------------------------------------------------------------------------

    def _type(self, name: str) -> int:
        i = self.type_index.get(name)
        if i is None:
            i = self.type_index[name] = len(self.type_names)
            self.type_names.append(name)
            self.done_n.append(0)
            self.done_ct.append(0.0)
            self.done_ontime.append(0)
            self.flow.append([0, 0, 0, 0])
        return i

    def u(self) -> float:
        i = self.ui
        if i >= _BUFFER:
            self.ubuf = self.rng.random(_BUFFER).tolist()
            i = 0
        self.ui = i + 1
        return self.ubuf[i]

    def draw(self, d: Dist) -> float:
        k = d[0]
        if k == CONST:
            return d[1]
        if k == UNIFORM:
            return d[1] + (d[2] - d[1]) * self.u()
        if k == EXPON:
            return -d[1] * math.log(1.0 - self.u())
        return max(0.0, float(self.rng.normal(d[1], d[2])))

    def push(self, t: float, kind: int, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def clip(self, a: float, b: float) -> float:
        lo = a if a > self.warmup else self.warmup
        hi = b if b < self.end else self.end
        return hi - lo if hi > lo else 0.0

    # -- lots ------------------------------------------------------------------------------------

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

    def complete(self, lot: int, now: float) -> None:
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

    def proc_time(self, s: int, wafers: int) -> float:
        m = self.m
        p = self.draw(m.step_pt[s])
        if m.step_basis[s] == BASIS_WAFER:
            iv = m.step_waf_iv[s]
            return p + (wafers - 1) * iv if iv > 0.0 else p * wafers
        return p

    def arrive(self, lot: int, now: float) -> None:
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

    # -- dispatching -----------------------------------------------------------------------------

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
        if mode < 2:
            ded_step = self.lot_ded_step
            lot_step = self.lot_step
            ded_tool = self.lot_ded_tool
            prio = self.lot_prio
            top = -1
            if mode == 1:
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
        elif mode == 3:
            # priority, then no setup needed, then FIFO: one pass, stopping at a perfect lot
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

    # -- downs -----------------------------------------------------------------------------------

    def on_down(self, tool: int, d: int, now: float) -> None:
        """A breakdown or calendar PM of ``tool`` is due (the next calendar PM is one interval on)."""
        td = self.m.tool_downs[tool][d]
        if td.is_pm and not td.by_wafers:
            self.push(now + self.draw(td.interval), K_DOWN, tool, d)
        self.trigger_down(tool, d, now)

    def trigger_down(self, tool: int, d: int, now: float) -> None:
        pending = self.t_pending[tool]
        if d in pending:
            return
        if self.t_down[tool] or self.t_inproc[tool] > 0:
            pending.append(d)
            self.t_block[tool] = True
        else:
            self.start_down(tool, d, now)

    def start_down(self, tool: int, d: int, now: float) -> None:
        td = self.m.tool_downs[tool][d]
        if self.t_idle[tool]:
            self.t_idle[tool] = False
            self.idle[self.m.tool_fam[tool]].remove(tool)
        self.t_down[tool] = True
        self.t_block[tool] = True
        if td.by_wafers:
            self.t_count[tool][d] = 0.0
            self.t_thr[tool][d] = self.draw(td.interval)
        duration = self.draw(td.duration)
        if td.is_pm:
            self.acc_pm[tool] += self.clip(now, now + duration)
        else:
            self.acc_br[tool] += self.clip(now, now + duration)
        self.push(now + duration, K_UP, tool, d)

    def tool_up(self, tool: int, d: int, now: float) -> None:
        td = self.m.tool_downs[tool][d]
        self.t_down[tool] = False
        if not td.is_pm and not td.by_wafers:
            self.push(now + self.draw(td.interval), K_DOWN, tool, d)
        pending = self.t_pending[tool]
        if pending:
            self.start_down(tool, pending.pop(0), now)
            return
        self.t_block[tool] = False
        self.tool_ready(tool, now)

    # -- the loop --------------------------------------------------------------------------------

    def start(self) -> None:
        m = self.m
        for tool, downs in enumerate(m.tool_downs):
            for d, td in enumerate(downs):
                first = self.draw(td.first)
                if td.by_wafers:
                    self.t_thr[tool][d] = first
                else:
                    self.push(first, K_DOWN, tool, d)
        for tool, f in enumerate(m.tool_fam):
            if not m.fam_delay[f]:
                self.t_idle[tool] = True
                self.idle[f].append(tool)
        for i, r in enumerate(self.periodic):
            if r.repeats > 0 and r.start <= self.end:
                self.push(r.start, K_RELEASE, i, 0)
        for i, lr in enumerate(self.listed):
            if lr.start <= self.end:
                self.push(lr.start, K_RELEASE, len(self.periodic) + i, 0)
        for w in self.dataset.wip:
            self.new_lot(w.lot_type, w.part, w.priority, w.wafers, w.start, w.due, w.step, 0.0, False)

    def release(self, i: int, k: int, now: float) -> None:
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

    def job_done(self, tool: int, job: int, now: float) -> None:
        lots = self.jobs.pop(job)
        self.t_inproc[tool] -= 1
        wafers = 0
        for lot in lots:
            wafers += self.lot_wafers[lot]
            self.advance(lot, now, tool)
        wdowns = self.t_wdowns[tool]
        if wdowns:
            counts = self.t_count[tool]
            thr = self.t_thr[tool]
            for d in wdowns:
                counts[d] += wafers
                if counts[d] >= thr[d]:
                    thr[d] = math.inf
                    self.trigger_down(tool, d, now)
        if self.t_pending[tool] and not self.t_down[tool]:
            if self.t_inproc[tool] == 0:
                self.start_down(tool, self.t_pending[tool].pop(0), now)
            return
        if not self.t_block[tool]:
            self.tool_ready(tool, now)

    def run(self) -> None:
        self.start()
        heap = self.heap
        pop = heapq.heappop
        end = self.end
        job_done = self.job_done
        arrive = self.arrive
        tool_ready = self.tool_ready
        advance = self.advance
        n = 0
        while heap:
            t, _, kind, a, b = pop(heap)
            if t > end:
                break
            n += 1
            if kind == K_DONE:
                job_done(a, b, t)
            elif kind == K_ARRIVE:
                arrive(a, t)
            elif kind == K_READY:
                tool_ready(a, t)
            elif kind == K_DELAY:
                advance(a, t, -1)
            elif kind == K_RELEASE:
                self.release(a, b, t)
            elif kind == K_DOWN:
                self.on_down(a, b, t)
            else:
                self.tool_up(a, b, t)
        self.events = n

    # -- results ---------------------------------------------------------------------------------

    def result(self) -> FabResult:
        m = self.m
        lots: dict[str, LotKpis] = {}
        for i, name in enumerate(self.type_names):
            n = self.done_n[i]
            lots[name] = LotKpis(
                throughput=n,
                cycle_time_days=self.done_ct[i] / n / MINUTES_PER_DAY if n else 0.0,
                on_time_pct=100.0 * self.done_ontime[i] / n if n else 0.0,
            )
        window = max(self.end - self.warmup, 0.0)
        groups: dict[str, ToolKpis] = {}
        for f, name in enumerate(m.fam_names):
            tools = m.fam_tools[f]
            if m.fam_delay[f] or not tools:
                continue
            span = window * len(tools)

            def pct(acc: list[float], tools: list[int] = tools, span: float = span) -> float:
                return 100.0 * sum(acc[t] for t in tools) / span if span > 0 else 0.0

            br = pct(self.acc_br)
            pm = pct(self.acc_pm)
            up = 100.0 - br - pm
            groups[name] = ToolKpis(
                avail=up,
                util=100.0 * pct(self.acc_util) / up if up > 0 else 0.0,
                br=br,
                pm=pm,
                setup=pct(self.acc_setup),
            )
        return FabResult(
            events=self.events,
            lots=lots,
            toolgroups=groups,
            released=len(self.lot_step),
            completed=self.completed,
            wip_end=len(self.lot_step) - self.completed,
            completions=self._completions(),
        )

    def _completions(self) -> Completions:
        rows = self.done_lots
        return Completions(
            type_names=tuple(self.type_names),
            lot_type=np.array([r[0] for r in rows], dtype=np.int32),
            release_days=np.array([r[1] for r in rows], dtype=np.float64) / MINUTES_PER_DAY,
            done_days=np.array([r[2] for r in rows], dtype=np.float64) / MINUTES_PER_DAY,
            wafers=np.array([r[3] for r in rows], dtype=np.int32),
            released_lots=np.array([f[1] for f in self.flow], dtype=np.int64),
            released_wafers=np.array([f[2] for f in self.flow], dtype=np.int64),
            wip_start=np.array([f[0] - f[3] for f in self.flow], dtype=np.int64),
            wip_end=np.array(
                [f[0] + f[1] - f[3] - n for f, n in zip(self.flow, self.done_n, strict=True)], dtype=np.int64
            ),
        )


def simulate(
    dataset: Dataset,
    *,
    days: float,
    warmup_days: float = 0.0,
    seed: int = 0,
    rule: str | None = None,
) -> FabResult:
    """Run the fab of ``dataset`` for ``days`` simulated days from its epoch.

    KPIs count lots completing after ``warmup_days`` and tool time in ``[warmup_days, days]``.
    ``rule`` overrides every family's dispatching rule (``fifo``, ``hotlot``, ``cr``; ``data`` or
    ``None`` = the data's rule per family). The same seed gives the same result.
    """
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    if not 0 <= warmup_days < days:
        raise ValueError(f"warmup_days must be in [0, days), got {warmup_days}")
    model = build_model(dataset, rule)
    sim = _Sim(
        dataset,
        model,
        np.random.default_rng(seed),
        days * MINUTES_PER_DAY,
        warmup_days * MINUTES_PER_DAY,
    )
    sim.run()
    return sim.result()
