"""The market: who may use how much GPU time, and at what price.

A national science council shares the AI factory among programmes; projects hold *allocations*
(GPU-hour budgets over a period) that usage burns down; providers sell capacity as *offers* of GPU
*shapes*, which projects *reserve*; spot prices follow idle capacity; *accounting* sets use against
shares. Pure domain: frozen dataclasses and functions, the clock passed in, no I/O. Rule violations
raise ``MarketError`` naming the field.
"""

from aifactory.market.accounting import (
    ProgrammeUsage,
    UsageSegment,
    clipped_gpu_hours,
    gpu_hours,
    usage_by_project,
    usage_vs_shares,
)
from aifactory.market.allocations import (
    Allocation,
    AllocationState,
    BudgetStatus,
    BurnResult,
    ReviewDecision,
    apply_burn,
    budget_status,
    burn,
    expire,
    expire_due,
    remaining,
    request,
    review,
)
from aifactory.market.errors import ErrorKind, MarketError
from aifactory.market.offers import Offer, OfferKind, parse_country, search
from aifactory.market.pricing import cost, idle_fraction, spot_multiplier, spot_price
from aifactory.market.reservations import (
    Reservation,
    ReservationState,
    book,
    booked_units_peak,
    cancel,
    check_booking,
    check_pool,
    check_use,
    reserved_gpus_at,
)
from aifactory.market.shapes import (
    MODELS,
    GpuModel,
    Shape,
    catalogue,
    parse_shape,
    shape_for_factory,
    valid_forms,
)

__all__ = [
    "MODELS",
    "Allocation",
    "AllocationState",
    "BudgetStatus",
    "BurnResult",
    "ErrorKind",
    "GpuModel",
    "MarketError",
    "Offer",
    "OfferKind",
    "ProgrammeUsage",
    "Reservation",
    "ReservationState",
    "ReviewDecision",
    "Shape",
    "UsageSegment",
    "apply_burn",
    "book",
    "booked_units_peak",
    "budget_status",
    "burn",
    "cancel",
    "catalogue",
    "check_booking",
    "check_pool",
    "check_use",
    "clipped_gpu_hours",
    "cost",
    "expire",
    "expire_due",
    "gpu_hours",
    "idle_fraction",
    "parse_country",
    "parse_shape",
    "remaining",
    "request",
    "reserved_gpus_at",
    "review",
    "search",
    "shape_for_factory",
    "spot_multiplier",
    "spot_price",
    "usage_by_project",
    "usage_vs_shares",
    "valid_forms",
]
