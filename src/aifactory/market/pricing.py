"""Spot pricing from idle capacity, and the cost of GPU-hours.

The spot price is the base (on-demand) price times a multiplier that falls linearly with the idle
fraction of the capacity::

    multiplier = ceiling − (ceiling − floor) × idle_fraction
    spot_price = base_price × multiplier

so nothing idle sells at ``ceiling × base`` and everything idle at ``floor × base`` (defaults 1.0 and
0.3: an empty factory sells at 30 % of list). At idle 0.5 with the defaults: 1 − 0.7 × 0.5 = 0.65.
"""

from __future__ import annotations

from aifactory.market.errors import MarketError, require_finite


def spot_multiplier(idle_fraction: float, floor: float = 0.3, ceiling: float = 1.0) -> float:
    """``ceiling − (ceiling − floor) × idle_fraction``, with ``0 <= idle_fraction <= 1``."""
    idle = require_finite("idle_fraction", idle_fraction)
    if idle > 1.0:
        raise MarketError("idle_fraction", f"must be between 0 and 1, got {idle_fraction:g}")
    lo = require_finite("floor", floor)
    hi = require_finite("ceiling", ceiling)
    if lo > hi:
        raise MarketError("floor", f"must not exceed ceiling ({floor:g} > {ceiling:g})")
    return hi - (hi - lo) * idle


def spot_price(base_price: float, idle_fraction: float, floor: float = 0.3, ceiling: float = 1.0) -> float:
    """Spot price per GPU-hour: ``base_price × spot_multiplier(idle_fraction, floor, ceiling)``."""
    base = require_finite("base_price", base_price)
    return base * spot_multiplier(idle_fraction, floor, ceiling)


def idle_fraction(total_gpus: int, busy_gpus: int) -> float:
    """Share of ``total_gpus`` not busy (0 when there is no capacity)."""
    if isinstance(total_gpus, bool) or not isinstance(total_gpus, int) or total_gpus < 0:
        raise MarketError("total_gpus", f"must be an integer >= 0, got {total_gpus!r}")
    if isinstance(busy_gpus, bool) or not isinstance(busy_gpus, int) or not 0 <= busy_gpus <= total_gpus:
        raise MarketError(
            "busy_gpus", f"must be an integer between 0 and total_gpus ({total_gpus}), got {busy_gpus!r}"
        )
    return 0.0 if total_gpus == 0 else (total_gpus - busy_gpus) / total_gpus


def cost(gpu_hours: float, price: float) -> float:
    """What ``gpu_hours`` GPU-hours cost at ``price`` per GPU-hour."""
    return require_finite("gpu_hours", gpu_hours) * require_finite("price", price)
