"""Breakdowns and PMs in the fab engine: when a tool goes down, waits to go down, and comes back up.

A down due on a busy tool waits: the tool starts nothing new, finishes its jobs, then goes down. The
next failure is drawn from the end of the repair; calendar PMs keep their calendar; count-based PMs
trigger once the tool has processed their interval in wafers.
"""

from __future__ import annotations

import math

from aifactory.fab.dispatcher import Dispatcher
from aifactory.fab.events import K_DOWN, K_UP


class ToolDowns(Dispatcher):
    """The run's state with dispatching and tool downs (breakdowns, calendar and count-based PMs)."""

    def schedule_first_downs(self) -> None:
        """Push every tool's first breakdown and calendar PM; arm its count-based PMs."""
        for tool, downs in enumerate(self.m.tool_downs):
            for d, td in enumerate(downs):
                first = self.draw(td.first)
                if td.by_wafers:
                    self.t_thr[tool][d] = first
                else:
                    self.push(first, K_DOWN, tool, d)

    def on_down(self, tool: int, d: int, now: float) -> None:
        """A breakdown or calendar PM of ``tool`` is due (the next calendar PM is one interval on)."""
        td = self.m.tool_downs[tool][d]
        if td.is_pm and not td.by_wafers:
            self.push(now + self.draw(td.interval), K_DOWN, tool, d)
        self.trigger_down(tool, d, now)

    def trigger_down(self, tool: int, d: int, now: float) -> None:
        """Down ``d`` of ``tool`` is due: start it, or hold it until the tool is free and up."""
        pending = self.t_pending[tool]
        if d in pending:
            return
        if self.t_down[tool] or self.t_inproc[tool] > 0:
            pending.append(d)
            self.t_block[tool] = True
        else:
            self.start_down(tool, d, now)

    def start_down(self, tool: int, d: int, now: float) -> None:
        """Take ``tool`` down for down ``d``: draw its duration, account it, push the repair's end."""
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
        """``tool`` is back from down ``d``: the next pending down starts, else it looks for work."""
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

    def count_wafers(self, tool: int, wdowns: list[int], wafers: int, now: float) -> None:
        """``tool`` processed ``wafers`` more: trigger its count-based PMs ``wdowns`` that are due."""
        counts = self.t_count[tool]
        thr = self.t_thr[tool]
        for d in wdowns:
            counts[d] += wafers
            if counts[d] >= thr[d]:
                thr[d] = math.inf
                self.trigger_down(tool, d, now)
