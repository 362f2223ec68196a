"""The house style of the report's Plotly figures, and a figure as an HTML fragment.

Light on imports on purpose: every report (supply, plant, factory) loads it."""

from __future__ import annotations

from html import escape
from pathlib import Path
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


def write_page(path: Path, title: str, body: list[str]) -> None:
    """A self-contained page (the house stylesheet, plotly.js inlined once) of ``body``'s fragments."""
    from plotly.offline import get_plotlyjs

    from aifactory.report.style import CSS

    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n'
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


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


__all__ = ["FONT", "PALETTE", "PLOT_CONFIG", "apply_layout", "figure_html", "rgba", "write_page"]
