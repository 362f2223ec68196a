"""Allocations: GPU-hour budgets a project holds for a period, and how usage burns them down.

A project *requests* an allocation (GPU-hours over a period ``[start, end)``); the council *reviews*
it: approve as requested, amend (approve with other GPU-hours and/or another period) or reject. An
approved allocation whose period has passed is *expired*. Usage burns allocations: a usage segment's
GPU-hours are charged, instant by instant, to the project's granted allocations whose periods cover
that instant (the one ending first is burned first), never beyond what they have left; what no
allocation covers or pays for is returned as uncovered. Everything here is pure: the clock comes in
as ``now`` arguments and every change returns a new ``Allocation``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aifactory.market.errors import (
    ErrorKind,
    MarketError,
    hours_between,
    parse_enum,
    require_aware,
    require_finite,
    require_name,
    require_period,
)


class AllocationState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    AMEND = "amend"
    REJECT = "reject"


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """A GPU-hour budget of ``project`` over ``[start, end)``.

    ``gpu_hours_granted`` is set once approved (``None`` while requested or when rejected); ``used``
    is what usage has burned so far.
    """

    project: str
    gpu_hours_requested: float
    gpu_hours_granted: float | None = None
    start: datetime
    end: datetime
    state: AllocationState = AllocationState.REQUESTED
    used: float = 0.0
    id: int | None = None  # the store's id, once stored (named in errors)

    def __post_init__(self) -> None:
        require_name("project", self.project)
        require_finite("gpu_hours_requested", self.gpu_hours_requested, strict=True)
        require_period("start", self.start, "end", self.end)
        require_finite("used", self.used)
        if not isinstance(self.state, AllocationState):
            object.__setattr__(self, "state", parse_enum(AllocationState, "state", self.state))
        if self.gpu_hours_granted is not None:
            require_finite("gpu_hours_granted", self.gpu_hours_granted, strict=True)
        if self.state is AllocationState.APPROVED and self.gpu_hours_granted is None:
            raise MarketError("gpu_hours_granted", "an approved allocation must have granted GPU-hours")
        if self.state in (AllocationState.REQUESTED, AllocationState.REJECTED) and (
            self.gpu_hours_granted is not None
        ):
            raise MarketError("gpu_hours_granted", f"must be unset while the allocation is {self.state}")

    @property
    def name(self) -> str:
        return "the allocation" if self.id is None else f"allocation {self.id}"

    @property
    def granted(self) -> bool:
        """True when the council granted it (approved, or approved and since expired)."""
        return self.gpu_hours_granted is not None


def request(project: str, gpu_hours: float, start: datetime, end: datetime) -> Allocation:
    """A new allocation request: ``gpu_hours > 0`` over ``[start, end)`` with ``end > start``."""
    require_name("project", project)
    require_finite("gpu_hours", gpu_hours, strict=True)
    require_period("start", start, "end", end)
    return Allocation(project=project, gpu_hours_requested=float(gpu_hours), start=start, end=end)


def review(
    alloc: Allocation,
    decision: ReviewDecision | str,
    now: datetime,
    gpu_hours: float | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Allocation:
    """The council's decision on a ``requested`` allocation.

    * ``approve``: grant as requested (``gpu_hours``/``start``/``end`` must not be given);
    * ``amend``: grant with other GPU-hours and/or another period; at least one must change;
    * ``reject``: refuse (no other arguments).

    A grant whose period has already ended at ``now`` is refused: it could never be used.
    """
    require_aware("now", now)
    choice = parse_enum(ReviewDecision, "decision", decision)
    given = {k: v for k, v in (("gpu_hours", gpu_hours), ("start", start), ("end", end)) if v is not None}
    if choice is ReviewDecision.REJECT and given:  # the input's shape first, whatever the state
        raise MarketError(next(iter(given)), "not allowed when rejecting")
    if choice is ReviewDecision.APPROVE and given:
        raise MarketError(next(iter(given)), "approve grants as requested; use amend to change it")
    if alloc.state is not AllocationState.REQUESTED:
        raise MarketError(
            "state",
            f"{alloc.name} is {alloc.state}; only a requested allocation can be reviewed",
            kind=ErrorKind.CONFLICT,
            object=alloc.name,
        )
    if choice is ReviewDecision.REJECT:
        return dataclasses.replace(alloc, state=AllocationState.REJECTED)
    if choice is ReviewDecision.APPROVE:
        hours, new_start, new_end = alloc.gpu_hours_requested, alloc.start, alloc.end
    else:
        hours = alloc.gpu_hours_requested if gpu_hours is None else gpu_hours
        new_start = alloc.start if start is None else start
        new_end = alloc.end if end is None else end
        require_finite("gpu_hours", hours, strict=True)
        require_period("start", new_start, "end", new_end)
        if (hours, new_start, new_end) == (alloc.gpu_hours_requested, alloc.start, alloc.end):
            raise MarketError("decision", "amend must change gpu_hours, start or end (use approve otherwise)")
    if new_end <= now:
        raise MarketError("end", f"the period ended at {new_end.isoformat()}, before now ({now.isoformat()})")
    return dataclasses.replace(
        alloc,
        state=AllocationState.APPROVED,
        gpu_hours_granted=float(hours),
        start=new_start,
        end=new_end,
    )


def expire(alloc: Allocation, now: datetime) -> Allocation:
    """Mark an allocation expired once its period is over (``now >= end``).

    Approved allocations expire (keeping their grant and what they used); so do requests never
    reviewed before their period ended, which can then no longer be approved.
    """
    require_aware("now", now)
    if alloc.state not in (AllocationState.APPROVED, AllocationState.REQUESTED):
        raise MarketError(
            "state",
            f"{alloc.name} is {alloc.state} and cannot expire",
            kind=ErrorKind.CONFLICT,
            object=alloc.name,
        )
    if now < alloc.end:
        raise MarketError(
            "end", f"the period runs until {alloc.end.isoformat()}, after now ({now.isoformat()})"
        )
    return dataclasses.replace(alloc, state=AllocationState.EXPIRED)


def expire_due(allocations: Sequence[Allocation], now: datetime) -> list[Allocation]:
    """Every allocation, with those whose period is over at ``now`` expired (others unchanged)."""
    require_aware("now", now)
    return [
        expire(a, now)
        if a.state in (AllocationState.APPROVED, AllocationState.REQUESTED) and now >= a.end
        else a
        for a in allocations
    ]


def remaining(alloc: Allocation) -> float:
    """GPU-hours still available: granted − used, never below 0 (0 when nothing is granted)."""
    if alloc.gpu_hours_granted is None:
        return 0.0
    return max(0.0, alloc.gpu_hours_granted - alloc.used)


@dataclass(frozen=True)
class BurnResult:
    """How one usage segment burns allocations.

    ``charges`` lists ``(allocation index, GPU-hours)`` in the order they were burned (one entry per
    allocation); ``uncovered`` is what no allocation paid for, of which ``overdrawn`` is the part that
    fell inside some allocation's period after its budget was exhausted. Always
    ``sum(charges) + uncovered == total``.
    """

    charges: tuple[tuple[int, float], ...]
    uncovered: float
    overdrawn: float
    total: float

    @property
    def burned(self) -> float:
        return sum(h for _, h in self.charges)


def burn(
    allocations: Sequence[Allocation], project: str, start: datetime, end: datetime, gpus: int
) -> BurnResult:
    """Split the GPU-hours of a usage segment (``gpus`` GPUs over ``[start, end)``) over allocations.

    Eligible: ``project``'s granted allocations (approved, or approved and since expired: a segment
    recorded late still burns the period it ran in). The segment is cut at every allocation boundary;
    each piece's GPU-hours (``gpus`` × its hours) go to the eligible allocations covering it, the one
    ending first (then starting first, then lowest index) first, each up to what it has left. Only the
    part of the segment inside a period counts for that allocation.
    """
    require_name("project", project)
    require_period("start", start, "end", end)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise MarketError("gpus", f"must be an integer >= 0, got {gpus!r}")
    eligible = sorted(
        (
            (a.end, a.start, i)
            for i, a in enumerate(allocations)
            if a.project == project and a.granted and a.start < end and a.end > start
        ),
    )
    left = {i: remaining(allocations[i]) for _, _, i in eligible}
    inner = {t for a_end, a_start, _ in eligible for t in (a_start, a_end) if start < t < end}
    cuts = sorted({start, end} | inner)
    charged: dict[int, float] = {}
    uncovered = overdrawn = 0.0
    for lo, hi in itertools.pairwise(cuts):
        need = gpus * hours_between(lo, hi)
        covering = [i for a_end, a_start, i in eligible if a_start <= lo and a_end >= hi]
        if not covering:
            uncovered += need
            continue
        for i in covering:
            take = min(need, left[i])
            if take > 0.0:
                left[i] -= take
                charged[i] = charged.get(i, 0.0) + take
                need -= take
            if need <= 0.0:
                break
        if need > 0.0:
            uncovered += need
            overdrawn += need
    return BurnResult(
        charges=tuple(charged.items()),
        uncovered=uncovered,
        overdrawn=overdrawn,
        total=gpus * hours_between(start, end),
    )


def apply_burn(allocations: Sequence[Allocation], result: BurnResult) -> list[Allocation]:
    """The allocations with ``result``'s charges added to their ``used``."""
    out = list(allocations)
    for i, hours in result.charges:
        out[i] = dataclasses.replace(out[i], used=out[i].used + hours)
    return out


@dataclass(frozen=True)
class BudgetStatus:
    """A project's budget at an instant, over its active allocations."""

    project: str
    granted: float
    used: float
    remaining: float
    active: int


def budget_status(allocations: Sequence[Allocation], project: str, now: datetime) -> BudgetStatus:
    """Granted, used and remaining GPU-hours over ``project``'s active allocations.

    Active: approved and ``start <= now < end``.
    """
    require_aware("now", now)
    active = [
        a
        for a in allocations
        if a.project == project and a.state is AllocationState.APPROVED and a.start <= now < a.end
    ]
    return BudgetStatus(
        project=project,
        granted=sum(a.gpu_hours_granted or 0.0 for a in active),
        used=sum(a.used for a in active),
        remaining=sum(remaining(a) for a in active),
        active=len(active),
    )
