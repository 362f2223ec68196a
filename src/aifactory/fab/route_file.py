"""Route files (``route_<n>.txt``): the steps of each route, in order."""

from __future__ import annotations

from collections.abc import Mapping

from aifactory.fab.dataset import (
    BatchSize,
    BatchUnit,
    ProcessingBasis,
    QueueTimeLimit,
    Rework,
    Route,
    SetupWhen,
    Step,
    StepSetup,
    ToolFamily,
)
from aifactory.fab.table import Row, Table

_BASES = {basis.value: basis for basis in ProcessingBasis}
_WHEN = {when.value: when for when in SetupWhen}
_REWORK_KINDS = ("lot", "piece")


def read_routes(table: Table, families: Mapping[str, ToolFamily], tool_file: str) -> dict[str, Route]:
    """Every route in the file by ``ROUTE`` name (a route file usually holds one)."""
    table.require("ROUTE", "STEP", "STNFAM", "PTIME", "PTUNITS", "PTPER")
    grouped: dict[str, list[Row]] = {}
    for row in table:
        grouped.setdefault(row.text("ROUTE"), []).append(row)
    return {name: _route(name, table.file, rows, families, tool_file) for name, rows in grouped.items()}


def _route(
    name: str, file: str, rows: list[Row], families: Mapping[str, ToolFamily], tool_file: str
) -> Route:
    labels: dict[str, int] = {}
    for index, row in enumerate(rows):
        label = row.text("STEP")
        if label in labels:
            raise row.error(f"STEP '{label}' appears twice in route {name}", "STEP")
        labels[label] = index
    steps = tuple(_step(index, row, labels, families, tool_file) for index, row in enumerate(rows))
    return Route(name, file, steps)


def _step(
    index: int, row: Row, labels: Mapping[str, int], families: Mapping[str, ToolFamily], tool_file: str
) -> Step:
    family_name = row.text("STNFAM")
    family = families.get(family_name)
    if family is None:
        raise row.error(f"STNFAM '{family_name}' is not a tool family of {tool_file}", "STNFAM")
    basis_text = row.text("PTPER")
    basis = _BASES.get(basis_text.lower())
    if basis is None:
        raise row.error(f"PTPER '{basis_text}' must be one of {', '.join(_BASES)}", "PTPER")
    time_unit = row.unit_factor("PTUNITS")
    return Step(
        index=index,
        label=row.text("STEP"),
        description=row.opt("DESC") or "",
        family=family_name,
        processing_time=row.distribution("PDIST", "PTIME", "PTIME2", time_unit),
        basis=basis,
        batch=_batch(row, basis, family),
        setup=_setup(row),
        dedicated_to=_dedication(row, index, labels),
        lot_interval=_interval(row, "BatchInterval", "BatchIntUnits"),
        wafer_interval=_interval(row, "PartInterval", "PartIntUnits"),
        rework=_rework(row, index, labels),
        sampling=row.percent("StepPercent") if row.opt("StepPercent") is not None else 1.0,
        queue_time_limit=_queue_time_limit(row, index, labels),
    )


def _batch(row: Row, basis: ProcessingBasis, family: ToolFamily) -> BatchSize | None:
    given = row.filled(("BATCHMN", "BATCHMX"))
    if basis is not ProcessingBasis.BATCH:
        if given:
            raise row.error(f"{given[0]} is given but PTPER is {basis.value}, not per_batch", given[0])
        return None
    low = row.count("BATCHMN", minimum=1)
    high = row.count("BATCHMX", minimum=1)
    if low > high:
        raise row.error(f"BATCHMN {low} is greater than BATCHMX {high}", "BATCHMN")
    return BatchSize(low, high, family.batch_unit or BatchUnit.WAFER)


def _setup(row: Row) -> StepSetup | None:
    setup = row.opt("SETUP")
    if setup is None:
        extra = row.filled(("WHEN", "STIME"))
        if extra:
            raise row.error(f"{extra[0]} is given without a SETUP", extra[0])
        return None
    when_text = row.opt("WHEN") or SetupWhen.NEED.value
    when = _WHEN.get(when_text.lower())
    if when is None:
        raise row.error(f"WHEN '{when_text}' must be need or always", "WHEN")
    return StepSetup(setup, when, row.opt_time("STIME", "STUNITS"))


def _step_ref(row: Row, column: str, labels: Mapping[str, int]) -> int:
    label = row.text(column)
    target = labels.get(label)
    if target is None:
        raise row.error(f"{column} '{label}' is not a step of this route", column)
    return target


def _dedication(row: Row, index: int, labels: Mapping[str, int]) -> int | None:
    dedicated = row.flag("SVESTN")
    if not dedicated:
        if row.opt("FORSTEP") is not None:
            raise row.error("FORSTEP is given but SVESTN is not yes", "FORSTEP")
        return None
    target = _step_ref(row, "FORSTEP", labels)
    if target <= index:
        raise row.error(f"FORSTEP '{row.text('FORSTEP')}' must come after this step", "FORSTEP")
    return target


def _interval(row: Row, column: str, unit_column: str) -> float | None:
    interval = row.opt_time(column, unit_column)
    if interval is not None and interval <= 0:
        raise row.error(f"{column} must be positive", column)
    return interval


def _rework(row: Row, index: int, labels: Mapping[str, int]) -> Rework | None:
    if row.opt("REWORK") is None:
        extra = row.filled(("RWKSTEP", "RWKTYPE"))
        if extra:
            raise row.error(f"{extra[0]} is given without a REWORK percentage", extra[0])
        return None
    probability = row.percent("REWORK")
    if probability >= 1:
        raise row.error("REWORK must be below 100 (or lots loop for ever)", "REWORK")
    target = _step_ref(row, "RWKSTEP", labels)
    if target > index:
        raise row.error(f"RWKSTEP '{row.text('RWKSTEP')}' must not come after this step", "RWKSTEP")
    kind = (row.opt("RWKTYPE") or "lot").lower()
    if kind not in _REWORK_KINDS:
        raise row.error(f"RWKTYPE '{row.text('RWKTYPE')}' must be lot or piece", "RWKTYPE")
    return Rework(probability, target, kind)


def _queue_time_limit(row: Row, index: int, labels: Mapping[str, int]) -> QueueTimeLimit | None:
    if row.opt("STEP_CQT") is None:
        if row.opt("CQT") is not None:
            raise row.error("CQT is given without a STEP_CQT", "CQT")
        return None
    target = _step_ref(row, "STEP_CQT", labels)
    if target <= index:
        raise row.error(f"STEP_CQT '{row.text('STEP_CQT')}' must come after this step", "STEP_CQT")
    return QueueTimeLimit(target, row.time("CQT", "CQTUNITS"))
