"""Format features HVLM does not exercise, on tiny hand-made data sets written into ``tmp_path``."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from fab_files import ROUTE_HEADER, MakeDataset, route_row, tsv

from aifactory.fab import (
    BatchUnit,
    Constant,
    CounterBasis,
    Dataset,
    Exponential,
    LotRelease,
    PeriodicRelease,
    ProcessingBasis,
    ResourceType,
    SetupWhen,
    Uniform,
    read_dataset,
)
from aifactory.fab.order_file import lot_type_of


@pytest.fixture
def tiny(make_dataset: MakeDataset) -> Dataset:
    return read_dataset(make_dataset())


def test_epoch_is_the_earliest_start(tiny: Dataset) -> None:
    # WIP lot Init_Lot_A_1 started 12/31/17, a day before the first release.
    assert tiny.name == "TINY"
    assert tiny.epoch == datetime(2017, 12, 31)
    assert tiny.wip[0].start == 0.0
    lot_a, hot_a = tiny.releases
    assert isinstance(lot_a, PeriodicRelease) and isinstance(hot_a, PeriodicRelease)
    assert lot_a.start == 1440.0
    assert hot_a.start == 1440.0 + 720.0


def test_periodic_release(tiny: Dataset) -> None:
    lot_a = tiny.releases[0]
    assert isinstance(lot_a, PeriodicRelease)
    assert lot_a.interval == Constant(60.0)  # REPEAT 1 hr
    assert (lot_a.repeats, lot_a.lots_per_release, lot_a.wafers) == (1000, 2, 25)
    assert lot_a.due_offset == 10 * 1440.0
    assert lot_a.wafers_per_week == 2 * 25 * 168
    assert lot_a.end == lot_a.start + 999 * 60.0
    assert tiny.wafers_per_week == 2 * 25 * 168 + 25 * 7


def test_list_form_orders(make_dataset: MakeDataset) -> None:
    orders = tsv(
        "LOT|PART|PRIOR|PIECES|START|RDIST|REPEAT|RUNITS|RPT#|LOTSPERRPT|DUE|ORDER|HOTLOT",
        "Lot_1_1|part_A|10|25|01/01/18 00:00:00||||||02/19/18 18:41:46|O_Lot_1|no",
        "HotLot_1_1|part_A|20|25|01/01/18 08:00:00||||||01/20/18 08:00:00|O_HotLot_1|no",
        "Lot_1_2|part_B|10|20|01/01/2018 04:18:28||||||||yes",
    )
    dataset = read_dataset(make_dataset({"order.txt": orders, "WIP.txt": None}))
    assert dataset.epoch == datetime(2018, 1, 1)
    assert dataset.wip == ()
    first, hot, last = dataset.releases
    assert isinstance(first, LotRelease)
    assert (first.lot, first.lot_type, first.part, first.priority, first.wafers) == (
        "Lot_1_1", "Lot_1", "part_A", 10, 25,
    )  # fmt: skip
    assert first.start == 0.0
    assert first.due == pytest.approx(((49 * 24 + 18) * 60 + 41) + 46 / 60)
    assert isinstance(hot, LotRelease) and hot.lot_type == "HotLot_1" and hot.start == 480.0
    assert isinstance(last, LotRelease)
    assert last.start == pytest.approx(4 * 60 + 18 + 28 / 60)  # four-digit year accepted
    assert last.due is None and last.hot and last.order == ""
    assert dataset.wafers_per_week == 0.0  # list releases are not a rate


def test_order_file_without_repeat_columns(make_dataset: MakeDataset) -> None:
    orders = tsv(
        "LOT|PART|PRIOR|PIECES|START|DUE", "E_Lot_1_1|part_B|10|3|01/01/18 08:00:00|02/19/18 01:01:04"
    )
    (release,) = read_dataset(make_dataset({"order.txt": orders})).releases
    assert isinstance(release, LotRelease)
    assert (release.lot_type, release.wafers) == ("E_Lot_1", 3)


def test_other_order_files(make_dataset: MakeDataset) -> None:
    extra = tsv("LOT|PART|PRIOR|PIECES|START|DUE", "Lot_B_1|part_B|10|25|01/03/18 00:00:00|")
    path = make_dataset({"order_high_SL_92PCTL.txt": extra})
    dataset = read_dataset(path, order_files=("order.txt", "order_high_SL_92PCTL.txt"))
    assert len(dataset.releases) == 3
    only = read_dataset(path, order_files=("order_high_SL_92PCTL.txt",))
    assert [r.part for r in only.releases] == ["part_B"]


def test_lot_types() -> None:
    known = {"Lot_A", "HotLot_3"}
    assert lot_type_of("Init_Lot_A_1", known) == "Lot_A"
    assert lot_type_of("Init_HotLot_3_7", known) == "HotLot_3"
    assert lot_type_of("Init_SuperHotLot_3_2") == "SuperHotLot_3"
    assert lot_type_of("Lot_10_1234") == "Lot_10"
    assert lot_type_of("Lot_3") == "Lot_3"
    assert lot_type_of("Lot_A", known) == "Lot_A"


def test_wip_lots(tiny: Dataset) -> None:
    old, super_hot = tiny.wip
    assert (old.lot_type, old.step, old.due, old.priority) == ("Lot_A", 3, 2880.0, 10)
    assert tiny.route_of(old.part).steps[old.step].label == "40"
    # A short row (no HOTLOT/TRACE cells) is padded.
    assert (super_hot.part, super_hot.wafers, super_hot.priority, super_hot.hot) == ("part_B", 13, 30, False)
    assert super_hot.start == 1440.0 and super_hot.due == 1440.0 + 360.0


def test_tool_families(tiny: Dataset) -> None:
    litho = tiny.tool_families["LITHO"]
    assert litho.ranks == ("rank_HP", "rank_RSETUP", "rank_CR")  # critical-ratio dispatching
    wet = tiny.tool_families["WET"]
    assert wet.cascading and not wet.batching
    assert (wet.load_time, wet.unload_time) == (0.5, 0.5)  # 30 sec
    furnace = tiny.tool_families["FURNACE"]
    assert furnace.batching and furnace.batch_unit is BatchUnit.WAFER
    assert tiny.tool_families["DELAY"].is_delay
    assert tiny.tool_count == 2 + 1 + 1 + 3
    assert [f.name for f in tiny.real_tool_families] == ["LITHO", "FURNACE", "WET", "IMP"]


def test_original_tool_file_with_rank_lines_and_stations(make_dataset: MakeDataset) -> None:
    tools = tsv(
        "STNFAM|STN|RULE|FWLRANK|STNQTY|STNGRP|STNFAMLOC|STNCAP|LTIME|LTUNITS|ULTIME|ULTUNITS|SETUPGRP",
        "LITHO|LITHO_A|rule_HotLotFIRST|rank_HP|1|Litho|Fab||1|min|1|min|",
        "||||||||||||",
        "|||rank_RSETUP|||||||||",
        "|||rank_CR|||||||||",
        "LITHO|LITHO_B|rule_HotLotFIRST||2|Litho|Fab||1|min|1|min|",
        "FURNACE|FURNACE|rule_HotLotFIRST|rank_FIFO|1|Diffusion|Fab||||||",
        "WET|WET|rule_HotLotFIRST|rank_FIFO|1|Diffusion|Fab|2|||||",
        "IMP|IMP|rule_LSSU|rank_HP|3|Implant|Fab||||||GasGrp",
        "DELAY|Delay1|rule_HotLotFIRST|rank_FIFO|100|Delay|Delay||||||",
    )
    # The one-line file is absent, so the original tool.txt is read.
    dataset = read_dataset(make_dataset({"tool.txt.1l": None, "tool.txt": tools}))
    litho = dataset.tool_families["LITHO"]
    assert litho.ranks == ("rank_HP", "rank_RSETUP", "rank_CR")
    assert [(s.name, s.count) for s in litho.stations] == [("LITHO_A", 1), ("LITHO_B", 2)]
    assert litho.count == 3
    assert dataset.tool_families["FURNACE"].load_time == 0.0  # no load time given


def test_batch_and_processing_bases(tiny: Dataset) -> None:
    steps = tiny.routes["r_A"].steps
    furnace = steps[0]
    assert furnace.basis is ProcessingBasis.BATCH
    assert furnace.batch is not None
    assert (furnace.batch.min, furnace.batch.max, furnace.batch.unit) == (50, 75, BatchUnit.WAFER)
    assert furnace.processing_time == Uniform(100.0, 5.0)
    assert furnace.mean_time(25) == 100.0  # per batch, whatever its size
    litho = steps[2]
    assert litho.basis is ProcessingBasis.WAFER and litho.mean_time(25) == 50.0
    implant = steps[3]
    assert implant.processing_time == Constant(30.0)  # 0.5 hr
    assert implant.mean_time(25) == 30.0
    assert steps[6].processing_time == Constant(2 * 1440.0)  # the delay: 2 days
    assert tiny.routes["r_B"].steps[0].processing_time == Exponential(3.0)


def test_cascading(tiny: Dataset) -> None:
    steps = tiny.routes["r_A"].steps
    wafers = steps[1]
    assert wafers.cascading and wafers.wafer_interval == 0.5 and wafers.lot_interval is None
    assert wafers.mean_time(25) == 1.0 + 24 * 0.5
    lots = steps[7]
    assert lots.cascading and lots.lot_interval == 30.0 and lots.wafer_interval is None
    assert lots.mean_time(25) == 40.0
    assert not steps[0].cascading


def test_rework_and_sampling(tiny: Dataset) -> None:
    steps = tiny.routes["r_A"].steps
    measured = steps[5]
    assert measured.sampling == 0.5
    assert measured.rework is not None
    assert measured.rework.probability == pytest.approx(0.02)
    assert measured.rework.to_step == 4 and steps[4].label == "50"
    assert measured.rework.kind == "lot"
    assert all(s.sampling == 1.0 for s in steps if s.index != 5)


def test_dedication_and_queue_time(tiny: Dataset) -> None:
    steps = tiny.routes["r_A"].steps
    assert steps[2].dedicated_to == 4
    limit = steps[1].queue_time_limit
    assert limit is not None and (limit.until_step, limit.limit) == (2, 120.0)


def test_setups(tiny: Dataset) -> None:
    steps = tiny.routes["r_A"].steps
    implant = steps[3].setup
    assert implant is not None
    assert (implant.setup, implant.when, implant.time) == ("SU1", SetupWhen.NEED, None)
    reticle = steps[4].setup
    assert reticle is not None and (reticle.when, reticle.time) == (SetupWhen.ALWAYS, 8.0)
    assert tiny.setup_time("SU1", "SU2") == Constant(7.0)  # exact pair
    assert tiny.setup_time("SU9", "SU2") == Constant(20.0)  # from any setup
    assert tiny.setup_time(None, "SU1") == Constant(15.0)  # 0.25 hr
    assert tiny.setup_time("SU2", "RET_7") is None
    assert dict(tiny.setup_groups["GasGrp"].min_run) == {"SU1": 5, "SU2": 3}
    assert tiny.tool_families["IMP"].setup_group == "GasGrp"


def test_breakdowns(tiny: Dataset) -> None:
    # The Diffusion area calendar hits both families of that area, each tool on its own.
    for name in ("FURNACE", "WET"):
        (down,) = tiny.tool_families[name].breakdowns
        assert (down.calendar, down.attached_to, down.basis) == (
            "BREAK_Diffusion",
            ResourceType.AREA,
            CounterBasis.TIME,
        )
        assert down.time_to_failure == Exponential(7 * 1440.0)
        assert down.time_to_repair == Exponential(120.0)
        assert down.first == Exponential(7 * 1440.0)
    (litho,) = tiny.tool_families["LITHO"].breakdowns
    assert litho.attached_to is ResourceType.FAMILY
    assert litho.time_to_repair == Uniform(60.0, 30.0)
    assert litho.first == litho.time_to_failure  # no FOA: a draw of the time to failure
    assert tiny.tool_families["IMP"].breakdowns == ()


def test_count_based_pm(tiny: Dataset) -> None:
    (pm,) = tiny.tool_families["WET"].pms
    assert pm.basis is CounterBasis.WAFERS
    assert (pm.interval, pm.first) == (5000.0, 5200.0)  # wafers
    assert pm.duration == Uniform(480.0, 90.0)


def test_calendar_pm_and_station_attachment(tiny: Dataset) -> None:
    (litho,) = tiny.tool_families["LITHO"].pms
    assert litho.basis is CounterBasis.TIME
    assert (litho.interval, litho.first) == (30 * 1440.0, 27.5 * 1440.0)
    (implant,) = tiny.tool_families["IMP"].pms
    assert (implant.attached_to, implant.station) == (ResourceType.STATION, "IMP")
    assert (implant.interval, implant.first, implant.duration) == (2 * 10080.0, 36 * 60.0, Constant(90.0))


def test_pm_without_first_occurrence_starts_after_one_interval(make_dataset: MakeDataset) -> None:
    attach = tsv("CALNAME|CALTYPE|RESTYPE|RESNAME", "WET_WK|pm|stnfam|WET")
    (pm,) = read_dataset(make_dataset({"attach.txt": attach})).tool_families["WET"].pms
    assert pm.first == pm.interval == 5000.0


def test_transport(tiny: Dataset) -> None:
    assert tiny.transport_time("Fab", "Fab") == Uniform(7.5, 2.5)
    assert tiny.transport_time("Fab", "Delay") is None


def test_reference(tiny: Dataset) -> None:
    assert tiny.reference is not None
    assert tiny.reference.lots["Lot_A"].cycle_time_days == 40.25
    assert tiny.reference.toolgroups["LITHO"].setup == 2.5


def test_optional_files_may_be_absent(make_dataset: MakeDataset) -> None:
    optional = (
        "WIP.txt", "downcal.txt", "pmcal.txt", "attach.txt", "setup.txt", "fromto.txt",
        "reference_lots.txt", "reference_toolgroups.txt",
    )  # fmt: skip
    dataset = read_dataset(make_dataset(dict.fromkeys(optional)))
    assert dataset.wip == () and dataset.setup_changes == () and dataset.transports == ()
    assert dataset.reference is None
    assert all(f.breakdowns == () and f.pms == () for f in dataset.tool_families.values())
    assert dataset.setup_time(None, "SU1") is None


def test_setup_group_file_may_be_absent_when_no_family_uses_one(make_dataset: MakeDataset) -> None:
    tools = tsv(
        "STNFAM|STNQTY|STNGRP|STNFAMLOC|RULE",
        "LITHO|2|Litho|Fab|rule_HotLotFIRST",
        "FURNACE|1|Diffusion|Fab|rule_HotLotFIRST",
        "WET|1|Diffusion|Fab|rule_HotLotFIRST",
        "IMP|3|Implant|Fab|rule_HotLotFIRST",
        "DELAY|10|Delay|Delay|rule_HotLotFIRST",
    )
    dataset = read_dataset(make_dataset({"tool.txt.1l": tools, "setupgrp.txt": None}))
    assert dataset.setup_groups == {}
    assert dataset.tool_families["LITHO"].ranks == ()


def test_route_without_optional_columns(make_dataset: MakeDataset) -> None:
    route = tsv(
        "ROUTE|STEP|STNFAM|PTIME|PTUNITS|PTPER", "r_B|1|LITHO|90|sec|per_piece", "r_B|2|IMP|1|hr|per_lot"
    )
    steps = read_dataset(make_dataset({"route_B.txt": route})).routes["r_B"].steps
    assert steps[0].processing_time == Constant(1.5)  # PDIST defaults to constant
    assert steps[0].description == "" and steps[1].setup is None
    assert steps[1].processing_time == Constant(60.0)


def test_a_route_file_shared_by_two_parts(make_dataset: MakeDataset) -> None:
    parts = tsv(
        "PARTGRP|PARTFAM|PART|ROUTEFILE|ROUTE",
        "Saleable|product_A|part_A|route_A.txt|r_A",
        "Saleable|product_A|part_A2|route_A.txt|r_A",
        "Engineering|product_B|part_B|route_B.txt|r_B",
    )
    dataset = read_dataset(make_dataset({"part.txt": parts}))
    assert dataset.route_of("part_A") is dataset.route_of("part_A2")
    assert set(dataset.routes) == {"r_A", "r_B"}


def test_comments_blank_lines_and_utf16(make_dataset: MakeDataset) -> None:
    routes = (
        tsv(
            ROUTE_HEADER, "~ a comment line", "", route_row("r_B", "1", "LITHO"), route_row("r_B", "2", "IMP")
        )
        .replace("\n", "\r\n")
        .encode("utf-16")
    )
    path = make_dataset()
    (path / "route_B.txt").write_bytes(routes)
    assert len(read_dataset(path).routes["r_B"]) == 2


def test_dataset_is_immutable(tiny: Dataset) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        tiny.tool_families["X"] = tiny.tool_families["LITHO"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.routes["r_A"].steps[0].sampling = 0.5  # type: ignore[misc]


def test_reading_twice_gives_equal_datasets(make_dataset: MakeDataset) -> None:
    path = make_dataset()
    assert read_dataset(path) == read_dataset(str(path))
