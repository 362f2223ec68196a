"""A shorter HVLM run against the reference: throughput rate and the lithography bottlenecks.

The full two-year validation is in docs/fab.md (``aifactory fab validate``); this 120-day run (90 days
of warm-up, from the data set's loaded fab) checks that the regular lots leave the fab at the
reference's steady rate and that lithography is where the fab is busiest, as in the reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.fab import read_dataset
from aifactory.fab.engine import simulate
from aifactory.fab.validation import compare


def test_a_120_day_run_matches_the_reference_rate_and_bottlenecks(hvlm_dir: Path) -> None:
    data = read_dataset(hvlm_dir)
    assert data.reference is not None
    kpis = simulate(data, days=120, warmup_days=90, seed=0).to_kpis("HVLM", 120, 90, 0, 0.0)
    check = compare(kpis, data.reference)
    rate = {c.lot_type: c for c in check.lots}
    ours = rate["Lot_3"].lots_per_day + rate["Lot_4"].lots_per_day
    reference = rate["Lot_3"].reference_lots_per_day + rate["Lot_4"].reference_lots_per_day
    assert reference == pytest.approx(55.8, abs=0.1)  # 2 × 1,440 / 51.69 min releases
    assert ours == pytest.approx(reference, rel=0.04)
    busiest = sorted(kpis["toolgroups"], key=lambda n: -kpis["toolgroups"][n]["util"])[:5]
    assert sum(name.startswith("Litho") for name in busiest) >= 4
    bottlenecks = [t for t in check.toolgroups if t.bottleneck and t.name.startswith("Litho")]
    assert len(bottlenecks) >= 6
    assert all(abs(t.util_delta_points) <= 8 for t in bottlenecks)
