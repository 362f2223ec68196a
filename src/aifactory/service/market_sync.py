"""The marketplace as the scheduler and the API see it: reservations carved out of the council, the
factory's spot price, and what a run of a reserved or spot job costs.

Database reads live here; the rules are pure functions of :mod:`aifactory.market` (``market_slice``,
``spot_price``). The worker keeps one :class:`MarketSync` and refreshes it every cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aifactory.market import idle_fraction, spot_price
from aifactory.market.slices import MARKET_PROGRAMME, MarketSlice, market_slice, reservation_of
from aifactory.scheduler.core import Scheduler
from aifactory.scheduler.council import Council, Programme, Project
from aifactory.service.db.models import Job as JobRow
from aifactory.service.db.models import Offer, Provider, Reservation
from aifactory.service.db.models import Programme as ProgrammeTable
from aifactory.service.db.models import Project as ProjectTable

ProgrammeRow = tuple[str, float, int | None]  # id, share, borrowing limit (GPUs)
ProjectRow = tuple[str, str, float, int | None, int | None]  # id, programme, weight, quota, borrowing limit


def busy_gpus(session: Session) -> int:
    """GPUs held by running jobs."""
    busy = session.scalar(select(func.coalesce(func.sum(JobRow.gpus), 0)).where(JobRow.state == "running"))
    return int(busy or 0)


def spot_price_now(base_price: float, total_gpus: int, busy: int) -> float:
    """The spot price per GPU-hour of a factory spot offer listed at ``base_price`` with ``busy`` of
    ``total_gpus`` GPUs in use (``aifactory.market.pricing``), to 1/10,000 of the currency unit."""
    return round(spot_price(base_price, idle_fraction(total_gpus, min(max(busy, 0), total_gpus))), 4)


def factory_spot_base(session: Session, at: datetime) -> float | None:
    """The base price of the factory's cheapest spot offer available at ``at`` (None: it sells none)."""
    price = session.scalar(
        select(func.min(Offer.price_per_gpu_hour))
        .join(Provider, Provider.id == Offer.provider_id)
        .where(Provider.kind == "factory", Offer.kind == "spot", Offer.active.is_(True))
        .where(Offer.available_from <= at)
        .where((Offer.available_until.is_(None)) | (Offer.available_until > at))
    )
    return None if price is None else float(price)


def stored_council(session: Session) -> tuple[list[ProgrammeRow], list[ProjectRow]]:
    """Every programme and project as stored, in id order."""
    programmes = session.execute(
        select(ProgrammeTable.id, ProgrammeTable.share, ProgrammeTable.borrowing_limit_gpus).order_by(
            ProgrammeTable.id
        )
    ).all()
    projects = session.execute(
        select(
            ProjectTable.id,
            ProjectTable.programme_id,
            ProjectTable.weight,
            ProjectTable.quota_gpus,
            ProjectTable.borrowing_limit_gpus,
        ).order_by(ProjectTable.id)
    ).all()
    return [(r[0], r[1], r[2]) for r in programmes], [(r[0], r[1], r[2], r[3], r[4]) for r in projects]


def is_limited(session: Session, project_id: str) -> bool:
    """The project or its programme has a borrowing limit (False too for an unknown project)."""
    row = session.execute(
        select(ProjectTable.borrowing_limit_gpus, ProgrammeTable.borrowing_limit_gpus)
        .join(ProgrammeTable, ProgrammeTable.id == ProjectTable.programme_id)
        .where(ProjectTable.id == project_id)
    ).one_or_none()
    return row is not None and (row[0] is not None or row[1] is not None)


def _gpus(n: int | None) -> float | None:
    return float(n) if n is not None else None


def council_of(
    programmes: Sequence[ProgrammeRow], projects: Sequence[ProjectRow], cut: MarketSlice | None = None
) -> Council:
    """The scheduler's council: the programmes (shares as ``cut`` scaled them; none: as stored) with
    their projects, and the market programme of reservation tenants when there is one."""
    if cut is None:
        cut = MarketSlice({p[0]: p[1] for p in programmes}, {}, 0)
    tree: dict[str, dict[str, Project]] = {p[0]: {} for p in programmes}
    for project_id, programme_id, weight, quota, borrowing in projects:
        tree.setdefault(programme_id, {})[project_id] = Project(
            weight=weight, quota_gpus=_gpus(quota), borrowing_limit_gpus=_gpus(borrowing)
        )
    limits = {p[0]: _gpus(p[2]) for p in programmes}
    council = {
        name: Programme(
            share=cut.shares.get(name, 1.0), projects=tree[name], borrowing_limit_gpus=limits.get(name)
        )
        for name in tree
    }
    if cut.has_market:
        council[MARKET_PROGRAMME] = Programme(
            share=cut.shares[MARKET_PROGRAMME],
            projects={t: Project(weight=0.0, quota_gpus=float(g)) for t, g in cut.tenants.items()},
            lending_limit_gpus=0.0 if cut.reserved_gpus > 0 else None,
        )
    return Council(council)


@dataclass(frozen=True)
class Window:
    """A reservation's window and state, for the reasons of jobs that wait for it."""

    start_at: datetime
    end_at: datetime
    state: str
    factory: bool


class MarketSync:
    """What the worker needs from the market each cycle, read once per cycle from the database."""

    def __init__(self, schedulable_gpus: int, factory_gpus: int) -> None:
        self.schedulable_gpus = schedulable_gpus  # what the council's shares divide
        self.factory_gpus = factory_gpus  # racks × GPUs per rack: what the spot price's idle fraction is of
        self.cut = MarketSlice({}, {}, 0)
        self.active: dict[int, int] = {}  # reservation id → GPUs, booked factory reservations in window
        self.windows: dict[int, Window] = {}  # every reservation jobs the scheduler knows refer to
        self.prices: dict[int, float] = {}  # reservation id → price per GPU-hour
        self.at: datetime | None = None
        self._seeded = False  # the running jobs' reservations were read from the database once
        self._spot_at: datetime | None = None  # the spot base price below was read at this time
        self._spot_base: float | None = None

    def read(
        self, session: Session, at: datetime, programmes: Sequence[ProgrammeRow], scheduler: Scheduler
    ) -> None:
        """Refresh from the database at ``at``: reservations in their window and those the scheduler's
        waiting or running jobs refer to (on the first read, before a restarted worker has adopted its
        runs, the running jobs' reservations come from the database)."""
        self.at = at
        self._spot_at = None
        tenants = chain(
            scheduler.queue.tenants_waiting(), (t for t, r in scheduler.running_by_tenant.items() if r)
        )
        known = {rid for rid in map(reservation_of, tenants) if rid is not None}
        if not self._seeded:
            known.update(
                rid
                for rid in session.scalars(
                    select(JobRow.reservation_id)
                    .where(JobRow.state == "running")
                    .where(JobRow.reservation_id.is_not(None))
                    .distinct()
                )
                if rid is not None
            )
            self._seeded = True
        rows = session.execute(
            select(
                Reservation.id,
                Reservation.gpus,
                Reservation.start_at,
                Reservation.end_at,
                Reservation.state,
                Reservation.price_per_gpu_hour,
                Provider.kind,
            )
            .join(Offer, Offer.id == Reservation.offer_id)
            .join(Provider, Provider.id == Offer.provider_id)
            .where(
                (Reservation.id.in_(known))
                | (
                    (Reservation.state == "booked")
                    & (Provider.kind == "factory")
                    & (Reservation.start_at <= at)
                    & (Reservation.end_at > at)
                )
            )
        ).all()
        self.windows = {r.id: Window(r.start_at, r.end_at, r.state, r.kind == "factory") for r in rows}
        self.prices = {r.id: float(r.price_per_gpu_hour) for r in rows}
        self.active = {
            r.id: int(r.gpus)
            for r in rows
            if r.state == "booked" and r.kind == "factory" and r.start_at <= at < r.end_at
        }
        shares = {p[0]: p[1] for p in programmes}
        self.cut = market_slice(shares, self.active, self.schedulable_gpus, known=self.windows)

    @property
    def key(self) -> tuple[tuple[tuple[str, int], ...], int]:
        """Changes whenever the council must be rebuilt for the market's sake."""
        return tuple(sorted(self.cut.tenants.items())), self.cut.reserved_gpus

    def council(self, programmes: Sequence[ProgrammeRow], projects: Sequence[ProjectRow]) -> Council:
        return council_of(programmes, projects, self.cut)

    def hold_outside_windows(self, budgets: dict[str, float], tenants: Iterable[str]) -> None:
        """Reservation tenants need no allocation inside their window (no budget) and are held outside
        it (a budget of 0), whatever the allocation rule says for projects."""
        for tenant in tenants:
            rid = reservation_of(tenant)
            if rid is None:
                continue
            if rid in self.active:
                budgets.pop(tenant, None)
            else:
                budgets[tenant] = 0.0

    def waiting_reason(self, tenant: str, session: Session) -> str | None:
        """Why a reservation tenant's job may not run now (None: it is in its window, or no reservation).

        A reservation first met this cycle (its job was just submitted) is read from ``session``.
        """
        rid = reservation_of(tenant)
        if rid is None or rid in self.active:
            return None
        if rid not in self.windows:
            found = session.execute(
                select(Reservation.start_at, Reservation.end_at, Reservation.state, Provider.kind)
                .join(Offer, Offer.id == Reservation.offer_id)
                .join(Provider, Provider.id == Offer.provider_id)
                .where(Reservation.id == rid)
            ).first()
            if found is not None:
                self.windows[rid] = Window(found.start_at, found.end_at, found.state, found.kind == "factory")
        window = self.windows.get(rid)
        if window is None:
            return f"reservation {rid} is not known"
        if window.state != "booked":
            return f"reservation {rid} was {window.state}"
        if not window.factory:
            return f"reservation {rid} is on a partner's offer, not this factory's capacity"
        if self.at is not None and self.at < window.start_at:
            return f"reservation {rid} starts at {window.start_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"reservation {rid} ended at {window.end_at:%Y-%m-%d %H:%M:%S} UTC"

    def usage_terms(
        self, session: Session, reservation_id: int | None, preemptible: bool, busy: int
    ) -> tuple[int | None, float | None]:
        """(reservation id, price per GPU-hour) of a run starting now: a reserved run is paid by its
        booking at the booking's price; a spot run at the spot price from idle capacity now (the
        factory's spot offer is read once per cycle, and only in cycles that start a spot run); any
        other run has no market price (it burns the project's allocations)."""
        if reservation_id is not None and reservation_id in self.prices:
            return reservation_id, self.prices[reservation_id]
        if not preemptible or self.at is None:
            return None, None
        if self._spot_at != self.at:
            self._spot_base, self._spot_at = factory_spot_base(session, self.at), self.at
        if self._spot_base is None:
            return None, None
        return None, spot_price_now(self._spot_base, self.factory_gpus, busy)
