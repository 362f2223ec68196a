"""The plant report: a self-contained HTML page (plotly.js inlined once), or a section of the run report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plotly.offline import get_plotlyjs
from pydantic import BaseModel

from aifactory.plant.joined import Joined
from aifactory.plant.model import Plant
from aifactory.plant.replications import PlantOutcome
from aifactory.report import plant_charts
from aifactory.report.plotting import figure_html
from aifactory.report.style import CSS

if TYPE_CHECKING:
    from aifactory.twin.plants import PlantStage

LABELS = {
    "utilization": "util %",
    "wait_hours": "wait (h)",
    "availability": "avail %",
    "maintenance": "maint %",
    "blocked": "blocked %",
    "queue": "queue",
}
PERCENT = {"utilization", "availability", "maintenance", "blocked", "charging"}


def _chart(fig: Any, height: int) -> str:
    return f'<div class="chart">{figure_html(fig, height)}</div>' if fig is not None else ""


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'


def _cell(x: dict[str, float], key: str) -> str:
    scale, fmt = (100.0, ".1f") if key in PERCENT else (1.0, ".2f")
    text = format(x["mean"] * scale, fmt)
    return f"{text} ± {format(x['ci95'] * scale, fmt)}" if x.get("ci95") else text


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(
        f'<th class="l">{escape(h)}</th>' if i == 0 else f"<th>{escape(h)}</th>" for i, h in enumerate(head)
    )
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="l">{escape(c)}</td>' if i == 0 else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _headline(plant: Plant, kpis: dict[str, Any]) -> str:
    item = plant.release.item
    stations = kpis["stations"]
    busiest = max(stations, key=lambda s: stations[s]["utilization"]["mean"])
    rate = (
        f"{plant.release.per_day:g} released a day" if plant.release.per_day else "released as the file says"
    )
    return (
        f"{kpis['throughput_per_day']['mean']:.1f} {item}s a day "
        f"({kpis['racks_per_week']['mean']:.0f} a week; "
        f"{rate}); lead time {kpis['lead_time_hours']['mean'] / 24:.1f} days (P90 "
        f"{kpis['lead_time_p90_hours']['mean'] / 24:.1f}); {kpis['wip']['mean']:.0f} in progress on average; "
        f"the busiest station is {busiest} at {stations[busiest]['utilization']['mean']:.0%}."
    )


def plant_body(
    plant: Plant,
    kpis: dict[str, Any],
    outcomes: Sequence[PlantOutcome],
    *,
    level: int = 2,
    joined: Joined | None = None,
) -> str:
    """The report's content (without the page): charts and tables; ``level`` is the heading level."""
    h = f"h{level}"
    run = outcomes[0].run
    j = joined if joined is not None or run is None else Joined(run)
    warmup = kpis["warmup_days"] * 24.0
    series = [o.timeline for o in outcomes]
    parts = [_p(_headline(plant, kpis), "headline")]
    parts.append(f"<{h}>Output over time</{h}>")
    parts.append(_chart(plant_charts.weekly_output_figure(plant, series, warmup), 380))
    parts.append(_chart(plant_charts.wip_figure(plant, series), 320))
    parts.append(f"<{h}>Lead time and where it goes</{h}>")
    parts.append(_chart(plant_charts.breakdown_figure(kpis), 260))
    if run is not None and j is not None:
        parts.append(_chart(plant_charts.lead_time_histogram(run, warmup, j), 320))
        parts.append(_chart(plant_charts.gantt_figure(run, warmup, j), 420))
    parts.append(f"<{h}>Utilisation and the bottleneck</{h}>")
    parts.append(
        _chart(plant_charts.utilisation_heatmap(plant, series[0]), 160 + 22 * len(series[0].resources))
    )
    parts.append(_chart(plant_charts.bottleneck_figure(plant, series[0]), 140 + 22 * len(plant.stations)))
    if run is not None and run.index.floor is not None:
        parts.append(f"<{h}>The floor</{h}>")
        parts.append(_chart(plant_charts.floor_figure(run, kpis), 640))
    parts.append(f"<{h}>Stations, operators and robots</{h}>")
    parts.append(_station_table(kpis))
    parts.append(_crew_table(kpis))
    parts.append(_items_table(kpis))
    if kpis.get("materials"):
        parts.append(_materials_table(kpis))
    parts.append(
        _p(
            "± : half-width of the 95 % confidence interval over the replications; measures are taken "
            "after the warm-up."
        )
    )
    parts.append(_estimates(plant, level))
    return "\n".join(p for p in parts if p)


def _station_table(kpis: dict[str, Any]) -> str:
    keys = list(LABELS)
    rows = [[name] + [_cell(s[k], k) for k in keys] for name, s in kpis["stations"].items()]
    return _table(["station", *LABELS.values()], rows)


def _crew_table(kpis: dict[str, Any]) -> str:
    rows = []
    for group in ("operators", "robots"):
        for name, c in kpis[group].items():
            extra = ""
            if "charging" in c:
                extra = f"charging {_cell(c['charging'], 'charging')} %, {c['moves']['mean']:,.0f} moves"
            elif "on_duty_hours" in c:
                extra = f"{c['on_duty_hours']['mean']:,.0f} hours on duty"
            rows.append([f"{name} ({group})", _cell(c["utilization"], "utilization"), extra])
    return _table(["operators and robots", "util %", ""], rows) if rows else ""


def _items_table(kpis: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{i['released']['mean']:,.0f}",
            f"{i['finished']['mean']:,.0f}",
            f"{i['scrapped']['mean']:,.1f}",
            f"{i['wip']['mean']:,.1f}",
            f"{i['lead_time_hours']['mean']:,.1f}",
        ]
        for name, i in kpis["items"].items()
    ]
    return _table(["item", "released", "finished", "scrapped", "WIP", "lead time (h)"], rows)


def _materials_table(kpis: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{m['mean_on_hand']['mean']:,.0f}",
            f"{m['short_hours']['mean']:,.1f}",
            f"{m['delivered']['mean']:,.0f}",
        ]
        for name, m in kpis["materials"].items()
    ]
    return _table(["material", "mean on hand", "hours short", "delivered"], rows)


def _notes(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, note) for every model in ``obj`` that carries a note."""
    if isinstance(obj, BaseModel):
        note = getattr(obj, "note", None)
        fields = obj.model_dump(exclude_none=True, exclude={"note"})
        if note:
            shown = ", ".join(
                f"{k}: {v:g}"
                for k, v in fields.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            )
            yield path, f"{shown} — {note}" if shown and len(shown) < 80 else note
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            if name != "note" and value is not None:
                yield from _notes(value, f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _notes(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _notes(v, f"{path}.{i}")


def _estimates(plant: Plant, level: int) -> str:
    rows = [[path, note] for path, note in _notes(plant, "")]
    if not rows:
        return ""
    h = f"h{level}"
    site = ""
    if plant.site is not None and plant.site.sources:
        site = "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in plant.site.sources) + "</ul>"
    return f"<{h}>The figures of this plant and where they come from</{h}>\n{site}\n" + _table(
        ["field", "note"], rows
    )


def _site_line(plant: Plant) -> str:
    s = plant.site
    if s is None:
        return ""
    bits = [b for b in (s.operator, s.location) if b]
    if s.floor_area_sqft:
        bits.append(f"{s.floor_area_sqft:,.0f} sq ft")
    if s.jobs:
        bits.append(f"{s.jobs:,} jobs")
    if s.investment_usd:
        bits.append(f"${s.investment_usd / 1e6:,.0f}M")
    if s.start:
        bits.append(f"production from {s.start.isoformat()}")
    return " · ".join(bits)


def write_plant_report(
    path: Path,
    plant: Plant,
    kpis: dict[str, Any],
    outcomes: Sequence[PlantOutcome],
    joined: Joined | None = None,
    before: str = "",
) -> None:
    """Write the self-contained report of one plant study (``before``: a section to open it with, such
    as the design that chose this plant)."""
    meta = (
        f"{kpis['days']:g} days ({kpis['warmup_days']:g} warm-up) · {kpis['replications']} replication(s) · "
        f"seed {kpis['seed']} · {kpis['events']:,} events · {kpis['wall_seconds']:.1f} s"
    )
    desc = _p(plant.description, "desc") if plant.description else ""
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(plant.name)} — plant report</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n'
        f"<header>\n<h1>{escape(plant.site.name if plant.site else plant.name)}</h1>\n{desc}\n"
        f"{_p(_site_line(plant), 'meta')}\n{_p(meta, 'meta')}\n</header>\n"
        + before
        + plant_body(plant, kpis, outcomes, joined=joined)
        + "\n</main>\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def plant_section_html(plant: Plant, kpis: dict[str, Any], outcomes: Sequence[PlantOutcome]) -> str:
    """The plant as a section of another report (the page loads plotly.js)."""
    return _p(_site_line(plant), "meta") + "\n" + plant_body(plant, kpis, outcomes, level=3)


def plant_stage_section(ps: PlantStage) -> str:
    """A rack line calibrated from a plant twin, as a section of the run report."""
    from aifactory.plant.replications import combine
    from aifactory.report.plant_calibration import calibration_body

    cal = ps.calibration
    kpis = combine(ps.outcomes, plant=ps.plant.name, days=cal.days, warmup_days=cal.warmup_days, seed=0,
                   wall_seconds=sum(o.wall_seconds for o in ps.outcomes))  # fmt: skip
    before = ", ".join(f"{k}: {_short(v)}" for k, v in ps.before.items() if v is not None)
    return (
        _p(
            "The supply twin ran this stage with the plant twin's figures instead of its estimates "
            f"({before})."
        )
        + "\n"
        + calibration_body(cal, ps.outcomes, ps.stage)
        + "\n"
        + plant_section_html(ps.plant, kpis, ps.outcomes)
    )


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"a curve of {len(value)} points up to {max(float(p['per_day']) for p in value):g} a day"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if k != "note")
    return str(value)
