"""The state of one fab run, set up from the compiled model, and the primitives every part of the engine uses.

State lives in flat lists indexed by lot, tool, family and global step id (see
:mod:`aifactory.fab.model_build`); the primitives are the seeded draws (through a buffer of uniforms),
pushing an event, clipping a time span to the measured window and a step's processing time.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from aifactory.fab.dataset import Dataset, LotRelease, PeriodicRelease
from aifactory.fab.model_build import BASIS_WAFER, CONST, EXPON, UNIFORM, Dist, FabModel, encode

_BUFFER = 1 << 16
"""Uniforms drawn from the generator at a time."""


class FabState:
    """Lots, families, tools, transport and releases of one run; the engine's layers build on it."""

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

    def proc_time(self, s: int, wafers: int) -> float:
        m = self.m
        p = self.draw(m.step_pt[s])
        if m.step_basis[s] == BASIS_WAFER:
            iv = m.step_waf_iv[s]
            return p + (wafers - 1) * iv if iv > 0.0 else p * wafers
        return p
