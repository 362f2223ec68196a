"""Bad input raises FabDataError with one line naming the file, the line and the field."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from fab_files import (
    ATTACH,
    ORDERS,
    PARTS,
    PMCAL,
    ROUTE_A,
    ROUTE_HEADER,
    TOOLS,
    WIP,
    MakeDataset,
    route_row,
    tsv,
)

from aifactory.fab import FabDataError, read_dataset


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced (the test fails loudly if it is not there)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def route_a_line(line: int, **cells: str) -> str:
    """ROUTE_A with data line ``line`` (2 = first step) replaced by a route row with ``cells``."""
    lines = ROUTE_A.splitlines()
    old = dict(zip(ROUTE_HEADER.split("|"), lines[line - 1].split("\t"), strict=True))
    old.update(cells)
    lines[line - 1] = route_row(old.pop("ROUTE"), old.pop("STEP"), old.pop("STNFAM"), **old).replace(
        "|", "\t"
    )
    return "\n".join(lines) + "\n"


def read_error(path: Path) -> FabDataError:
    with pytest.raises(FabDataError) as caught:
        read_dataset(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert "\n" not in str(error)
    return error


def assert_names(
    error: FabDataError, file: str, line: int | None, field: str | None, *fragments: str
) -> None:
    message = str(error)
    where = f"{file} line {line}: " if line is not None else f"{file}: "
    assert message.startswith(where), message
    assert (error.file, error.line) == (file, line)
    if field is not None:
        assert error.field == field
        assert field in message, message
    for fragment in fragments:
        assert fragment in message, message


# -- the cases the format must reject -------------------------------------------------------------


@pytest.mark.parametrize("file", ["tool.txt.1l", "part.txt", "order.txt"])
def test_missing_required_file(make_dataset: MakeDataset, file: str) -> None:
    error = read_error(make_dataset({file: None}))
    assert_names(error, file, None, None, "required file is missing")


def test_missing_route_file(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_B.txt": None}))
    assert_names(error, "part.txt", 3, "ROUTEFILE", "'route_B.txt' does not exist")


def test_missing_data_set_directory(tmp_path: Path) -> None:
    with pytest.raises(FabDataError, match="is not a directory"):
        read_dataset(tmp_path / "nowhere")


def test_missing_column(make_dataset: MakeDataset) -> None:
    route = ROUTE_A.replace("\tPTUNITS\t", "\tTIMEUNITS\t")
    error = read_error(make_dataset({"route_A.txt": route}))
    assert_names(error, "route_A.txt", 1, "PTUNITS", "column PTUNITS is missing")


def test_missing_column_in_the_tool_file(make_dataset: MakeDataset) -> None:
    tools = edit(TOOLS, "\tSTNQTY\t", "\tQTY\t")
    error = read_error(make_dataset({"tool.txt.1l": tools}))
    assert_names(error, "tool.txt.1l", 1, "STNQTY", "column STNQTY is missing")


def test_non_numeric_processing_time(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(3, PTIME="abc")}))
    assert str(error) == "route_A.txt line 3: PTIME 'abc' is not a number"
    assert error.field == "PTIME"


def test_non_numeric_tool_count(make_dataset: MakeDataset) -> None:
    tools = edit(
        TOOLS,
        "|||1.0|min|1.0|min||3.0|Implant".replace("|", "\t"),
        "|||1.0|min|1.0|min||three|Implant".replace("|", "\t"),
    )
    error = read_error(make_dataset({"tool.txt.1l": tools}))
    assert_names(error, "tool.txt.1l", 5, "STNQTY", "'three' is not a number")


def test_unknown_tool_family_in_route(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(5, STNFAM="Litho_XX")}))
    assert_names(error, "route_A.txt", 5, "STNFAM", "'Litho_XX' is not a tool family of tool.txt.1l")


def test_unknown_part_in_release(make_dataset: MakeDataset) -> None:
    orders = edit(ORDERS, "HotLot_A\tpart_A", "HotLot_A\tpart_Z")
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 3, "PART", "'part_Z'", "no route")


def test_unknown_part_in_wip(make_dataset: MakeDataset) -> None:
    wip = edit(WIP, "Init_SuperHotLot_B_1\tpart_B", "Init_SuperHotLot_B_1\tpart_Q")
    error = read_error(make_dataset({"WIP.txt": wip}))
    assert_names(error, "WIP.txt", 3, "PART", "'part_Q'", "no route")


def test_unknown_route_in_part_file(make_dataset: MakeDataset) -> None:
    parts = edit(PARTS, "route_B.txt\tr_B", "route_B.txt\tr_C")
    error = read_error(make_dataset({"part.txt": parts}))
    assert_names(error, "part.txt", 3, "ROUTE", "'r_C' is not a route of route_B.txt")


def test_unknown_wip_step(make_dataset: MakeDataset) -> None:
    wip = edit(WIP, "\t40\t", "\t45\t")
    error = read_error(make_dataset({"WIP.txt": wip}))
    assert_names(error, "WIP.txt", 2, "CURSTEP", "'45' is not a step of route r_A")


def test_negative_processing_time(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(4, PTIME="-2")}))
    assert_names(error, "route_A.txt", 4, "PTIME", "-2 must not be negative")


def test_uniform_that_can_draw_negative_times(make_dataset: MakeDataset) -> None:
    route = route_a_line(2, PTIME2="150")  # 100 ± 150 min
    error = read_error(make_dataset({"route_A.txt": route}))
    assert_names(error, "route_A.txt", 2, "PTIME", "negative values")


def test_negative_load_time(make_dataset: MakeDataset) -> None:
    tools = edit(TOOLS, "|30|sec|30|sec|".replace("|", "\t"), "|-30|sec|30|sec|".replace("|", "\t"))
    error = read_error(make_dataset({"tool.txt.1l": tools}))
    assert_names(error, "tool.txt.1l", 4, "LTIME", "must not be negative")


def test_negative_setup_time(make_dataset: MakeDataset) -> None:
    setups = tsv("CURSETUP|NEWSETUP|STIME|STUNITS", "SU1|SU2|-7|min")
    error = read_error(make_dataset({"setup.txt": setups}))
    assert_names(error, "setup.txt", 2, "STIME", "must not be negative")


def test_min_batch_above_max_batch(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(2, BATCHMN="100", BATCHMX="75")}))
    assert_names(error, "route_A.txt", 2, "BATCHMN", "100 is greater than BATCHMX 75")


def test_batch_sizes_need_a_batch_step(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(5, BATCHMN="2", BATCHMX="4")}))
    assert_names(error, "route_A.txt", 5, "BATCHMN", "per_lot")


def test_unknown_time_unit(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(6, PTUNITS="parsec")}))
    assert_names(error, "route_A.txt", 6, "PTUNITS", "'parsec' is not a time unit", "min")


def test_missing_time_unit(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(3, CQTUNITS="")}))
    assert_names(error, "route_A.txt", 3, "CQTUNITS", "is empty")


def test_unknown_unit_in_a_calendar(make_dataset: MakeDataset) -> None:
    pmcal = edit(PMCAL, "\t30\tday\t", "\t30\tfortnight\t")
    error = read_error(make_dataset({"pmcal.txt": pmcal}))
    assert_names(error, "pmcal.txt", 3, "MTBPMUNITS", "'fortnight' is not a time unit")


def test_unknown_distribution(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(7, PDIST="weibull")}))
    assert_names(error, "route_A.txt", 7, "PDIST", "'weibull' is not a distribution")
    assert "constant, exponential, normal, uniform" in str(error)


def test_uniform_needs_its_half_width(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(2, PTIME2="")}))
    assert_names(error, "route_A.txt", 2, "PDIST", "half-width")


# -- further checks -------------------------------------------------------------------------------


def test_bad_date(make_dataset: MakeDataset) -> None:
    orders = edit(ORDERS, "01/11/18 00:00:00", "13/11/18 00:00:00")
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 2, "DUE", "'13/11/18 00:00:00' is not a date")


def test_repeat_count_must_be_whole(make_dataset: MakeDataset) -> None:
    orders = edit(ORDERS, "\t1000\t", "\t10.5\t")
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 2, "RPT#", "not a whole number")


def test_repeat_columns_without_repeat(make_dataset: MakeDataset) -> None:
    orders = tsv(
        "LOT|PART|PRIOR|PIECES|START|RDIST|REPEAT|RUNITS|RPT#|LOTSPERRPT|DUE|ORDER|HOTLOT",
        "Lot_A_1|part_A|10|25|01/01/18 00:00:00|||min|100|1|01/11/18 00:00:00|O_Lot_A|no",
    )
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 2, "RUNITS", "without a REPEAT")


def test_hot_lot_flag(make_dataset: MakeDataset) -> None:
    orders = edit(ORDERS, "O_HotLot_A\tno", "O_HotLot_A\tmaybe")
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 3, "HOTLOT", "must be yes or no")


def test_processing_basis(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(8, PTPER="per_wafer")}))
    assert_names(error, "route_A.txt", 8, "PTPER", "per_lot, per_piece, per_batch")


def test_rework_must_go_back(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(7, RWKSTEP="70")}))
    assert_names(error, "route_A.txt", 7, "RWKSTEP", "must not come after this step")


def test_rework_step_must_exist(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(7, RWKSTEP="55")}))
    assert_names(error, "route_A.txt", 7, "RWKSTEP", "'55' is not a step of this route")


def test_rework_below_100_percent(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(7, REWORK="100")}))
    assert_names(error, "route_A.txt", 7, "REWORK", "below 100")


def test_sampling_percentage(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(7, StepPercent="150")}))
    assert_names(error, "route_A.txt", 7, "StepPercent", "between 0 and 100")


def test_dedication_must_point_forward(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(4, FORSTEP="20")}))
    assert_names(error, "route_A.txt", 4, "FORSTEP", "must come after this step")


def test_queue_time_limit_must_point_forward(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(3, STEP_CQT="10")}))
    assert_names(error, "route_A.txt", 3, "STEP_CQT", "must come after this step")


def test_duplicate_step(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(4, STEP="20")}))
    assert_names(error, "route_A.txt", 4, "STEP", "'20' appears twice")


def test_unknown_calendar(make_dataset: MakeDataset) -> None:
    attach = edit(ATTACH, "WET_WK\tpm", "WET_DAILY\tpm")
    error = read_error(make_dataset({"attach.txt": attach}))
    assert_names(error, "attach.txt", 4, "CALNAME", "'WET_DAILY' is not a calendar of pmcal.txt")


def test_calendar_attached_to_nothing(make_dataset: MakeDataset) -> None:
    attach = edit(ATTACH, "stngrp\tDiffusion", "stngrp\tEtch")
    error = read_error(make_dataset({"attach.txt": attach}))
    assert_names(error, "attach.txt", 2, "RESNAME", "'Etch' is not a STNGRP")


def test_count_based_pm_needs_a_count_unit(make_dataset: MakeDataset) -> None:
    pmcal = edit(PMCAL, "5000\tpieces", "5000\tmin")
    error = read_error(make_dataset({"pmcal.txt": pmcal}))
    assert_names(error, "pmcal.txt", 2, "MTBPMUNITS", "must be pieces")


def test_unknown_pm_type(make_dataset: MakeDataset) -> None:
    pmcal = edit(PMCAL, "mtbpm_by_pieces", "mtbpm_by_lots")
    error = read_error(make_dataset({"pmcal.txt": pmcal}))
    assert_names(error, "pmcal.txt", 2, "PMCALTYPE", "mtbpm_by_cal, mtbpm_by_pieces")


def test_unknown_setup_group(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"setupgrp.txt": None}))
    assert_names(error, "tool.txt.1l", 5, "SETUPGRP", "'GasGrp' is not a group of setupgrp.txt")


def test_duplicate_setup_change(make_dataset: MakeDataset) -> None:
    setups = tsv("CURSETUP|NEWSETUP|STIME|STUNITS", "|SU1|5|min", "|SU1|6|min")
    error = read_error(make_dataset({"setup.txt": setups}))
    assert_names(error, "setup.txt", 3, "NEWSETUP", "appears twice")


def test_empty_file(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"fromto.txt": "\n\n"}))
    assert_names(error, "fromto.txt", None, None, "empty")


def test_reference_values_are_numbers(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"reference_lots.txt": "name th act on_time\nLot_A 100 forty 90\n"}))
    assert_names(error, "reference_lots.txt", 2, "act", "'forty' is not a number")


def test_error_survives_pickling(make_dataset: MakeDataset) -> None:
    error = read_error(make_dataset({"route_A.txt": route_a_line(3, PTIME="abc")}))
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.file, copy.line, copy.field) == (str(error), error.file, error.line, error.field)


def test_missing_column_in_the_order_file(make_dataset: MakeDataset) -> None:
    orders = edit(ORDERS, "\tSTART\t", "\tBEGIN\t")
    error = read_error(make_dataset({"order.txt": orders}))
    assert_names(error, "order.txt", 1, "START", "column START is missing")


def test_missing_column_in_the_wip_file(make_dataset: MakeDataset) -> None:
    wip = edit(WIP, "\tCURSTEP\t", "\tSTEP\t")
    error = read_error(make_dataset({"WIP.txt": wip}))
    assert_names(error, "WIP.txt", 1, "CURSTEP", "column CURSTEP is missing")
