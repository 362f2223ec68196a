"""Offers search and reservation capacity checks (sweep), with hand-worked cases and properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aifactory.market import (
    ErrorKind,
    MarketError,
    Offer,
    OfferKind,
    Reservation,
    book,
    booked_units_peak,
    check_booking,
    parse_shape,
    reserved_gpus_at,
    search,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def offer(
    id: int = 1,
    shape: str = "gpu.4xgb300",
    country: str = "TW",
    price: float = 3.0,
    kind: str = "on_demand",
    units: int = 4,
    until: datetime | None = None,
    active: bool = True,
) -> Offer:
    return Offer(
        id=id,
        provider="factory",
        shape=parse_shape(shape),
        country=country,
        price_per_gpu_hour=price,
        kind=OfferKind(kind),
        units=units,
        available_from=h(0),
        available_until=until,
        active=active,
    )


# --- offers --------------------------------------------------------------------------------------------


def test_offer_validation_names_fields() -> None:
    with pytest.raises(MarketError, match=r"^country: "):
        offer(country="Taiwan")
    with pytest.raises(MarketError, match=r"^units: must be >= 1"):
        offer(units=0)
    with pytest.raises(MarketError, match=r"^price_per_gpu_hour: must be >= 0"):
        offer(price=-1.0)
    with pytest.raises(MarketError, match=r"^available_until: must be after available_from"):
        offer(until=h(0))
    assert offer(country="tw").country == "TW"
    assert offer(shape="gpu.72xgb300", units=2).gpus == 144


def test_search_filters_and_sorts_by_price_then_id() -> None:
    offers = [
        offer(id=5, price=2.0),
        offer(id=2, price=2.0, country="US"),
        offer(id=3, price=1.0, kind="spot"),
        offer(id=4, price=9.0, shape="gpu.72xgb300"),
        offer(id=1, price=0.5, active=False),
        offer(id=6, price=2.5, shape="gpu.8xh100"),
    ]
    assert [o.id for o in search(offers)] == [3, 2, 5, 6, 4]
    assert [o.id for o in search(offers, shape="gpu.4xgb300")] == [3, 2, 5]
    assert [o.id for o in search(offers, country="tw")] == [3, 5, 6, 4]
    assert [o.id for o in search(offers, max_price=2.0)] == [3, 2, 5]
    assert [o.id for o in search(offers, kind="spot")] == [3]
    assert [o.id for o in search(offers, gpus_at_least=8)] == [6, 4]
    assert [o.id for o in search(offers, kind=OfferKind.ON_DEMAND, max_price=5, country="TW")] == [5, 6]


def test_search_rejects_bad_filters_by_name() -> None:
    with pytest.raises(MarketError, match=r"^shape: "):
        search([], shape="gpu.5xgb300")
    with pytest.raises(MarketError, match=r"^kind: 'cheap' is not one of on_demand, reserved, spot"):
        search([], kind="cheap")
    with pytest.raises(MarketError, match=r"^max_price: "):
        search([], max_price=-1.0)
    with pytest.raises(MarketError, match=r"^gpus_at_least: "):
        search([], gpus_at_least=0)


# --- reservations --------------------------------------------------------------------------------------


def res(units: int, start: float, end: float, offer_id: int = 1) -> Reservation:
    return Reservation(
        offer_id=offer_id,
        project="p1",
        units=units,
        gpus=units * 4,
        start=h(start),
        end=h(end),
        price_per_gpu_hour=3.0,
    )


@pytest.mark.parametrize(
    ("second_start", "second_end", "fits"),
    [
        (10, 20, True),  # touches the first one's end: half-open windows do not overlap
        (0, 5, True),  # ends exactly when the first one [5, 10) starts
        (9, 12, False),  # one hour in common: 3 + 2 = 5 > 4
        (4, 6, False),
        (6, 8, False),  # inside
        (0, 30, False),  # around
    ],
)
def test_three_and_two_units_on_four_clash_exactly_when_windows_intersect(
    second_start: int, second_end: int, fits: bool
) -> None:
    existing = [res(3, 5, 10)]
    if fits:
        check_booking(offer(units=4), existing, 2, h(second_start), h(second_end))
    else:
        with pytest.raises(
            MarketError, match=r"^units: .* would put 5 unit\(s\) in use at .*over the offer's 4"
        ):
            check_booking(offer(units=4), existing, 2, h(second_start), h(second_end))


def test_error_names_the_first_overflowing_instant() -> None:
    # Existing: 2 units over [0, 10), 1 more over [4, 6). New: 2 units over [2, 8) on a 4-unit offer.
    # Load in the window: 2 from 2, 3 from 4 (→ 5 with the new 2: overflow at h(4)), 2 again from 6.
    existing = [res(2, 0, 10), res(1, 4, 6)]
    with pytest.raises(MarketError) as err:
        check_booking(offer(units=4), existing, 2, h(2), h(8))
    assert f"would put 5 unit(s) in use at {h(4).isoformat()}, 3 already booked then" in str(err.value)
    assert err.value.kind is ErrorKind.CONFLICT and err.value.field == "units"  # the state refuses it
    check_booking(offer(units=5), existing, 2, h(2), h(8))


def test_other_offers_reservations_do_not_count() -> None:
    check_booking(offer(units=4), [res(4, 0, 10, offer_id=2)], 4, h(0), h(10))


def test_booking_must_lie_inside_availability() -> None:
    o = offer(units=4, until=h(100))
    with pytest.raises(MarketError, match=r"^start: .* before offer 1 is available"):
        check_booking(o, [], 1, h(-1), h(5))
    with pytest.raises(MarketError, match=r"^end: .* after offer 1 stops being available"):
        check_booking(o, [], 1, h(90), h(101))
    check_booking(o, [], 1, h(0), h(100))
    with pytest.raises(MarketError, match=r"^units: offer 1 has 4 unit"):
        check_booking(o, [], 5, h(0), h(1))
    with pytest.raises(MarketError, match=r"^offer_id: offer 1 is not active"):
        check_booking(offer(active=False), [], 1, h(0), h(1))
    with pytest.raises(MarketError, match=r"^end: must be after start"):
        check_booking(o, [], 1, h(5), h(5))


def test_book_locks_price_and_counts_gpus() -> None:
    r = book(offer(shape="gpu.72xgb300", units=3, price=2.5), [], "p1", 2, h(0), h(8))
    assert (r.units, r.gpus, r.price_per_gpu_hour, r.project) == (2, 144, 2.5, "p1")


def test_reserved_gpus_at() -> None:
    rs = [res(1, 0, 10), res(2, 5, 15)]
    assert [reserved_gpus_at(rs, h(t)) for t in (0, 5, 9.5, 10, 15)] == [4, 12, 12, 8, 0]


def test_peak() -> None:
    assert booked_units_peak([], h(0), h(1)) == (0, None)
    assert booked_units_peak([res(1, 0, 10), res(2, 5, 15), res(3, 10, 12)], h(0), h(20)) == (5, h(10))


# --- properties ----------------------------------------------------------------------------------------


def load_at(reservations: list[Reservation], t: datetime) -> int:
    return sum(r.units for r in reservations if r.start <= t < r.end)


@given(
    capacity=st.integers(1, 6),
    asks=st.lists(st.tuples(st.integers(1, 6), st.integers(0, 30), st.integers(1, 10)), max_size=25),
)
def test_check_booking_accepts_exactly_what_fits(capacity: int, asks: list[tuple[int, int, int]]) -> None:
    o = offer(units=capacity)
    accepted: list[Reservation] = []
    for units, start, length in asks:
        candidate = res(units, start, start + length)
        # Brute force: the load is piecewise constant and only changes at reservation starts, so the
        # maximum over the window is reached at the window's start or at a start inside it.
        instants = [candidate.start] + [
            r.start for r in accepted if candidate.start < r.start < candidate.end
        ]
        fits = all(load_at(accepted, t) + units <= capacity for t in instants)
        try:
            check_booking(o, accepted, units, candidate.start, candidate.end)
        except MarketError:
            assert not fits
        else:
            assert fits
            accepted.append(candidate)
    every_instant = {r.start for r in accepted}
    assert all(load_at(accepted, t) <= capacity for t in every_instant)
