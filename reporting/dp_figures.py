"""The annual report's public figures drawn from a differentially private release instead of suppressed cells.

`overlay` replaces, in the report's tables read from the research database, every cell the DP release has
(unique victims by disaggregation, suspects by stage, convictions by offence) with the release's value and
its 95% bound: nothing is suppressed there, so no series breaks. Baselines, changes, trends and attrition
shares are recomputed from the release's own values (post-processing: no privacy cost); a baseline year the
release does not cover gives no change. Everything else (records, services, overlap, the hidden population)
stays as the research database publishes it, and the report says which is which.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

TREND = 5.0  # percent either way: rising or falling, as the research database's trend


def read_release(folder: Path) -> tuple[dict, dict[tuple, tuple[int, int]]]:
    """A DP release's manifest and its cells: (indicator, period, dimension, category) -> (value, bound_95)."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    with (Path(folder) / "tables.csv").open(newline="") as f:
        cells = {
            (r["indicator"], int(r["period"]), r["dimension"], r["category"]): (int(r["value"]), int(r["bound_95"]))
            for r in csv.DictReader(f)
        }
    return manifest, cells


def overlay(data: dict, cells: dict[tuple, tuple[int, int]]) -> dict:
    """The report's data with the DP release's cells in place of the research database's."""
    indicators = []
    for row in data.get("indicators") or ():
        key = (row["indicator"], row["period"], row["dimension"], row["category"])
        if key not in cells:
            indicators.append(row)
            continue
        value, bound = cells[key]
        base_period = row["baseline_period"]
        base = cells.get((key[0], base_period, key[2], key[3]), (None,))[0] if base_period is not None else None
        previous = cells.get((key[0], key[1] - 1, key[2], key[3]), (None,))[0]
        indicators.append(
            {
                **row,
                "value": value,
                "bound_95": bound,
                "suppressed": False,
                "baseline_value": base,
                "change_abs": None if base is None else value - base,
                "change_pct": round(100 * (value - base) / base, 1) if base else None,
                "trend": _trend(value, previous),
            }
        )
    attrition = [_attrition(row, cells) for row in data.get("attrition") or ()]
    return {**data, "indicators": indicators, "attrition": attrition if data.get("attrition") is not None else None}


def _trend(value: int, previous: int | None) -> str | None:
    if not previous:
        return None
    change = 100 * (value - previous) / previous
    return "rising" if change > TREND else "falling" if change < -TREND else "stable"


def _attrition(row: dict, cells: dict[tuple, tuple[int, int]]) -> dict:
    stages = {
        s: cells.get(("suspects", row["period"], "stage", s), (None,))[0]
        for s in ("investigated", "prosecuted", "convicted")
    }
    inv, pros, conv = stages.values()
    if inv is None or pros is None or conv is None:
        return row
    return {
        **row,
        **stages,
        "prosecuted_share": pros / inv if inv else None,
        "convicted_share": conv / pros if pros else None,
    }


def note(manifest: dict) -> str:
    """The report's statement of where its public figures come from (plain text; the caller escapes it)."""
    years = manifest["years"]
    span = str(years[0]) if len(years) == 1 else f"{years[0]}\u2013{years[-1]}"
    return (
        f"Unique victims, suspects by stage and convictions by offence for {span} are drawn from the differentially "
        f"private release {manifest['name']} (epsilon {manifest['epsilon']:g}), not from the suppressed tables: every "
        "such figure is shown with \u00b1 its 95% error bound (the count is within it with probability about 95%), "
        "none is suppressed, and sub-totals add up to totals. Other figures come from the research database."
    )
