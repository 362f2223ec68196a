"""Units are conserved: released = finished + in the plant + scrapped, for every item (racks and the
trays kitted for them), and made parts and bought materials balance against what the racks took."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from plant_builders import (
    assert_conserved,
    exponential,
    job_table,
    make_plant,
    mean,
    plant_data,
    simulate_checked,
    simulate_cli,
    station,
)

from aifactory.plant.engine import PlantRun


def kitted_data(**release: Any) -> dict[str, Any]:
    """Racks kitted with 2 trays each (trays fail a test, are reworked once, else scrapped and re-kitted),
    a board bought per rack, a finite buffer before integration, and a rack test that scraps."""
    return plant_data(
        {
            "kit": station(0.2),
            "tray-build": station(exponential(0.3), servers=2),
            "tray-test": station(0.2, servers=2, yield_=0.8, rework="tray-fix", retries=1),
            "tray-fix": station(0.5),
            "integrate": station(exponential(1.0), servers=2, buffer=3),
            "rack-test": station(0.5, yield_=0.9),
        },
        release={"item": "rack", **(release or {"interarrival_hours": exponential(1.5)})},
        items={
            "rack": {
                "route": ["kit", "integrate", "rack-test"],
                "kit_after": "kit",
                "parts": [
                    {"item": "tray", "quantity": 2, "at": "integrate"},
                    {"item": "board", "quantity": 1, "at": "integrate"},
                ],
            },
            "tray": {"route": ["tray-build", "tray-test"]},
        },
        materials={"board": {"initial": 5, "deliveries": {"every_hours": 12, "quantity": 9}}},
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_units_are_conserved_per_item(seed: int) -> None:
    from aifactory.plant.loading import plant_from_data

    plant = plant_from_data(kitted_data(), "kitted")
    run, m = simulate_checked(plant, days=60, seed=seed)
    counts = assert_conserved(run)
    for item in ("rack", "tray"):
        c = counts[item]
        assert c["released"] == c["finished"] + c["in_plant"] + c["scrapped"]
        # warm-up 0: the window's counts are the whole run's
        k = m["items"][item]
        assert (k["released"], k["finished"], k["scrapped"]) == (c["released"], c["finished"], c["scrapped"])
    assert counts["rack"]["scrapped"] > 0 and counts["tray"]["scrapped"] > 0
    # trays: 2 kitted with every rack that passed the kit station, 1 more for each scrapped tray
    assert counts["tray"]["released"] == 2 * job_units(run, "kit") + counts["tray"]["scrapped"]
    # trays finished = trays taken at integration (2 a rack) + trays in stock (never negative)
    jobs = job_table(run)
    taken = int((jobs["station"] == run.index.stations.index("integrate")).sum())  # a rack a job
    assert counts["tray"]["finished"] - 2 * taken >= 0
    # boards: each change of the stock is logged; what left it is what integration took (1 a rack)
    stock = run.records.stock
    board = stock[stock[:, 0] == run.index.stocks.index("board")]
    change = np.diff(board[:, 2])
    assert board[0, 2] == 5
    assert -change[change < 0].sum() == taken
    assert board[-1, 2] == 5 + change[change > 0].sum() - taken
    # 9 boards every 12 hours from hour 0: deliveries at 0, 12, …, 1,428 within the 60 days (1,440 h)
    assert m["materials"]["board"]["delivered"] == 120 * 9


def job_units(run: PlantRun, station_name: str) -> int:
    """Units in the finished jobs of ``station_name``."""
    jobs = job_table(run)
    mine = (jobs["station"] == run.index.stations.index(station_name)) & jobs["finished"]
    return int(jobs["units"][mine].sum())


def test_units_waiting_at_the_door_are_in_the_plant() -> None:
    """Released faster than the first station can take them (buffer 1): the rest wait at the door."""
    plant = make_plant(
        {"slow": station(2.0, buffer=1), "next": station(0.1)},
        release={"item": "rack", "interarrival_hours": 0.5, "limit": 40},
    )
    run, m = simulate_checked(plant, days=2)
    counts = assert_conserved(run)["rack"]
    assert counts["released"] == 40
    assert counts["finished"] == pytest.approx(48 / 2 - 1, abs=1)
    assert counts["in_plant"] == 40 - counts["finished"]
    assert m["lead_time_breakdown_hours"]["blocked"] > 0  # the door counts as blocked


def test_conwip_keeps_the_plant_full_and_conserves_units() -> None:
    plant = make_plant(
        {"a": station(exponential(1.0), yield_=0.9), "b": station(exponential(0.5))},
        release={"item": "rack", "wip_limit": 4},
    )
    run, m = simulate_checked(plant, days=50, seed=6, warmup_days=1)
    counts = assert_conserved(run)["rack"]
    assert counts["in_plant"] == 4
    assert m["wip"] == pytest.approx(4.0, abs=1e-9)


def test_conservation_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = kitted_data()
    kpis = simulate_cli(capsys, tmp_path, data, days=40, warmup_days=0, records=True)
    units = pq.read_table(tmp_path / "out" / "units.parquet").to_pydict()
    by = Counter(zip(units["item"], units["outcome"], strict=True))
    for item in ("rack", "tray"):
        released = mean(kpis, "items", item, "released")
        finished = mean(kpis, "items", item, "finished")
        scrapped = mean(kpis, "items", item, "scrapped")
        assert (finished, scrapped) == (by[item, "finished"], by[item, "scrapped"])
        assert released == finished + scrapped + by[item, "in plant"]
    assert mean(kpis, "items", "tray", "scrapped") > 0
