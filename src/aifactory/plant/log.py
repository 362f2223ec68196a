"""What a plant run records: one row per event of interest, turned into numpy columns at the end.

The engine only appends tuples (cheap); every measure — utilisation, waits, lead times and their
breakdown, the heat-maps — is computed afterwards from these records with numpy
(:mod:`aifactory.plant.measures`). Times are hours from the start of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# visit outcomes
MOVED_ON = 0
FAILED = 1
"""Failed the station's test and went to rework."""
SCRAPPED = 2
FINISHED = 3
"""Finished its route: the product left the plant, a sub-assembly went to stock."""
OUTCOMES = ("moved on", "failed", "scrapped", "finished")

# visit flags
REWORK_IN = 1
"""The unit arrived in rework (after a failure, before passing the station that failed it)."""
REWORK_OUT = 2
"""The unit left still in rework."""

# pause causes and outage kinds
PAUSE_CREW = 0
"""Its operator is away (off shift, on a break)."""
PAUSE_DOWN = 1
"""Its server is down (a failure, a maintenance) and its crew with it."""
PAUSE_DOWN_NO_CREW = 2
"""Its server is down and its operator away too: down for the unit, not busy for the operator."""
OUTAGE_FAILURE = 0
OUTAGE_MAINTENANCE = 1

# trip kinds
TRIP_MOVE = 0
TRIP_CHARGE = 1

F = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


WIDTHS = {
    "released": 3,
    "ended": 3,
    "visits": 8,
    "jobs": 6,
    "pauses": 4,
    "outages": 4,
    "reasons": 4,
    "trips": 9,
    "stock": 3,
}


class RunLog:
    """Rows appended by the engine while it runs, each table one flat list of numbers.

    A row is ``extend``-ed onto its table (no tuple per row stays alive for the garbage collector to
    track). :meth:`flush` turns what the lists hold into numpy chunks and empties them — the engine calls
    it every simulated day, while the numbers are still in the processor's cache (converted at the end
    of a long run, scattered through memory, they take four times as long) — and
    :meth:`Records.from_log` joins the chunks into each table's columns."""

    __slots__ = (
        "chunks",
        "ended",
        "finished_jobs",
        "jobs",
        "outages",
        "pauses",
        "reasons",
        "released",
        "stock",
        "trips",
        "visits",
    )

    def __init__(self) -> None:
        self.released: list[float] = []
        """(unit, item, hour)"""
        self.ended: list[float] = []
        """(unit, hour, outcome: FINISHED or SCRAPPED)"""
        self.visits: list[float] = []
        """(unit, station, job, arrived, space secured, left, outcome (-1: still there at the end), flags)"""
        self.jobs: list[float] = []
        """(job, server, start, end, crew a, crew b): a row when a job is processed, and one for each job
        still under way at the end of the run, ending then (those come after ``finished_jobs`` rows)"""
        self.finished_jobs = -1
        self.pauses: list[float] = []
        """(job, from, to, cause)"""
        self.outages: list[float] = []
        """(server, from, to, kind)"""
        self.reasons: list[float] = []
        """(station, wait reason, from, to): why its queue was not started, other than busy servers"""
        self.trips: list[float] = []
        """(amr, kind, requested, started, picked up, ended, from node, to node, metres driven)"""
        self.stock: list[float] = []
        """(material, hour, level after the change)"""
        self.chunks: dict[str, list[F]] = {name: [] for name in WIDTHS}

    def rows(self, name: str) -> int:
        """Rows logged in table ``name`` so far (flushed or not)."""
        flat: list[float] = getattr(self, name)
        return sum(len(c) for c in self.chunks[name]) + len(flat) // WIDTHS[name]

    def flush(self) -> None:
        """Move the rows logged so far into numpy chunks (the lists are emptied, not replaced)."""
        for name, width in WIDTHS.items():
            flat: list[float] = getattr(self, name)
            if flat:
                self.chunks[name].append(_columns(flat, width))
                flat.clear()


def _columns(flat: list[float], width: int) -> F:
    return np.fromiter(flat, dtype=np.float64, count=len(flat)).reshape(len(flat) // width, width)


@dataclass(frozen=True)
class Records:
    """The records of a run as numpy columns (see :class:`RunLog` for the meaning of each table)."""

    released: F
    ended: F
    visits: F
    jobs: F
    pauses: F
    outages: F
    reasons: F
    trips: F
    stock: F
    finished_jobs: int
    """Rows of ``jobs`` that ended in the run (the rest were under way at its end)."""

    @classmethod
    def from_log(cls, log: RunLog) -> Records:
        log.flush()
        tables = {
            name: np.concatenate(log.chunks[name]) if log.chunks[name] else np.zeros((0, width))
            for name, width in WIDTHS.items()
        }
        finished = log.finished_jobs if log.finished_jobs >= 0 else len(tables["jobs"])
        return cls(**tables, finished_jobs=finished)
