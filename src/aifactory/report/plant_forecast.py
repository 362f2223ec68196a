"""The forecast page (the open racks' ship times, P10–P90, by order and by unit, with the floor they
start from) and the backtest page (forecasts against what the log says happened)."""

from __future__ import annotations

import csv
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from aifactory.plant.model import Plant
from aifactory.report.plant import _p, _site_line, _table
from aifactory.report.plotting import figure_html
from aifactory.report.style import CSS

UNIT_ROWS = 200
"""Units listed on the page (all of them are in forecast.csv)."""


def _h(x: float | None) -> str:
    return "after horizon" if x is None else f"{x:,.1f}"


def fan_figure(d: dict[str, Any], product: str) -> go.Figure:
    """Each open unit of the product: P50 with its P10–P90 interval, in the order of P50."""
    rows = [r for r in d["units"] if r["item"] == product and r["p50_hours"] is not None]
    rows.sort(key=lambda r: r["p50_hours"])
    x = list(range(1, len(rows) + 1))
    p50 = [r["p50_hours"] for r in rows]
    hi = [(r["p90_hours"] if r["p90_hours"] is not None else r["p50_hours"]) - r["p50_hours"] for r in rows]
    lo = [r["p50_hours"] - r["p10_hours"] for r in rows]
    text = [f"unit {r['unit']} ({r['order'] or 'no order'}) at {r['station']}, {r['status']}" for r in rows]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=p50,
            mode="markers",
            name="P50",
            text=text,
            error_y={"type": "data", "array": hi, "arrayminus": lo, "thickness": 1, "color": "#8ab"},
            marker={"size": 5, "color": "#245"},
            hovertemplate="%{text}<br>P50 %{y:.1f} h<extra></extra>",
        )
    )
    fig.add_hline(y=d["now_hours"], line_dash="dot", annotation_text="now")
    fig.update_layout(
        title=f"When each open {product} ships: P50 and P10–P90",
        xaxis_title=f"open {product}s, by P50",
        yaxis_title="hours from the plant's hour 0",
        margin={"t": 50, "l": 60, "r": 20, "b": 50},
    )
    return fig


def forecast_body(d: dict[str, Any], product: str) -> str:
    orders = _table(
        ["order", "open units", "P10 h", "P50 h", "P90 h", "done within horizon", "a unit scrapped"],
        [
            [r["order"], str(r["open_units"]), _h(r["p10_hours"]), _h(r["p50_hours"]), _h(r["p90_hours"]),
             f"{r['done_share']:.0%}", f"{r['short_share']:.0%}"]
            for r in d["orders"]
        ],
    )  # fmt: skip
    units = _table(
        ["unit", "item", "order", "where", "P10 h", "P50 h", "P90 h"],
        [
            [str(r["unit"]), r["item"], r["order"] or "—", f"{r['station'] or 'door'} ({r['status']})",
             _h(r["p10_hours"]), _h(r["p50_hours"]), _h(r["p90_hours"])]
            for r in d["units"][:UNIT_ROWS]
        ],
    )  # fmt: skip
    more = len(d["units"]) - UNIT_ROWS
    mode = "new releases go on as the plant makes them" if d.get("new_releases", True) else "open units only"
    return (
        f"<h2>Forecast at {d['now_hours']:g} h</h2>\n"
        + _p(
            f"{d['open_units']:,} open units; {d['replications']} runs of the twin started from the floor "
            f"({mode}), each until every open unit is done or {d['horizon_hours'] / 24:g} days have passed. "
            "An order is done when its last open unit of the product has shipped (or been scrapped: "
            "the share of runs in which one was is given)."
        )
        + f"\n<div class='chart'>{figure_html(fan_figure(d, product), 420)}</div>\n"
        + "<h3>Orders</h3>\n"
        + orders
        + "\n<h3>Open units</h3>\n"
        + units
        + (_p(f"… and {more:,} more in forecast.csv.") if more > 0 else "")
    )


def _down(servers: list[int]) -> str:
    return ", ".join(map(str, servers)) or "—"


def floor_body(s: dict[str, Any]) -> str:
    stations = _table(
        ["station", "waiting", "in process", "servers", "down"],
        [
            [n, str(st["waiting"]), str(st["in_process"]), str(st["servers"]), _down(st["down"])]
            for n, st in s["stations"].items()
        ],
    )  # fmt: skip
    refused = f"{s['events_accepted']:,} events applied, {s['events_rejected']:,} refused"
    return f"<h2>The floor it starts from</h2>\n{_p(refused)}\n{stations}\n"


def _page(plant: Plant, title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(plant.name)} — {escape(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n'
        f"<header>\n<h1>{escape(plant.site.name if plant.site else plant.name)}: {escape(title)}</h1>\n"
        f"{_p(_site_line(plant), 'meta')}\n</header>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_forecast_report(path: Path, plant: Plant, d: dict[str, Any], floor: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = forecast_body(d, plant.release.item) + floor_body(floor)
    path.write_text(_page(plant, "forecast", body), encoding="utf-8")


def write_forecast_csv(path: Path, d: dict[str, Any]) -> None:
    """One row per open unit and one per order (``kind``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [
        "kind",
        "id",
        "item",
        "order",
        "station",
        "status",
        "p10_hours",
        "p50_hours",
        "p90_hours",
        "done_share",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in d["orders"]:
            w.writerow(
                [
                    "order",
                    r["order"],
                    "",
                    r["order"],
                    "",
                    "",
                    r["p10_hours"],
                    r["p50_hours"],
                    r["p90_hours"],
                    r["done_share"],
                ]
            )
        for r in d["units"]:
            w.writerow(
                ["unit", r["unit"], r["item"], r["order"] or "", r["station"] or "", r["status"],
                 r["p10_hours"], r["p50_hours"], r["p90_hours"], r["done_share"]]
            )  # fmt: skip


def write_backtest_report(path: Path, plant: Plant, r: dict[str, Any]) -> None:
    def row(label: str, s: dict[str, Any], open_units: str, censored: str) -> list[str]:
        mae, bias, cov = s["mae_p50_hours"], s["bias_hours"], s["coverage_p10_p90"]
        return [
            label, open_units, str(s["scored"]), censored,
            "—" if mae is None else f"{mae:.2f}", "—" if bias is None else f"{bias:+.2f}",
            "—" if cov is None else f"{cov:.1%}",
        ]  # fmt: skip

    head = ["cut-off h", "open", "scored", "censored", "MAE of P50 h", "bias h", "P10–P90 coverage"]
    rows = [row(f"{c['now_hours']:g}", c, str(c["open_units"]), str(c["censored"])) for c in r["cutoffs"]]
    rows.append(row("all", r["overall"], "", ""))
    items = [row(item, s, "", "") for item, s in r["overall"]["by_item"].items()]
    body = (
        _p(
            f"{len(r['cutoffs'])} cut-offs, {r['replications']} runs each. Scored: units open at a cut-off "
            "that finished later in the log; censored: still open at its end. A calibrated forecast covers "
            "about 80 % with P10–P90."
        )
        + "\n<h2>By cut-off</h2>\n"
        + _table(head, rows)
        + "\n<h2>By item</h2>\n"
        + _table(["item", "", "scored", "", "MAE of P50 h", "bias h", "P10–P90 coverage"], items)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(plant, "forecast backtest", body), encoding="utf-8")
