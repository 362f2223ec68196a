"""The self-contained HTML report of a supply study: one file, plotly.js inlined once, works offline."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from html import escape
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs
from pydantic import BaseModel

from aifactory.report import charts
from aifactory.report.plotting import figure_html
from aifactory.report.style import CSS
from aifactory.report.terminal import count, money
from aifactory.scenario.distributions import Lognormal, Normal, Triangular, Uniform
from aifactory.scenario.model import Scenario
from aifactory.supply.series import Series

SECTIONS = {
    "targets": "Targets",
    "deliveries": "Deliveries over time",
    "value": "Value delivered against the targets",
    "heat": "Which stage binds when",
    "sensitivity": "What moves the outcome",
    "tables": "Stages, sites and costs",
    "estimates": "Figures in this scenario that are estimates",
}


def write_supply_report(
    path: Path,
    scenario: Scenario,
    summary: dict[str, Any],
    series: Series,
    extra_sections: Sequence[tuple[str, str]] = (),
) -> None:
    """Write the report of one supply study to ``path`` (parent directories are created).

    ``extra_sections`` — (heading, HTML) pairs from other parts of the twin (e.g. the AI factories),
    placed before the detail tables."""
    s = scenario
    body = [_header(s, summary)]
    body.append(_section("targets", _targets_table(summary.get("targets", []))))
    body.append(_section("deliveries", _deliveries(s, summary, series)))
    value = charts.value_figure(s, series, summary.get("targets", []))
    body.append(
        _section("value", _chart(value, 460) if value is not None else _p("Nothing of value is delivered."))
    )
    body.append(_section("heat", _heat(s, series)))
    body.append(_section("sensitivity", _sensitivity(s, summary.get("sensitivity", {}))))
    for number, (heading, content) in enumerate(extra_sections):
        body.append(f'<section id="extra-{number}">\n<h2>{escape(heading)}</h2>\n{content}\n</section>')
    body.append(_section("tables", _stages_table(s, summary) + _sites_table(summary) + _costs_table(summary)))
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(s.name)} — supply report</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n'
        + "\n".join(body)
        + _estimates_footer(s)
        + "\n</main>\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


# --- page pieces --------------------------------------------------------------------------------------


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'


def _section(key: str, content: str) -> str:
    return f'<section id="{key}">\n<h2>{escape(SECTIONS[key])}</h2>\n{content}\n</section>'


def _chart(fig: Any, height: int) -> str:
    return f'<div class="chart">{figure_html(fig, height)}</div>'


def _table(
    head: list[str],
    rows: list[list[str]],
    *,
    left: int = 1,
    classes: list[str] | None = None,
    narrow: bool = False,
) -> str:
    """Escaped cells; the first ``left`` columns are text, the rest numbers; ``classes`` style rows."""
    th = "".join(
        f'<th class="l">{escape(h)}</th>' if i < left else f"<th>{escape(h)}</th>" for i, h in enumerate(head)
    )
    trs = []
    for r, row in enumerate(rows):
        cls = f' class="{classes[r]}"' if classes else ""
        cells = "".join(
            f'<td class="l">{escape(c)}</td>' if i < left else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        trs.append(f"<tr{cls}>{cells}</tr>")
    table = '<table class="narrow">' if narrow else "<table>"
    return f"{table}\n<thead><tr>{th}</tr></thead>\n<tbody>\n" + "\n".join(trs) + "\n</tbody>\n</table>"


def _header(s: Scenario, summary: dict[str, Any]) -> str:
    end = s.date(s.horizon_days - 1)
    meta = " · ".join(
        [
            f"{summary.get('runs', 0):,} Monte Carlo runs",
            f"seed {summary.get('seed')}",
            f"start {s.start.isoformat()}",
            f"horizon {s.horizon_days:,} days (to {end.isoformat()})",
            f"{summary.get('wall_seconds', 0.0):.2f} s wall time",
        ]
    )
    desc = _p(s.description, "desc") if s.description else ""
    return (
        f"<header>\n<h1>{escape(s.name)}</h1>\n{desc}\n{_p(meta, 'meta')}\n</header>\n"
        f"{_p(_headline(s, summary), 'headline')}"
    )


def _dest_label(s: Scenario, dests: list[str] | None) -> str:
    if not dests:
        return "all destinations"
    return ", ".join(s.destinations[d].name or d if d in s.destinations else d for d in dests)


def _upstream(s: Scenario, dests: list[str]) -> set[str]:
    """Stages that feed ``dests`` (directly or through lanes)."""
    todo = [src for d in dests if d in s.destinations for src in s.destinations[d].sources]
    seen: set[str] = set()
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo += [ln.from_ for ln in s.lanes if ln.to == sid]
    return seen


def _target_value(t: dict[str, Any], x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if t["metric"] == "value_usd":
        return money(x)
    if t["metric"] == "production_rate":
        return f"{count(x)} / {t.get('unit', 'period').split(' per ')[-1]}"
    return count(x)


def _headline(s: Scenario, summary: dict[str, Any]) -> str:
    parts: list[str] = []
    targets: list[dict[str, Any]] = summary.get("targets", [])
    focus: list[str] = list(s.destinations)
    value_targets = [
        (t, m)
        for t, m in zip(summary.get("targets", []), s.targets, strict=False)
        if t["metric"] == "value_usd"
    ]
    if value_targets:
        t, model = value_targets[0]
        focus = model.destinations or list(s.destinations)
        parts.append(
            f"P50 value delivered to {_dest_label(s, model.destinations)} by {t['by']}: {money(t['p50'])} "
            f"of the {money(t['target'])} target (probability met {t['probability_met']:.0%})."
        )
    elif "value_usd" in summary:
        parts.append(f"P50 value delivered over the horizon: {money(summary['value_usd']['p50'])}.")
    if "gpus_delivered" in summary and summary["gpus_delivered"]["p50"] > 0:
        parts.append(f"P50 GPUs delivered to all destinations: {count(summary['gpus_delivered']['p50'])}.")
    shares = {k: v for k, v in summary.get("bottlenecks", {}).items() if k in _upstream(s, focus) and v > 0}
    if shares:
        top = max(shares, key=lambda k: shares[k])
        parts.append(f"Main bottleneck: {top} ({shares[top]:.0%} of run-days).")
    if targets:
        met = sum(1 for t in targets if t["probability_met"] >= 0.8)
        parts.append(f"{met} of {len(targets)} targets met in at least 80 % of runs.")
    return " ".join(parts)


def _targets_table(targets: list[dict[str, Any]]) -> str:
    if not targets:
        return _p("The scenario sets no targets.")
    rows, classes = [], []
    for t in targets:
        p = float(t["probability_met"])
        reached = t.get("date_reached") or {}
        rows.append(
            [
                t.get("name") or t["metric"],
                t["metric"].replace("_", " "),
                t["by"],
                _target_value(t, t["target"]),
                _target_value(t, t["p50"]),
                f"{p:.0%}",
                *(reached.get(k) or ("never" if reached else "") for k in ("p10", "p50", "p90")),
            ]
        )
        classes.append("good" if p >= 0.8 else ("mid" if p >= 0.2 else "bad"))
    head = ["target", "metric", "by", "goal", "P50", "P(met)", "reached P10", "reached P50", "reached P90"]
    note = _p(
        "Goal and P50 are over runs; production-rate targets give the best rate in the window and the "
        "date the rate is first reached (P10 / P50 / P90 over runs; 'never' when fewer runs reach it)."
    )
    return _table(head, rows, left=2, classes=classes) + note


def _deliveries(s: Scenario, summary: dict[str, Any], series: Series) -> str:
    out: list[str] = []
    rows = []
    for did, d in summary.get("destinations", {}).items():
        item = next(k for k in d if k not in ("gpus", "value_usd"))
        rows.append(
            [
                _dest_label(s, [did]),
                item,
                " / ".join(count(d[item][k]) for k in ("p10", "p50", "p90")),
                " / ".join(count(d["gpus"][k]) for k in ("p10", "p50", "p90")),
                " / ".join(money(d["value_usd"][k]) for k in ("p10", "p50", "p90")),
            ]
        )
    if rows:
        out.append(_table(["destination", "item", "units P10 / P50 / P90", "GPUs", "value"], rows, left=2))
    for did, d in summary.get("destinations", {}).items():
        item = next(k for k in d if k not in ("gpus", "value_usd"))
        if f"destination/{did}/{item}_cumulative" in series.bands:
            out.append(f"<h3>{escape(_dest_label(s, [did]))} ({escape(did)})</h3>")
            out.append(_chart(charts.destination_figure(s, series, did, item), 340))
    out.append(
        _p("Shaded: P10–P90 over runs; solid line: P50; dashed: mean. Rates are per week (bucket average).")
    )
    sites = charts.site_output_figure(s, series)
    if sites is not None:
        n_items = len({name.split("/")[2] for name in series.bands if name.startswith("site/")})
        out.append("<h3>Output per site (final producers)</h3>")
        out.append(_chart(sites, 140 + 200 * n_items))
    return "\n".join(out)


def _heat(s: Scenario, series: Series) -> str:
    height = 90 + 30 * len(series.stage_heat)
    out = [_p("Share of runs in which each stage is the binding stage of its path, per bucket.")]
    fig = charts.heatmap_figure(s, series, "bottleneck_share", "bottleneck", "Reds")
    out.append(_chart(fig, height) if fig is not None else "")
    out.append("<h3>Utilisation (units started ÷ capacity; blank where a stage has no capacity)</h3>")
    fig = charts.heatmap_figure(s, series, "utilization", "utilisation", "Blues")
    out.append(_chart(fig, height) if fig is not None else "")
    return "\n".join(out)


def _input_label(s: Scenario, path: str) -> str:
    parts = path.split(".")
    if parts[0] == "lanes" and len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(s.lanes):
        ln = s.lanes[int(parts[1])]
        return f"lane {ln.from_} → {ln.to}: {'.'.join(parts[2:])}"
    return path


def _sensitivity(s: Scenario, sens: dict[str, Any]) -> str:
    inputs: list[dict[str, Any]] = sens.get("inputs", [])
    outcome = sens.get("outcome", "value_usd")
    fig = charts.tornado_figure(inputs, [_input_label(s, r["input"]) for r in inputs], outcome)
    if fig is None:
        return _p("No uncertain input moves the outcome (all inputs fixed, or the outcome does not vary).")
    note = _p(
        f"Outcome: {outcome}. Bars: mean outcome of the runs in the input's top decile minus the mean of its "
        "bottom decile; ρ: Spearman rank correlation. Sorted by |ρ|."
    )
    return note + _chart(fig, 120 + 34 * len(inputs))


def _q50(q: dict[str, float] | None, fmt: Any = count) -> str:
    return "–" if q is None else str(fmt(q["p50"]))


def _stages_table(s: Scenario, summary: dict[str, Any]) -> str:
    shares = summary.get("bottlenecks", {})
    rows = []
    for sid, st in summary.get("stages", {}).items():
        stage = s.stages.get(sid)
        rows.append(
            [
                sid,
                stage.site if stage else "",
                stage.produces if stage else "",
                _q50(st.get("started")),
                _q50(st.get("good_output")),
                f"{st['utilization']['p50']:.0%}",
                _q50(st.get("binding_days")),
                f"{shares.get(sid, 0.0):.0%}",
            ]
        )
    head = [
        "stage",
        "site",
        "produces",
        "started",
        "good output",
        "utilisation",
        "binding days",
        "bottleneck share",
    ]
    return "<h3>Stages (P50 over runs)</h3>" + _table(head, rows, left=3)


def _sites_table(summary: dict[str, Any]) -> str:
    rows = []
    for sid, site in summary.get("sites", {}).items():
        made = ", ".join(f"{count(q['p50'])} {item}" for item, q in site.get("output", {}).items())
        area = site.get("floor_area_sqft")
        rows.append(
            [
                f"{site.get('name') or sid} ({sid})",
                site.get("operator") or "",
                site.get("country") or "",
                f"{area:,.0f} sq ft" if area else "–",
                f"{site['jobs']:,}" if site.get("jobs") else "–",
                money(site.get("investment_usd")),
                made or "–",
            ]
        )
    head = ["site", "operator", "country", "floor area", "jobs", "investment", "output P50"]
    return "<h3>Sites</h3>" + _table(head, rows, left=3)


def _costs_table(summary: dict[str, Any]) -> str:
    labels = {"stages_usd": "stages", "lanes_usd": "lanes", "tariffs_usd": "tariffs", "total_usd": "total"}
    costs = summary.get("costs", {})
    rows = [[labels.get(k, k), *(money(q[p]) for p in ("p10", "p50", "p90"))] for k, q in costs.items()]
    return (
        "<h3>Costs over the horizon</h3>" + _table(["cost", "P10", "P50", "P90"], rows, narrow=True)
        if rows
        else ""
    )


# --- estimates footer -----------------------------------------------------------------------------------

Dist = Triangular | Uniform | Normal | Lognormal


def _distributions(obj: Any, path: str) -> Iterator[tuple[str, Dist]]:
    """Every field below ``obj`` whose value is a distribution, with its dotted path."""
    if isinstance(obj, Dist):
        if not obj.is_fixed:
            yield path, obj
    elif isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            yield from _distributions(getattr(obj, name, None), f"{path}.{info.alias or name}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _distributions(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _distributions(value, f"{path}.{i}")


def _num(x: float, field: str) -> str:
    if "usd" in field:
        return money(x)
    if field.endswith(("yield", "tariff_rate")):
        return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x:.1%}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _range(d: Dist, field: str) -> str:
    if isinstance(d, Triangular):
        return f"{_num(d.low, field)} – {_num(d.high, field)} (likely {_num(d.mode, field)}), triangular"
    if isinstance(d, Uniform):
        return f"{_num(d.low, field)} – {_num(d.high, field)}, uniform"
    clip = ""
    if d.low is not None or d.high is not None:
        lo = "−∞" if d.low is None else _num(d.low, field)
        hi = "∞" if d.high is None else _num(d.high, field)
        clip = f", clipped to [{lo}, {hi}]"
    if isinstance(d, Normal):
        return f"{_num(d.mean, field)} ± {_num(d.sd, field)} (mean ± sd), normal{clip}"
    lo80, hi80 = d.median * math.exp(-1.2816 * d.sigma), d.median * math.exp(1.2816 * d.sigma)
    return (
        f"median {_num(d.median, field)}, 80 % in {_num(lo80, field)} – {_num(hi80, field)}, lognormal{clip}"
    )


def _estimates_footer(s: Scenario) -> str:
    found: list[tuple[str, Dist]] = []
    for group in ("items", "stages", "destinations"):
        found += _distributions(getattr(s, group), group)
    for i, lane in enumerate(s.lanes):
        found += _distributions(lane, f"lanes.{i} ({lane.from_} → {lane.to})")
    rows = [[path, _range(d, path), d.note or ""] for path, d in found]
    if rows:
        content = _p(
            "These inputs are drawn once per Monte Carlo run from the range given in the scenario file; "
            "everything else is a fixed figure."
        ) + _table(["scenario field", "range", "note"], rows, left=3)
    else:
        content = _p("Every figure in this scenario is fixed: no input is given as a distribution.")
    return f'\n<footer id="estimates">\n<h2>{escape(SECTIONS["estimates"])}</h2>\n{content}\n</footer>'
