"""Writing a supply study's outputs: ``summary.json`` and the time series as Parquet."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded by the functions that need them: write_json is on every command's path
    import pyarrow as pa

    from aifactory.supply.series import Series


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_finite(data), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def series_table(series: Series) -> pa.Table:
    """Long format: one row per (date, series) with mean/p10/p50/p90; stage heat-map measures too."""
    import pyarrow as pa

    dates: list[Any] = []
    names: list[str] = []
    cols: dict[str, list[float]] = {"mean": [], "p10": [], "p50": [], "p90": []}
    for name, band in series.bands.items():
        dates += series.dates
        names += [name] * len(series.dates)
        for key in cols:
            cols[key] += [float(v) for v in getattr(band, key)]
    for stage, measures in series.stage_heat.items():
        for measure, values in measures.items():
            dates += series.dates
            names += [f"stage/{stage}/{measure}"] * len(series.dates)
            cols["mean"] += [float(v) for v in values]
            for key in ("p10", "p50", "p90"):
                cols[key] += [math.nan] * len(series.dates)
    return pa.table(
        {
            "date": pa.array(dates, type=pa.date32()),
            "series": pa.array(names, type=pa.string()),
            **{k: pa.array(v, type=pa.float64()) for k, v in cols.items()},
        }
    )


def write_series(path: Path, series: Series) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(series_table(series), path)
