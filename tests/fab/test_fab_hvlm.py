"""The real SMT2020 HVLM data set reads into the documented counts, rates and reference values."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from aifactory.fab import (
    BatchUnit,
    CounterBasis,
    Dataset,
    Exponential,
    PeriodicRelease,
    ProcessingBasis,
    ResourceType,
    Uniform,
    read_dataset,
)


@pytest.fixture(scope="module")
def hvlm(hvlm_dir: Path) -> Dataset:
    return read_dataset(hvlm_dir)


def test_name_and_epoch(hvlm: Dataset) -> None:
    assert hvlm.name == "HVLM"
    assert hvlm.epoch == datetime(2018, 1, 1)


def test_tool_families_and_tools(hvlm: Dataset) -> None:
    # 105 real tool groups with 1,043 tools, plus the Delay_32 pseudo group (400 "tools").
    assert len(hvlm.tool_families) == 106
    assert len(hvlm.real_tool_families) == 105
    assert hvlm.tool_count == 1043
    delay = hvlm.tool_families["Delay_32"]
    assert delay.is_delay and delay.count == 400 and delay.load_time == 0.0
    assert {f.area for f in hvlm.real_tool_families} == {
        "Def_Met", "Dielectric", "Diffusion", "Dry_Etch", "Implant", "Litho",
        "Litho_Met", "Planar", "TF", "TF_Met", "Wet_Etch",
    }  # fmt: skip


def test_tool_family_attributes(hvlm: Dataset) -> None:
    implant = hvlm.tool_families["Implant_128"]
    assert implant.count == 10
    assert implant.rule == "rule_LSSU"
    assert implant.ranks == ("rank_HP", "rank_RSETUP", "rank_FIFO")
    assert implant.wake_rank == "wake_LeastSetupTime"
    assert implant.setup_group == "Implant_Gas"
    assert implant.cascading and implant.capacity == 2
    assert (implant.load_time, implant.unload_time) == (1.0, 1.0)
    furnace = hvlm.tool_families["Diffusion_FE_120"]
    assert furnace.batching and furnace.batch_criterion == "crit_sameroutestep"
    assert furnace.batch_unit is BatchUnit.WAFER
    assert sum(f.batching for f in hvlm.tool_families.values()) == 10
    assert sum(f.cascading for f in hvlm.tool_families.values()) == 45


def test_routes(hvlm: Dataset) -> None:
    assert {name: len(route) for name, route in hvlm.routes.items()} == {"r_3": 583, "r_4": 343}
    assert hvlm.route_of("part_3").name == "r_3"
    assert hvlm.route_of("part_4").name == "r_4"
    first = hvlm.routes["r_3"].steps[0]
    assert first.family == "Diffusion_FE_120"
    assert first.basis is ProcessingBasis.BATCH
    assert first.processing_time == Uniform(501.33, 25.0665)
    assert first.batch is not None and (first.batch.min, first.batch.max) == (125, 150)
    for route in hvlm.routes.values():
        assert [s.index for s in route.steps] == list(range(len(route)))
        assert all(s.family in hvlm.tool_families for s in route.steps)


def test_route_features_of_r3(hvlm: Dataset) -> None:
    steps = hvlm.routes["r_3"].steps
    assert sum(s.basis is ProcessingBasis.BATCH for s in steps) == 17
    assert sum(s.rework is not None for s in steps) == 7
    assert sum(s.queue_time_limit is not None for s in steps) == 41
    assert sum(s.dedicated_to is not None for s in steps) == 11
    # Step 81 (088_Litho_Met) is sampled for 41 % of lots; 1 % of those go back to step 79.
    metrology = steps[80]
    assert metrology.label == "81"
    assert metrology.sampling == pytest.approx(0.41)
    assert metrology.rework is not None
    assert metrology.rework.probability == pytest.approx(0.01)
    assert steps[metrology.rework.to_step].label == "79"
    # Step 30 (034_Wet_Etch) cascades wafers 0.855 min apart and must reach step 31 within 2 h.
    wet = steps[29]
    assert wet.wafer_interval == pytest.approx(0.855)
    assert wet.queue_time_limit is not None
    assert steps[wet.queue_time_limit.until_step].label == "31"
    assert wet.queue_time_limit.limit == 120.0
    # Step 13 (016_Litho) dedicates the lot to its tool for step 113.
    litho = steps[12]
    assert litho.dedicated_to is not None and steps[litho.dedicated_to].label == "113"
    # Step 56 (063_Planar) cascades whole lots 53.949 min apart.
    assert steps[55].lot_interval == pytest.approx(53.949)
    # Route setup times on the litho tracks, setup.txt times elsewhere.
    setups = [s.setup for s in steps if s.setup is not None]
    assert len(setups) == 58
    assert {s.time for s in setups} == {None, 8.0, 15.0}


def test_releases_are_periodic_at_10000_wafers_per_week(hvlm: Dataset) -> None:
    assert all(isinstance(r, PeriodicRelease) for r in hvlm.releases)
    assert {r.lot_type: r.priority for r in hvlm.releases} == {
        "Lot_3": 10, "Lot_4": 10, "HotLot_3": 20, "HotLot_4": 20, "SuperHotLot_3": 30,
    }  # fmt: skip
    assert hvlm.wafers_per_week == pytest.approx(10_000, rel=0.01)
    lot_3 = hvlm.releases[0]
    assert isinstance(lot_3, PeriodicRelease)
    assert lot_3.interval.mean == pytest.approx(51.69)
    assert (lot_3.repeats, lot_3.lots_per_release, lot_3.wafers, lot_3.start) == (200000, 1, 25, 0.0)
    # DUE 02/23/18 20:07:47 for START 01/01/18 00:00:00
    assert lot_3.due_offset == pytest.approx((53 * 24 + 20) * 60 + 7 + 47 / 60)


def test_wip(hvlm: Dataset) -> None:
    assert len(hvlm.wip) == 2255
    first = hvlm.wip[0]
    assert (first.lot, first.lot_type, first.part, first.priority) == ("Init_Lot_3_2", "Lot_3", "part_3", 10)
    assert hvlm.routes["r_3"].steps[first.step].label == "560"
    assert first.due == pytest.approx(1440 + 6 * 60 + 19 + 32 / 60)  # 01/02/18 06:19:32
    assert {w.lot_type for w in hvlm.wip} == {r.lot_type for r in hvlm.releases}
    assert sum(w.priority == 30 for w in hvlm.wip) == 3
    assert all(0 <= w.step < len(hvlm.route_of(w.part)) for w in hvlm.wip)


def test_breakdowns_and_pms(hvlm: Dataset) -> None:
    for family in hvlm.real_tool_families:
        (breakdown,) = family.breakdowns
        assert breakdown.attached_to is ResourceType.AREA
        assert breakdown.time_to_failure == Exponential(10080.0)
        assert breakdown.first == Exponential(10080.0)
        assert 2 <= len(family.pms) <= 3
    assert hvlm.tool_families["Delay_32"].breakdowns == ()
    assert sum(len(f.pms) for f in hvlm.tool_families.values()) == 292
    litho = hvlm.tool_families["Litho_FE_92"].breakdowns[0]
    assert litho.time_to_repair == Exponential(705.59)
    week, month, quarter = hvlm.tool_families["Litho_FE_92"].pms
    assert (week.basis, week.interval, week.first) == (CounterBasis.TIME, 7 * 1440, pytest.approx(6.9 * 1440))
    assert week.duration == Uniform(pytest.approx(6.65 * 60), pytest.approx(1.33 * 60))
    assert month.interval == 30 * 1440 and quarter.interval == 91 * 1440
    wet = hvlm.tool_families["WE_FE_84"].pms[0]
    assert (wet.basis, wet.interval, wet.first) == (CounterBasis.WAFERS, 10833, 11050)


def test_setups_and_transport(hvlm: Dataset) -> None:
    assert hvlm.setup_time("DE_BE_13_1", "DE_BE_13_2") is not None
    assert hvlm.setup_time("DE_BE_13_1", "DE_BE_13_2").mean == 7.0  # type: ignore[union-attr]
    assert hvlm.setup_time("DE_BE_13_2", "DE_BE_13_1").mean == 12.0  # type: ignore[union-attr]
    assert hvlm.setup_time(None, "SU91_2").mean == 80.0  # type: ignore[union-attr]
    assert hvlm.setup_time("SU132_1", "SU128_3").mean == 72.0  # type: ignore[union-attr]
    assert hvlm.setup_time(None, "SU999") is None
    assert set(hvlm.setup_groups) == {"Implant_Gas"}
    assert dict(hvlm.setup_groups["Implant_Gas"].min_run) == {
        f"SU{n}_{k}": 7 for n in (128, 132, 91) for k in (1, 2, 3)
    }
    transport = hvlm.transport_time("Fab", "Fab")
    assert transport == Uniform(7.5, 2.5)
    assert (transport.low, transport.high) == (5.0, 10.0)
    assert hvlm.transport_time("Fab", "Delay") is None


def test_reference(hvlm: Dataset) -> None:
    assert hvlm.reference is not None
    lots = hvlm.reference.lots
    assert set(lots) == {"Lot_3", "Lot_4", "HotLot_3", "HotLot_4"}
    lot_3 = lots["Lot_3"]
    assert (lot_3.throughput, lot_3.cycle_time_days, lot_3.on_time_pct) == (18914.60, 51.21, 91.19)
    groups = hvlm.reference.toolgroups
    assert set(groups) == {f.name for f in hvlm.real_tool_families}
    wet = groups["WE_FE_84"]
    assert (wet.avail, wet.util, wet.br, wet.pm, wet.setup) == (89.03, 89.17, 2.17, 8.80, 0.00)
