"""``downcal.txt``, ``pmcal.txt`` and ``attach.txt``: breakdowns and PMs, and which tools they hit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from aifactory.fab.dataset import (
    Breakdown,
    CounterBasis,
    PreventiveMaintenance,
    ResourceType,
    ToolFamily,
)
from aifactory.fab.distributions import Constant, Distribution
from aifactory.fab.table import Row, Table
from aifactory.fab.units import COUNT_UNITS

_DOWN_TYPES = {"mttf_by_cal": CounterBasis.TIME, "mttf_by_pieces": CounterBasis.WAFERS}
_PM_TYPES = {"mtbpm_by_cal": CounterBasis.TIME, "mtbpm_by_pieces": CounterBasis.WAFERS}
_RESOURCE_TYPES = {kind.value: kind for kind in ResourceType}


@dataclass(frozen=True, slots=True)
class DownCalendar:
    name: str
    basis: CounterBasis
    time_to_failure: Distribution
    time_to_repair: Distribution


@dataclass(frozen=True, slots=True)
class PmCalendar:
    name: str
    basis: CounterBasis
    interval: float
    duration: Distribution


def _is_count_unit(row: Row, column: str) -> bool:
    unit = row.opt(column)
    return unit is None or unit.lower() in COUNT_UNITS


def _basis(row: Row, column: str, types: Mapping[str, CounterBasis]) -> CounterBasis:
    value = row.text(column)
    basis = types.get(value.lower())
    if basis is None:
        raise row.error(f"{column} '{value}' must be one of {', '.join(types)}", column)
    return basis


def _counter_factor(row: Row, basis: CounterBasis, unit_column: str) -> float:
    """Minutes per unit for a time counter; 1 for a wafer count (unit empty or ``pieces``)."""
    if basis is CounterBasis.WAFERS:
        if not _is_count_unit(row, unit_column):
            raise row.error(
                f"{unit_column} '{row.text(unit_column)}' must be pieces for a wafer-count calendar",
                unit_column,
            )
        return 1.0
    return row.unit_factor(unit_column)


def read_down_calendars(table: Table) -> dict[str, DownCalendar]:
    table.require(
        "DOWNCALNAME", "DOWNCALTYPE", "MTTFDIST", "MTTF", "MTTFUNITS", "MTTRDIST", "MTTR", "MTTRUNITS"
    )
    calendars: dict[str, DownCalendar] = {}
    for row in table:
        name = row.text("DOWNCALNAME")
        if name in calendars:
            raise row.error(f"DOWNCALNAME '{name}' appears twice", "DOWNCALNAME")
        basis = _basis(row, "DOWNCALTYPE", _DOWN_TYPES)
        calendars[name] = DownCalendar(
            name=name,
            basis=basis,
            time_to_failure=row.distribution(
                "MTTFDIST", "MTTF", "MTTF2", _counter_factor(row, basis, "MTTFUNITS")
            ),
            time_to_repair=row.distribution("MTTRDIST", "MTTR", "MTTR2", row.unit_factor("MTTRUNITS")),
        )
    return calendars


def read_pm_calendars(table: Table) -> dict[str, PmCalendar]:
    table.require("PMCALNAME", "PMCALTYPE", "MTBPM", "MTBPMUNITS", "MTTRDIST", "MTTR", "MTTRUNITS")
    calendars: dict[str, PmCalendar] = {}
    for row in table:
        name = row.text("PMCALNAME")
        if name in calendars:
            raise row.error(f"PMCALNAME '{name}' appears twice", "PMCALNAME")
        basis = _basis(row, "PMCALTYPE", _PM_TYPES)
        interval = row.number("MTBPM") * _counter_factor(row, basis, "MTBPMUNITS")
        if interval <= 0:
            raise row.error(f"MTBPM {row.text('MTBPM')} must be positive", "MTBPM")
        calendars[name] = PmCalendar(
            name=name,
            basis=basis,
            interval=interval,
            duration=row.distribution("MTTRDIST", "MTTR", "MTTR2", row.unit_factor("MTTRUNITS")),
        )
    return calendars


def attach_calendars(
    table: Table,
    families: Mapping[str, ToolFamily],
    downs: Mapping[str, DownCalendar],
    pms: Mapping[str, PmCalendar],
) -> dict[str, ToolFamily]:
    """The families with the breakdowns and PMs that ``attach.txt`` gives them."""
    table.require("CALNAME", "CALTYPE", "RESTYPE", "RESNAME")
    breakdowns: dict[str, list[Breakdown]] = {name: list(f.breakdowns) for name, f in families.items()}
    maintenances: dict[str, list[PreventiveMaintenance]] = {name: list(f.pms) for name, f in families.items()}
    for row in table:
        resource_type, targets, station = _targets(row, families)
        calendar = row.text("CALNAME")
        kind = row.text("CALTYPE").lower()
        if kind == "down":
            down = downs.get(calendar)
            if down is None:
                raise row.error(f"CALNAME '{calendar}' is not a calendar of downcal.txt", "CALNAME")
            breakdown = Breakdown(
                calendar=calendar,
                basis=down.basis,
                time_to_failure=down.time_to_failure,
                time_to_repair=down.time_to_repair,
                first=_first_failure(row, down),
                attached_to=resource_type,
                station=station,
            )
            for name in targets:
                breakdowns[name].append(breakdown)
        elif kind == "pm":
            pm_calendar = pms.get(calendar)
            if pm_calendar is None:
                raise row.error(f"CALNAME '{calendar}' is not a calendar of pmcal.txt", "CALNAME")
            pm = PreventiveMaintenance(
                calendar=calendar,
                basis=pm_calendar.basis,
                interval=pm_calendar.interval,
                duration=pm_calendar.duration,
                first=_first_pm(row, pm_calendar),
                attached_to=resource_type,
                station=station,
            )
            for name in targets:
                maintenances[name].append(pm)
        else:
            raise row.error(f"CALTYPE '{row.text('CALTYPE')}' must be down or pm", "CALTYPE")
    return {
        name: replace(f, breakdowns=tuple(breakdowns[name]), pms=tuple(maintenances[name]))
        for name, f in families.items()
    }


def _targets(row: Row, families: Mapping[str, ToolFamily]) -> tuple[ResourceType, list[str], str | None]:
    type_text = row.text("RESTYPE")
    resource_type = _RESOURCE_TYPES.get(type_text.lower())
    if resource_type is None:
        raise row.error(f"RESTYPE '{type_text}' must be one of {', '.join(_RESOURCE_TYPES)}", "RESTYPE")
    name = row.text("RESNAME")
    station: str | None = None
    if resource_type is ResourceType.AREA:
        targets = [f.name for f in families.values() if f.area == name]
    elif resource_type is ResourceType.FAMILY:
        targets = [name] if name in families else []
    else:
        targets = [f.name for f in families.values() if any(s.name == name for s in f.stations)]
        station = name
    if not targets:
        what = {ResourceType.AREA: "STNGRP", ResourceType.FAMILY: "STNFAM", ResourceType.STATION: "STN"}
        raise row.error(f"RESNAME '{name}' is not a {what[resource_type]} of the tool file", "RESNAME")
    return resource_type, targets, station


def _first_failure(row: Row, down: DownCalendar) -> Distribution:
    """``FOA``: when the first failure comes; without one, a draw of the time to failure."""
    if row.opt("FOA") is None:
        return down.time_to_failure
    return row.distribution("FOADIST", "FOA", None, _counter_factor(row, down.basis, "FOAUNITS"))


def _first_pm(row: Row, pm: PmCalendar) -> float:
    """``FOA``: minutes (or wafers) until the first PM; without one, a whole interval."""
    if row.opt("FOA") is None:
        return pm.interval
    first = row.distribution("FOADIST", "FOA", None, _counter_factor(row, pm.basis, "FOAUNITS"))
    if not isinstance(first, Constant):
        raise row.error("FOADIST of a PM must be constant", "FOADIST")
    return first.value
