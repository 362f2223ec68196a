"""The plant calibration page: rack lead times against the stage's distribution, and the capacity."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from plotly.offline import get_plotlyjs

from aifactory.plant.calibration import PlantCalibration
from aifactory.plant.replications import PlantOutcome
from aifactory.report.fit_charts import fit_figure
from aifactory.report.plotting import figure_html
from aifactory.report.style import CSS


def calibration_body(cal: PlantCalibration, as_written: Sequence[PlantOutcome], stage: str | None) -> str:
    """The calibration's chart and tables (no page around them)."""
    lead = np.concatenate([o.lead_times_hours for o in as_written]) / 24.0
    s = cal.lead_time_days
    fig = fit_figure(lead, np.ones(len(lead)), cal.distribution, s.mean,
                     title=f"Lead times, {cal.plant} ({s.count:,} racks, release to finish)",
                     x_title="lead time (days)", sample="racks")  # fmt: skip
    rows = "".join(
        f"<tr><td>{k}</td><td>{s.quantiles[k]:.2f}</td><td>{v:.2f}</td></tr>"
        for k, v in cal.fit_quantiles.items()
    )
    target = f" for stage <b>{html.escape(stage)}</b>" if stage else ""
    capacity = f"{cal.capacity_per_day:.1f} racks started a day"
    return f"""<p class="headline">Capacity{target}: <b>{capacity}</b> with the plant kept full
({cal.wip_limit} racks in progress); as written it delivers {cal.throughput_per_day:.1f} a day.
Yield {cal.yield_:.2%}. Lead time mean {s.mean:.2f} days (P10 {s.quantiles["p10"]:.2f}, P90
{s.quantiles["p90"]:.2f}); the stage draws it from a {html.escape(cal.dist)} fit.</p>
<div class="chart">{figure_html(fig, 420)}</div>
<table class="narrow"><thead>
<tr><th class="l">quantile</th><th>racks (days)</th><th>stage distribution</th></tr>
</thead><tbody>{rows}</tbody></table>"""


def write_plant_calibration_html(
    path: Path, cal: PlantCalibration, as_written: Sequence[PlantOutcome], stage: str | None, snippet: str
) -> None:
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>plant calibration — {html.escape(cal.plant)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body><main>'
        f"<h1>Plant calibration: {html.escape(cal.plant)}</h1>"
        f'<p class="meta">{cal.days:g} days ({cal.warmup_days:g} warm-up) × {cal.replications} '
        "replication(s), as written and kept full</p>"
        + calibration_body(cal, as_written, stage)
        + f"<h2>Scenario snippet</h2><pre>{html.escape(snippet)}</pre></main></body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
