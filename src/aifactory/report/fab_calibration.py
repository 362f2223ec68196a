"""The fab calibration page: lot cycle times against the distribution the supply stage will use."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from aifactory.fab.calibration import Calibration
from aifactory.report.fit_charts import fit_figure


def calibration_figure(
    cal: Calibration, ct: npt.NDArray[np.float64], wafers: npt.NDArray[np.float64]
) -> go.Figure:
    """Wafer-weighted histogram of lot cycle times with the fitted density and the mean."""
    return fit_figure(
        ct, wafers, cal.distribution, cal.cycle_time.mean,
        title=f"Lot cycle times, {cal.dataset} ({cal.cycle_time.count:,} lots)",
        x_title="cycle time (days)", sample="lots (wafer-weighted)",
    )  # fmt: skip


def write_calibration_html(
    path: Path,
    cal: Calibration,
    ct: npt.NDArray[np.float64],
    wafers: npt.NDArray[np.float64],
    snippet: str,
) -> None:
    """A self-contained page (plotly.js inlined): the chart, the statistics, the scenario snippet."""
    fig = calibration_figure(cal, ct, wafers)
    fig.update_layout(height=460)
    chart = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s.count:,}</td><td>{s.mean:.2f}</td><td>{s.sd:.2f}</td>"
        f"<td>{s.quantiles['p10']:.2f}</td><td>{s.quantiles['p50']:.2f}</td><td>{s.quantiles['p90']:.2f}</td></tr>"
        for name, s in [("all", cal.cycle_time), *cal.per_type.items()]
    )
    fit = "".join(
        f"<tr><td>{k}</td><td>{cal.cycle_time.quantiles[k]:.2f}</td><td>{v:.2f}</td></tr>"
        for k, v in cal.fit_quantiles.items()
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>fab calibration — {html.escape(cal.dataset)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}pre{{background:#f6f6f6;padding:1em}}</style></head><body>
<h1>Fab calibration: {html.escape(cal.dataset)}</h1>
<p>{cal.measured_days:g} measured days × {cal.replications} replication(s). Yield-free throughput
<b>{cal.wafers_per_day:,.1f} wafers/day</b> ({cal.lots_per_day:.2f} lots/day; released
{cal.released_wafers_per_day:,.1f} wafers/day; WIP change {cal.wip_growth_lots_per_day:+.3f} lots/day).</p>
{chart}
<h2>Cycle time (days, wafer-weighted)</h2>
<table><tr><th>lot type</th><th>lots</th><th>mean</th><th>sd</th><th>p10</th><th>p50</th><th>p90</th></tr>
{rows}</table>
<h2>Fit ({html.escape(cal.dist)}, spread: {html.escape(cal.spread)})</h2>
<table><tr><th>quantile</th><th>lots</th><th>stage distribution</th></tr>{fit}</table>
<h2>Scenario snippet</h2><pre>{html.escape(snippet)}</pre></body></html>"""
    path.write_text(page, encoding="utf-8")
