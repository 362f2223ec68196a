"""Reservations as a slice of the council: during its window a booked reservation of the factory's own
capacity is guaranteed by carving a *market* programme out of the council's shares.

With ``G`` GPUs in the factory and ``R`` GPUs reserved now, the market programme's share is ``R / G``
(at most 1) and every other programme keeps its proportion of the rest: ``share × (1 − R / G) / S``,
``S`` the sum of the other shares. Each reservation is one tenant of the market programme,
``res-<id>``, with a fixed quota of its GPUs; a reservation outside its window (one whose jobs are still
known to the scheduler) stays a tenant with quota 0, so its running jobs keep one programme from start
to end. The market programme lends none of its unused slice (``lending_limit_gpus = 0``) while anything
is reserved: idle reserved GPUs wait for their holder rather than for a borrower to leave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aifactory.market.errors import MarketError, require_finite

MARKET_PROGRAMME = "market"
RESERVATION_PREFIX = "res-"
_SLACK = 1e-9


def reservation_tenant(reservation_id: int) -> str:
    """The scheduler tenant of a reservation: ``res-<id>``."""
    return f"{RESERVATION_PREFIX}{reservation_id}"


def reservation_of(tenant: str) -> int | None:
    """The reservation id of a ``res-<id>`` tenant, None for any other tenant."""
    rest = tenant.removeprefix(RESERVATION_PREFIX)
    return int(rest) if rest != tenant and rest.isdigit() else None


@dataclass(frozen=True)
class MarketSlice:
    """Programme shares with the market carved out, and the reservation tenants' quotas (GPUs).

    ``shares`` holds every programme given plus ``market`` when there is a reservation tenant;
    ``reserved_gpus`` is what is reserved now (the market programme's part of the factory).
    """

    shares: dict[str, float]
    tenants: dict[str, int]
    reserved_gpus: int

    @property
    def has_market(self) -> bool:
        return bool(self.tenants)


def market_slice(
    shares: Mapping[str, float],
    active: Mapping[int, int],
    total_gpus: int,
    known: Iterable[int] = (),
) -> MarketSlice:
    """Carve the reservations active now (``id → GPUs``) out of the programmes' ``shares``.

    ``known`` are other reservations that must stay tenants (quota 0): those whose jobs the scheduler
    still holds. Shares that sum to 0 are taken as equal. With nothing reserved or known, the shares
    come back unchanged and there is no market programme.
    """
    if isinstance(total_gpus, bool) or not isinstance(total_gpus, int) or total_gpus < 1:
        raise MarketError("total_gpus", f"must be an integer >= 1, got {total_gpus!r}")
    for name, share in shares.items():
        require_finite(f"shares[{name}]", share)
    for rid, gpus in active.items():
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
            raise MarketError(f"active[{rid}]", f"GPUs must be an integer >= 0, got {gpus!r}")
    tenants = {reservation_tenant(r): 0 for r in sorted(set(known) - set(active))}
    tenants.update({reservation_tenant(r): gpus for r, gpus in sorted(active.items())})
    base = dict(shares) if sum(shares.values()) > 0 else dict.fromkeys(shares, 1.0)
    if not tenants:
        return MarketSlice(base, {}, 0)
    if MARKET_PROGRAMME in shares:
        raise MarketError(
            "shares", f"{MARKET_PROGRAMME!r} is the reservations' programme; rename that programme"
        )
    for name in shares:
        if name.startswith(RESERVATION_PREFIX):
            raise MarketError(
                "shares", f"{name!r} clashes with the reservation tenants ({RESERVATION_PREFIX}<id>)"
            )
    reserved = sum(active.values())
    fraction = min(reserved / total_gpus, 1.0)
    total = sum(base.values())
    scaled = {name: share / total * (1.0 - fraction) for name, share in base.items()} if total > 0 else {}
    if not scaled and fraction == 0.0:
        fraction = 1.0  # only reservation tenants and nothing else: the market holds the whole council
    # A hair more than the reserved fraction, so that float rounding in the council's arithmetic never
    # leaves a reservation's quota a fraction of a GPU short of what it booked.
    return MarketSlice({**scaled, MARKET_PROGRAMME: fraction * (1.0 + _SLACK)}, tenants, reserved)
