"""The event kernel of the discrete-event twins: one heap of (time, priority, sequence, handler, arg).

It has SimPy's shape without SimPy's processes: an event is a *handler* (any callable of one argument)
due at a time. Events are processed in order of time, then priority (``URGENT`` before ``NORMAL``
before ``LATE``), then the order in which they were scheduled, so a run is deterministic. The kernel
keeps no global state: many kernels run side by side in one process (replications, design search).

A handler that must not fire any more (a job interrupted by a breakdown, say) is not removed from the
heap; the model gives it a ticket and the handler ignores a stale one. Removing from a binary heap
costs more than popping a dead entry.

A model's hottest path may push ``(time, priority, kernel.sequence(), handler, arg)`` onto
``kernel.heap`` with ``heapq.heappush`` itself, which is what :meth:`at` does without its check (one
Python call fewer per event); the time must not be before ``now``.

    >>> k = Kernel()
    >>> seen = []
    >>> k.after(2.0, seen.append, "b")
    >>> k.after(1.0, seen.append, "a")
    >>> k.at(2.0, seen.append, "first at 2", priority=URGENT)
    >>> k.run(until=10.0)
    3
    >>> seen, k.now
    (['a', 'first at 2', 'b'], 10.0)
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

URGENT = 0
"""Before other events at the same time (repairs, shift changes: the state the others must see)."""
NORMAL = 1
"""The default."""
LATE = 2
"""After other events at the same time (measurements, snapshots)."""

Handler = Callable[[Any], object]
Entry = tuple[float, int, int, Handler, Any]


class Kernel:
    """The clock and the future events of one simulation run."""

    __slots__ = ("heap", "now", "processed", "sequence")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        """The current simulated time (the time of the event being processed)."""
        self.heap: list[Entry] = []
        self.processed = 0
        """Events processed so far, over every call of :meth:`run`."""
        self.sequence = itertools.count().__next__
        """The next scheduling number: events due at the same time and priority run in this order."""

    def at(self, time: float, handler: Handler, arg: Any = None, priority: int = NORMAL) -> None:
        """Call ``handler(arg)`` at ``time`` (not before ``now``)."""
        if time < self.now:
            raise ValueError(f"cannot schedule at {time:g}, before now ({self.now:g})")
        heapq.heappush(self.heap, (time, priority, self.sequence(), handler, arg))

    def after(self, delay: float, handler: Handler, arg: Any = None, priority: int = NORMAL) -> None:
        """Call ``handler(arg)`` ``delay`` after now (``delay`` >= 0)."""
        if delay < 0:
            raise ValueError(f"cannot schedule {delay:g} after now: a delay is >= 0")
        heapq.heappush(self.heap, (self.now + delay, priority, self.sequence(), handler, arg))

    def peek(self) -> float:
        """The time of the next event (infinity when there is none)."""
        return self.heap[0][0] if self.heap else float("inf")

    def step(self) -> None:
        """Process the next event."""
        time, _, _, handler, arg = heapq.heappop(self.heap)
        self.now = time
        self.processed += 1
        handler(arg)

    def run(self, until: float) -> int:
        """Process every event due at or before ``until``, then set the clock to ``until``; the number
        of events processed. Events a handler schedules at or before ``until`` are processed too."""
        if until < self.now:
            raise ValueError(f"cannot run until {until:g}, before now ({self.now:g})")
        heap = self.heap
        pop = heapq.heappop
        n = 0
        while heap and heap[0][0] <= until:
            time, _, _, handler, arg = pop(heap)
            self.now = time
            handler(arg)
            n += 1
        self.now = until
        self.processed += n
        return n
