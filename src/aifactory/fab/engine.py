"""A purpose-built discrete-event engine for SMT2020-format wafer fabs: :func:`simulate` and its event loop.

The event list is a ``heapq`` of ``(time, seq, kind, a, b)`` int/float tuples (:mod:`.events`); state
lives in flat lists indexed by lot, tool, family and global step id (:mod:`.state`, over
:mod:`aifactory.fab.model_build`). The engine is layered, each layer a module: the state and its
primitives (:mod:`.state`), dispatching (:mod:`.dispatcher`), breakdowns and PMs (:mod:`.breakdowns`),
the lots' flow (:mod:`.lot_flow`), then the event loop here; :mod:`.results` turns the state into KPIs.
The core is pure: no I/O, time starts at 0 (the data set's epoch) and randomness comes from one
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

import numpy as np

from aifactory.fab.dataset import Dataset
from aifactory.fab.events import K_ARRIVE, K_DELAY, K_DONE, K_DOWN, K_READY, K_RELEASE
from aifactory.fab.kpis import FabResult
from aifactory.fab.lot_flow import LotFlow
from aifactory.fab.model_build import build_model
from aifactory.fab.results import fab_result
from aifactory.fab.units import MINUTES_PER_DAY

__all__ = ["simulate"]


class _Sim(LotFlow):
    """One run: the state and its layers, with the start and the event loop; :func:`simulate` runs one."""

    def start(self) -> None:
        """Set up time 0: first downs, idle tools, the first releases and the WIP lots."""
        m = self.m
        self.schedule_first_downs()
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

    def job_done(self, tool: int, job: int, now: float) -> None:
        """Job ``job`` ended on ``tool``: its lots move on, PMs count wafers, the tool goes down or on."""
        lots = self.jobs.pop(job)
        self.t_inproc[tool] -= 1
        wafers = 0
        for lot in lots:
            wafers += self.lot_wafers[lot]
            self.advance(lot, now, tool)
        wdowns = self.t_wdowns[tool]
        if wdowns:
            self.count_wafers(tool, wdowns, wafers, now)
        if self.t_pending[tool] and not self.t_down[tool]:
            if self.t_inproc[tool] == 0:
                self.start_down(tool, self.t_pending[tool].pop(0), now)
            return
        if not self.t_block[tool]:
            self.tool_ready(tool, now)

    def run(self) -> None:
        """Start, then handle events in time order up to the end."""
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
            else:  # K_UP
                self.tool_up(a, b, t)
        self.events = n


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
    return fab_result(sim)
