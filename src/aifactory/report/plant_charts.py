"""Plotly figures of the plant report: output per week, lead-time breakdown, WIP, utilisation heat-map,
the bottleneck over time, a Gantt chart of sample racks and the floor with AMR flows."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from aifactory.plant.joined import Joined
from aifactory.plant.log import FINISHED
from aifactory.plant.measures import CATEGORIES
from aifactory.plant.model import Plant
from aifactory.plant.result import PlantRun
from aifactory.plant.timeline import Timeline
from aifactory.report.plotting import PALETTE, apply_layout

CATEGORY_COLOURS = dict(
    zip(
        CATEGORIES,
        ("#1f5fa8", "#9ecae1", "#b7950b", "#d9730d", "#8e44ad", "#c0392b", "#7f8c8d", "#16a085", "#e377c2"),
        strict=True,
    )
)
CATEGORY_LABELS = {
    "processing": "processing",
    "server": "waiting for a server",
    "batch": "waiting for a batch",
    "operator": "waiting for an operator",
    "parts": "waiting for parts",
    "down": "server down",
    "blocked": "blocked",
    "amr": "waiting for / riding an AMR",
    "rework": "rework",
}


def _dates(plant: Plant, hours: np.ndarray) -> list[str]:
    start = dt.datetime.combine(plant.start or dt.date(2026, 1, 5), dt.time())
    return [(start + dt.timedelta(hours=float(h))).isoformat() for h in hours]


def weekly_output_figure(plant: Plant, series: Sequence[Timeline], warmup_hours: float) -> go.Figure:
    """Units of the product finished per week: the mean over replications, P10–P90 as error bars."""
    first = series[0]
    full = np.diff(first.week_edges) >= 168.0 - 1e-9  # a last, shorter week is left out
    per_week = np.array([s.finished_per_week for s in series])[:, full]
    mean = per_week.mean(axis=0)
    lo, hi = np.percentile(per_week, 10, axis=0), np.percentile(per_week, 90, axis=0)
    x = _dates(plant, first.week_edges[:-1][full])
    colours = [PALETTE[6] if e <= warmup_hours else PALETTE[0] for e in first.week_edges[1:][full]]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=mean,
            marker_color=colours,
            name="racks a week",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": hi - mean,
                "arrayminus": mean - lo,
                "visible": len(series) > 1,
            },
            hovertemplate="week of %{x|%Y-%m-%d}: %{y:.0f}<extra></extra>",
        )
    )
    apply_layout(
        fig,
        title="Finished per week (grey: warm-up; bars: P10–P90 over replications)",
        yaxis_title=f"{_product(plant)}s a week",
        hovermode="closest",
        showlegend=False,
    )
    return fig


def _product(plant: Plant) -> str:
    return plant.release.item


def breakdown_figure(kpis: dict[str, Any]) -> go.Figure:
    """The mean lead time split into what a unit spent it on."""
    parts = kpis["lead_time_breakdown_hours"]
    fig = go.Figure()
    for name in CATEGORIES:
        value = parts[name]["mean"]
        if value <= 0:
            continue
        fig.add_bar(
            y=["mean lead time"],
            x=[value],
            orientation="h",
            name=CATEGORY_LABELS[name],
            marker_color=CATEGORY_COLOURS[name],
            hovertemplate=f"{CATEGORY_LABELS[name]}: %{{x:.1f}} h ± {parts[name]['ci95']:.1f}<extra></extra>",
        )
    apply_layout(
        fig,
        barmode="stack",
        title="Where the lead time goes (hours, mean over finished units)",
        xaxis_title="hours",
        hovermode="closest",
        margin={"l": 120, "r": 30, "t": 110, "b": 40},
        title_y=0.96,
    )
    return fig


def lead_time_histogram(run: PlantRun, warmup_hours: float, j: Joined) -> go.Figure:
    done = (j.unit_item == 0) & (j.unit_outcome == FINISHED) & (j.unit_end > warmup_hours)
    lead = (j.unit_end[done] - j.unit_release[done]) / 24.0
    fig = go.Figure(go.Histogram(x=lead, nbinsx=60, marker_color=PALETTE[0], name="units"))
    if len(lead):
        for q, dash in ((50, "dash"), (90, "dot")):
            v = float(np.percentile(lead, q))
            fig.add_vline(x=v, line_dash=dash, line_color=PALETTE[1], annotation_text=f"P{q} {v:.1f} d")
    apply_layout(
        fig,
        title="Lead time per unit (first replication)",
        xaxis_title="days, release to finish",
        yaxis_title="units",
        hovermode="closest",
        showlegend=False,
    )
    return fig


def wip_figure(plant: Plant, series: Sequence[Timeline]) -> go.Figure:
    first = series[0]
    wip = np.array([s.wip for s in series])
    x = _dates(plant, first.edges[:-1])
    fig = go.Figure()
    if len(series) > 1:
        fig.add_scatter(
            x=x, y=np.percentile(wip, 90, axis=0), line={"width": 0}, showlegend=False, hoverinfo="skip"
        )
        fig.add_scatter(
            x=x,
            y=np.percentile(wip, 10, axis=0),
            fill="tonexty",
            line={"width": 0},
            fillcolor="rgba(31,95,168,0.18)",
            name="P10–P90",
            hoverinfo="skip",
        )
    fig.add_scatter(x=x, y=wip.mean(axis=0), line={"color": PALETTE[0]}, name="mean")
    apply_layout(
        fig,
        title=f"Work in progress ({_product(plant)}s in the plant, time average per bucket)",
        yaxis_title="units",
        margin={"l": 70, "r": 30, "t": 90, "b": 40},
        title_y=0.95,
    )
    return fig


def utilisation_heatmap(plant: Plant, series: Timeline) -> go.Figure:
    labels = [
        f"{name} ({kind})" if kind != "station" else name
        for name, kind in zip(series.resources, series.kinds, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=series.utilization * 100,
            x=_dates(plant, series.edges[:-1]),
            y=labels,
            zmin=0,
            zmax=100,
            colorscale="YlOrRd",
            colorbar={"title": "%"},
            hovertemplate="%{y}<br>%{x|%Y-%m-%d %H:%M}: %{z:.0f} %<extra></extra>",
        )
    )
    apply_layout(
        fig,
        title="Utilisation over time (first replication; operators: of the hours on duty)",
        hovermode="closest",
        margin={"l": 220, "r": 30, "t": 50, "b": 40},
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def bottleneck_figure(plant: Plant, series: Timeline) -> go.Figure:
    stations = [n for n, k in zip(series.resources, series.kinds, strict=True) if k == "station"]
    b = series.bottleneck
    keep = b >= 0
    x = np.array(_dates(plant, series.edges[:-1]), dtype=object)[keep]
    names = [stations[i] for i in b[keep]]
    share = series.active[b[keep], np.flatnonzero(keep)] * 100
    fig = go.Figure(
        go.Scatter(
            x=list(x),
            y=names,
            mode="markers",
            marker={
                "color": share,
                "colorscale": "YlOrRd",
                "cmin": 0,
                "cmax": 100,
                "size": 9,
                "colorbar": {"title": "active %"},
            },
            hovertemplate="%{x|%Y-%m-%d}: %{y}<extra></extra>",
        )
    )
    apply_layout(
        fig,
        title="The bottleneck over time: the station active (processing or down) the largest share",
        hovermode="closest",
        margin={"l": 200, "r": 30, "t": 50, "b": 40},
        showlegend=False,
    )
    fig.update_yaxes(categoryorder="array", categoryarray=stations[::-1])
    return fig


def gantt_figure(run: PlantRun, warmup_hours: float, j: Joined, count: int = 10) -> go.Figure | None:
    """Each sample unit's visits: waiting (light) and processing (dark), coloured by station."""
    done = np.flatnonzero(
        (j.unit_item == 0) & (j.unit_outcome == FINISHED) & (j.unit_release >= warmup_hours)
    )
    if not len(done):
        return None
    sample = done[:: max(len(done) // count, 1)][:count]
    stations = run.index.stations
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(stations)}
    fig = go.Figure()
    shown: set[str] = set()
    dates = _dates(run.plant, j.unit_release[sample])
    for uid, released in zip(sample, dates, strict=True):
        m = (j.v_unit == uid) & (j.v_job >= 0)
        label = f"{run.plant.release.item} {uid} ({released[:10]})"
        t0 = j.unit_release[uid]
        for s, a, st, lv in zip(j.v_station[m], j.v_arrived[m], j.v_start[m], j.v_left[m], strict=True):
            name = stations[s]
            first = name not in shown
            shown.add(name)
            fig.add_bar(
                y=[label],
                x=[(st - a) / 24],
                base=[(a - t0) / 24],
                orientation="h",
                marker_color=colours[name],
                opacity=0.3,
                name=name,
                legendgroup=name,
                showlegend=False,
                hovertemplate=f"{name}: waiting %{{x:.2f}} d<extra></extra>",
            )
            fig.add_bar(
                y=[label],
                x=[(lv - st) / 24],
                base=[(st - t0) / 24],
                orientation="h",
                marker_color=colours[name],
                name=name,
                legendgroup=name,
                showlegend=first,
                hovertemplate=f"{name}: processing and leaving %{{x:.2f}} d<extra></extra>",
            )
    apply_layout(
        fig,
        barmode="overlay",
        title=f"Sample {run.plant.release.item}s through the plant (light: waiting)",
        xaxis_title="days since the unit was released",
        hovermode="closest",
        margin={"l": 200, "r": 30, "t": 100, "b": 40},
        title_y=0.96,
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def floor_figure(run: PlantRun, kpis: dict[str, Any]) -> go.Figure | None:
    """Stations where they stand, coloured by utilisation; AMR moves drawn along the aisles they used."""
    floor = run.index.floor
    if floor is None:
        return None
    names = list(floor.names)
    pos = floor.positions
    stations = set(run.index.stations)
    fig = go.Figure()
    trips = run.records.trips
    moves = trips[(trips[:, 1] == 0) & (trips[:, 7] >= 0)] if len(trips) else trips
    edge_count: dict[tuple[int, int], int] = {}
    if len(moves):
        pairs, counts = np.unique(moves[:, 6:8].astype(np.int64), axis=0, return_counts=True)
        for (a, b), c in zip(pairs, counts, strict=True):
            path = floor.path(int(a), int(b))
            for u, v in itertools.pairwise(path):
                key = (min(u, v), max(u, v))
                edge_count[key] = edge_count.get(key, 0) + int(c)
    if floor.predecessors is not None and run.plant.layout is not None:
        index = floor.index
        for e in run.plant.layout.edges:
            a, b = index[e.from_], index[e.to]
            fig.add_scatter(
                x=[pos[a, 0], pos[b, 0]],
                y=[pos[a, 1], pos[b, 1]],
                mode="lines",
                line={"color": "#dddddd", "width": 6},
                hoverinfo="skip",
                showlegend=False,
            )
    most = max(edge_count.values(), default=1)
    for (a, b), c in sorted(edge_count.items()):
        fig.add_scatter(
            x=[pos[a, 0], pos[b, 0]],
            y=[pos[a, 1], pos[b, 1]],
            mode="lines",
            line={"color": PALETTE[0], "width": 1 + 9 * c / most},
            opacity=0.6,
            showlegend=False,
            hovertemplate=f"{names[a]} – {names[b]}: {c:,} AMR moves<extra></extra>",
        )
    st_idx = [i for i, n in enumerate(names) if n in stations]
    util = [kpis["stations"][names[i]]["utilization"]["mean"] * 100 for i in st_idx]
    servers = dict(zip(run.index.stations, run.index.station_servers, strict=True))
    sizes = [14 + 4 * np.sqrt(servers[names[i]]) for i in st_idx]
    fig.add_scatter(
        x=pos[st_idx, 0],
        y=pos[st_idx, 1],
        mode="markers+text",
        text=[names[i] for i in st_idx],
        textposition="top center",
        marker={
            "symbol": "square",
            "size": sizes,
            "color": util,
            "cmin": 0,
            "cmax": 100,
            "colorscale": "YlOrRd",
            "colorbar": {"title": "util %"},
            "line": {"color": "#333", "width": 1},
        },
        customdata=np.array([[u, servers[names[i]]] for u, i in zip(util, st_idx, strict=True)]),
        hovertemplate="%{text}: %{customdata[0]:.0f} % busy, %{customdata[1]} servers<extra></extra>",
        showlegend=False,
    )
    others = [i for i in range(len(names)) if names[i] not in stations]
    if others:
        fig.add_scatter(
            x=pos[others, 0],
            y=pos[others, 1],
            mode="markers+text",
            text=[names[i] for i in others],
            textposition="bottom center",
            marker={"size": 7, "color": "#7f8c8d"},
            hoverinfo="text",
            showlegend=False,
            textfont={"color": "#7f8c8d", "size": 10},
        )
    apply_layout(
        fig,
        title="The floor: stations by utilisation, AMR moves along the aisles (line width: moves)",
        hovermode="closest",
        xaxis_title="metres",
        yaxis_title="metres",
    )
    layout = run.plant.layout
    width = layout.width_m if layout is not None and layout.width_m else float(pos[:, 0].max()) + 20
    depth = layout.depth_m if layout is not None and layout.depth_m else float(pos[:, 1].max()) + 20
    fig.update_xaxes(range=[-15, width + 15], constrain="domain")
    fig.update_yaxes(range=[-15, depth + 15], scaleanchor="x", scaleratio=1, constrain="domain")
    return fig
