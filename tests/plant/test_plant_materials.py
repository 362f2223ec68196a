"""Bought materials and made parts: a shortage starves the line; a bill of materials is taken once.

A station whose unit takes one board, with boards delivered 5 at a time every 10 hours and a unit
released every hour, can process only the 0.5 boards an hour that arrive: the line is starved, its
throughput is the supply rate, and its queue waits for parts, not for the server."""

from __future__ import annotations

import pytest
from plant_builders import make_plant, simulate_checked, station

from aifactory.plant.engine import simulate
from aifactory.plant.measures import run_measures


def _board_plant(*, initial: int, every: float | None, quantity: int = 5) -> object:
    materials = {"board": {"initial": initial}}
    if every is not None:
        materials["board"]["deliveries"] = {"every_hours": every, "quantity": quantity}  # type: ignore[index]
    return make_plant(
        {"build": station(0.1)},
        release={"item": "rack", "interarrival_hours": 1.0},
        items={"rack": {"route": ["build"], "parts": [{"item": "board", "quantity": 1}]}},
        materials=materials,
    )


def test_a_shortage_starves_the_line() -> None:
    plant = _board_plant(initial=0, every=10.0)
    _, m = simulate_checked(plant, days=40, warmup_days=5, little_tolerance=None)
    # deliveries at 0, 10, 20 … h of 5 boards: 5 racks built per 10 hours, i.e. 12 a day
    assert m["throughput_per_day"] == pytest.approx(12.0, abs=0.5)
    assert m["stations"]["build"]["utilization"] == pytest.approx(0.5 * 0.1, rel=0.05)
    parts = m["lead_time_breakdown_hours"]
    assert parts["parts"] > 0.9 * (m["lead_time_hours"] - 0.1)  # the racks wait for boards, not the server
    # … except while a delivery's 5 racks go through the server one after the other: 0.5 h in every 10
    assert parts["server"] == pytest.approx(0.05 * (m["lead_time_hours"] - 0.1), rel=0.1)
    board = m["materials"]["board"]
    assert board["short_hours"] > 0.9 * 35 * 24  # almost never a board on hand in the window
    assert board["delivered"] == pytest.approx(35 * 24 / 10 * 5, abs=5)


def test_enough_material_does_not_bind() -> None:
    plant = _board_plant(initial=10, every=10.0, quantity=15)  # 1.5 boards an hour for 1 rack an hour
    _, m = simulate_checked(plant, days=40, warmup_days=5)
    assert m["throughput_per_day"] == pytest.approx(24.0, abs=0.1)
    assert m["lead_time_breakdown_hours"]["parts"] == pytest.approx(0.0, abs=1e-6)


def test_no_deliveries_stop_the_line_when_the_stock_is_used() -> None:
    run = simulate(_board_plant(initial=3, every=None), days=5)  # type: ignore[arg-type]
    m = run_measures(run, 0.0)
    assert m["completed"] == 3
    assert m["materials"]["board"]["mean_on_hand"] < 3 / (5 * 24) * 3 + 1e-9


def test_made_parts_are_taken_once_per_unit_and_not_again_after_rework() -> None:
    """A rack takes 2 trays at `fit`; `fit` fails half the racks into `fix` and back: the retest takes no
    new trays, so trays made = trays used = 2 per rack that reached `fit`."""
    plant = make_plant(
        {
            "tray": station(0.2, servers=4),
            "fit": station(0.5, servers=2, yield_=0.5, rework="fix"),
            "fix": station(0.3),
        },
        release={"item": "rack", "interarrival_hours": 1.0},
        items={
            "rack": {"route": ["fit"], "parts": [{"item": "tray", "quantity": 2}]},
            "tray": {"route": ["tray"]},
        },
    )
    _, m = simulate_checked(plant, days=10, seed=3)
    racks_fitted = m["items"]["rack"]["finished"]
    assert m["stations"]["fit"]["failed"] > 0.3 * racks_fitted  # there was rework
    trays = m["items"]["tray"]
    # every tray made went into a rack (none left in stock at the end but those of racks not yet fitted)
    assert trays["finished"] - 2 * racks_fitted <= 2 * 2  # at most the racks in process at the end
