"""The power model in closed form: IT power from busy GPUs and powered racks, a PUE that is the design
PUE at full load and the reference temperature, higher at part load and in hot hours."""

from __future__ import annotations

import datetime as dt

import pytest

from aifactory.cluster.power import PowerModel, hourly_temperature

# 2 racks of 72 GPUs: idle 0.2 kW, busy 1.4 kW per GPU, 30 kW per rack besides; PUE 1.25, 40 % fixed
MODEL = PowerModel(2, 72, 0.2, 1.4, 30.0, 1.25, 0.4, 0.01, 25.0)


def test_it_and_facility_power_by_hand() -> None:
    # idle rack: 30 + 72 × 0.2 = 44.4 kW; a busy GPU adds 1.2 kW
    assert float(MODEL.it_kw(2, 0)) == pytest.approx(88.8)
    assert float(MODEL.it_kw(2, 144)) == pytest.approx(2 * (30 + 72 * 1.4))  # 261.6 kW at full load
    # full load at 25 °C: the design PUE exactly
    assert float(MODEL.facility_kw(2, 144, 25.0)) / 261.6 == pytest.approx(1.25)
    # fixed losses 0.25 × 0.4 × 130.8 = 13.08 kW per rack; cooling 0.15 of IT at 25 °C, 0.20 at 30 °C
    assert float(MODEL.facility_kw(2, 0, 25.0)) == pytest.approx(88.8 * 1.15 + 26.16)
    assert float(MODEL.facility_kw(2, 0, 30.0)) == pytest.approx(88.8 * 1.20 + 26.16)
    # the PUE is higher at part load (idle: 1.445) than at full load
    assert float(MODEL.facility_kw(2, 0, 25.0)) / 88.8 == pytest.approx(1.4446, abs=1e-4)


def test_the_most_gpus_a_budget_allows_busy() -> None:
    # at 30 °C: facility = IT × 1.2 + 26.16; 200 kW → IT ≤ 144.87 kW → (144.87 − 88.8) / 1.2 = 46.7 GPUs
    assert MODEL.max_busy_gpus(200.0, 30.0) == 46
    assert float(MODEL.facility_kw(2, 46, 30.0)) <= 200.0 < float(MODEL.facility_kw(2, 47, 30.0))
    assert MODEL.max_busy_gpus(1e6, 30.0) == 144  # no more GPUs than there are
    with pytest.raises(ValueError, match=r"idle factory alone draws 0\.13 MW"):
        MODEL.max_busy_gpus(100.0, 30.0)


def test_hourly_temperature_follows_the_months_and_the_day() -> None:
    flat = hourly_temperature((20.0,) * 12, 3.0, 14.5, dt.date(2026, 1, 15), 48)
    # values at mid-hour: hour 14 is 14:30, the peak; 02:30 the trough
    assert (
        flat[14] == pytest.approx(23.0) and flat[2] == pytest.approx(17.0) and flat[38] == pytest.approx(23.0)
    )
    months = tuple(float(m) for m in range(12))  # January 0 °C … December 11 °C
    # the middle of July is day 197.84 of the year (6.5 × 365.25 / 12): 17 July 20:30 holds the July mean
    july = hourly_temperature(months, 0.0, 14.0, dt.date(2026, 7, 17), 24)[20:21]
    assert july[0] == pytest.approx(6.0, abs=0.01)
    # between mid-months linearly: 1 April 00:30 lies 0.47 of the way from mid-March to mid-April
    april = hourly_temperature(months, 0.0, 14.0, dt.date(2026, 4, 1), 1)
    assert 2.0 < april[0] < 3.0
    warmer = hourly_temperature(months, 0.0, 14.0, dt.date(2026, 7, 17), 24, offset_c=2.0)
    assert warmer[20] == pytest.approx(july[0] + 2.0)
