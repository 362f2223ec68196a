"""The house style of the report's Plotly figures, and a figure as an HTML fragment.

Light on imports on purpose: every report (supply, plant, factory) loads it."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

PALETTE = ("#1f5fa8", "#d9730d", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
PLOT_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def figure_html(fig: go.Figure, height: int) -> str:
    """An HTML fragment for ``fig`` (plotly.js itself is inlined once in the page head)."""
    fig.update_layout(height=height)
    html: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        config=PLOT_CONFIG,
        default_width="100%",
        default_height=f"{height}px",
    )
    return html


def apply_layout(fig: go.Figure, **extra: Any) -> None:
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "margin": {"l": 70, "r": 30, "t": 50, "b": 40},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0},
    }
    fig.update_layout(**(layout | extra))


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


__all__ = ["FONT", "PALETTE", "PLOT_CONFIG", "apply_layout", "figure_html", "rgba"]
