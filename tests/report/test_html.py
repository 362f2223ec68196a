"""The self-contained HTML supply report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aifactory.report.html import SECTIONS, write_supply_report
from aifactory.scenario import Scenario, load_scenario
from aifactory.scenario.distributions import Triangular
from aifactory.supply.montecarlo import run_monte_carlo
from aifactory.supply.series import Series, build_series

Study = tuple[Scenario, dict[str, Any], Series]


@pytest.fixture(scope="module")
def study() -> Study:
    s = load_scenario("serial-line")
    mc = run_monte_carlo(s, runs=64, seed=0)
    return s, mc.summary(0.5), build_series(s, mc.result, mc.params)


@pytest.fixture(scope="module")
def page(study: Study, tmp_path_factory: pytest.TempPathFactory) -> str:
    s, summary, series = study
    path = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    write_supply_report(path, s, summary, series)
    assert path.is_file()
    return path.read_text(encoding="utf-8")


def test_report_names_the_scenario(page: str) -> None:
    assert "<title>serial-line" in page
    assert "<h1>serial-line</h1>" in page
    assert "64 Monte Carlo runs" in page


def test_plotly_is_inlined_exactly_once_and_nothing_comes_from_a_cdn(page: str) -> None:
    assert page.count("plotly.js v") == 1
    assert page.count("Plotly.newPlot(") >= 5
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*href=[\"']https?://", page)


def test_targets_table_has_the_target_row(page: str) -> None:
    targets = page[page.index('<section id="targets">') : page.index('<section id="deliveries">')]
    assert "<table>" in targets
    row = re.search(r"<tr class=\"(good|mid|bad)\">(.*?)</tr>", targets)
    assert row is not None
    assert "2026-12-31" in row.group(2)
    assert "$10.0B" in row.group(2)


def test_every_section_has_its_heading(page: str) -> None:
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in page
    assert "Stages (P50 over runs)" in page


def test_text_is_escaped_and_distributions_are_listed(study: Study, tmp_path: Path) -> None:
    s, summary, series = study
    noisy = Triangular(dist="triangular", low=0.8, mode=0.9, high=0.95, note="guess <i>")
    fab = s.stages["fab"].model_copy(update={"yield_": noisy})
    s = s.model_copy(update={"description": "<b>x</b> & y", "stages": {**s.stages, "fab": fab}})
    path = tmp_path / "report.html"
    write_supply_report(path, s, summary, series)
    page = path.read_text(encoding="utf-8")
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page
    footer = page[page.index('<footer id="estimates">') :]
    assert "stages.fab.yield" in footer
    assert "80% – 95% (likely 90%), triangular" in footer
    assert "guess &lt;i&gt;" in footer
