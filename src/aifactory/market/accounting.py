"""Accounting: GPU-hours used, per project and per programme, against the council's shares.

A usage segment is one job attempt's ``gpus`` GPUs held over ``[start, end)`` (a running segment is
passed with ``end = now``). Usage over a reporting window counts only the part of each segment inside
the window. Per programme, the used share (its GPU-hours over all GPU-hours used) is set against the
entitled share (its council share over the sum of all shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aifactory.market.errors import (
    MarketError,
    hours_between,
    require_finite,
    require_name,
    require_period,
)


@dataclass(frozen=True, kw_only=True)
class UsageSegment:
    """Job ``job`` of ``project`` held ``gpus`` GPUs over ``[start, end)``."""

    job: str
    project: str
    start: datetime
    end: datetime
    gpus: int

    def __post_init__(self) -> None:
        require_name("job", self.job)
        require_name("project", self.project)
        require_period("start", self.start, "end", self.end)
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise MarketError("gpus", f"must be an integer >= 0, got {self.gpus!r}")


def gpu_hours(segment: UsageSegment) -> float:
    """``gpus × hours`` of the whole segment."""
    return segment.gpus * hours_between(segment.start, segment.end)


def clipped_gpu_hours(segment: UsageSegment, start: datetime, end: datetime) -> float:
    """GPU-hours of the part of ``segment`` inside ``[start, end)``."""
    return segment.gpus * hours_between(max(segment.start, start), min(segment.end, end))


def usage_by_project(segments: Iterable[UsageSegment], start: datetime, end: datetime) -> dict[str, float]:
    """GPU-hours per project within ``[start, end)``, segments clipped to it; projects sorted by name.

    Projects with no GPU-hours inside the window are left out.
    """
    require_period("start", start, "end", end)
    totals: dict[str, float] = {}
    for s in segments:
        h = clipped_gpu_hours(s, start, end)
        if h > 0.0:
            totals[s.project] = totals.get(s.project, 0.0) + h
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class ProgrammeUsage:
    """One programme's GPU-hours and its used versus entitled share (fractions of 1)."""

    programme: str
    gpu_hours: float
    used_share: float
    entitled_share: float

    @property
    def delta(self) -> float:
        """``used_share − entitled_share``: above 0 means it used more than its share."""
        return self.used_share - self.entitled_share


def usage_vs_shares(
    usage_by_project: Mapping[str, float], programme_of: Mapping[str, str], shares: Mapping[str, float]
) -> dict[str, ProgrammeUsage]:
    """Per programme (every one in ``shares``, sorted by name): GPU-hours used, used and entitled share.

    ``programme_of`` maps each project to its programme; every project with usage must be mapped to a
    programme that has a share. Shares are normalised (``share / sum(shares)``); with no usage at all
    every used share is 0, and with all shares 0 every entitled share is 0.
    """
    for name, share in shares.items():
        require_finite(f"shares[{name}]", share)
    used: dict[str, float] = dict.fromkeys(shares, 0.0)
    for project, hours in usage_by_project.items():
        require_finite(f"usage_by_project[{project}]", hours)
        programme = programme_of.get(project)
        if programme is None:
            raise MarketError("programme_of", f"project {project!r} has usage but no programme")
        if programme not in used:
            raise MarketError("shares", f"programme {programme!r} (of project {project!r}) has no share")
        used[programme] += hours
    total_used = sum(used.values())
    total_share = sum(shares.values())
    return {
        p: ProgrammeUsage(
            programme=p,
            gpu_hours=used[p],
            used_share=used[p] / total_used if total_used > 0 else 0.0,
            entitled_share=shares[p] / total_share if total_share > 0 else 0.0,
        )
        for p in sorted(shares)
    }
