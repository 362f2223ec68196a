"""The kinds of event on the fab engine's event list, and what each event's two ints ``a``, ``b`` mean.

An event is a plain tuple ``(time, seq, kind, a, b)`` on a ``heapq``; ``seq`` makes the order total
(equal times run in the order they were pushed). The kinds are plain ints so the loop compares them at
full speed.
"""

from __future__ import annotations

from typing import Final

K_RELEASE: Final = 0
"""Lots are released: ``a`` = release index (periodic first, then listed), ``b`` = repeat number."""
K_ARRIVE: Final = 1
"""A lot arrives at its step after transport: ``a`` = lot."""
K_DONE: Final = 2
"""A job ends on a tool: ``a`` = tool, ``b`` = job id."""
K_READY: Final = 3
"""A cascading tool may start its next job: ``a`` = tool."""
K_DELAY: Final = 4
"""A lot leaves a delay (infinite-server) step: ``a`` = lot."""
K_DOWN: Final = 5
"""A breakdown or calendar PM is due: ``a`` = tool, ``b`` = the tool's down index."""
K_UP: Final = 6
"""A tool comes back up from a breakdown or PM: ``a`` = tool, ``b`` = the tool's down index."""
