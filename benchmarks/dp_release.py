"""Differential privacy against cell suppression, measured on the same tables of built installations.

    .venv/bin/python benchmarks/dp_release.py --home var                     # an installation already built
    .venv/bin/python benchmarks/dp_release.py --home /tmp/big/home --runs 20 --epsilon 0.5 1 2
    .venv/bin/python benchmarks/dp_release.py --home /tmp/big/home --per-year    # one release per year

For each installation and epsilon: `--runs` releases of every year of the data, one release of all years
(each person clipped to `--max-years`) or, with `--per-year`, one release per year (nothing is written and the
ledger is not touched: the releases are drawn in memory, the way `dp-release make` draws them), against the
true counts (the linked persons, unclipped). Cells: every cell of the research database's `indicators` for
the same indicators and dimensions (the cells suppression decides on), and every cell of the DP release (every
code of the standard). Printed per installation and epsilon, one JSON line: median and 95th percentile of the
absolute error, the share of cells whose 95% bound holds the truth, per dimension the same; and for
suppression: the share of cells withheld and the share of the counted persons they hold. Then the synthetic
records' distance from the true one- and two-way tables (one draw per epsilon).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from privacy.dp_contributions import clip_years
from privacy.dp_synthetic import domains, fit, records, sample, utility
from privacy.dp_tables import long_format
from privacy.keys import load_keyring
from warehouse.dp_release import Clipping, clipped, code_lists, measure_tables, read_persons, true_tables
from warehouse.research import RESEARCH_FILE

KEY = ["indicator", "period", "dimension", "category"]


def suppressed_cells(root: Path) -> pd.DataFrame:
    """The research database's indicator cells of the same tables, with their suppression flag."""
    with duckdb.connect(str(root / "warehouse" / RESEARCH_FILE), read_only=True) as con:
        return con.execute(
            "SELECT indicator, period, dimension, category, value, suppressed FROM indicators "
            "WHERE (indicator = 'unique_victims' AND dimension <> 'provider') "
            "OR (indicator = 'suspects' AND dimension = 'stage') "
            "OR (indicator = 'convicted_suspects' AND dimension = 'offence')"
        ).df()


def errors(frame: pd.DataFrame) -> dict:
    err = (frame["value"] - frame["value_true"]).abs()
    return {
        "cells": len(frame) // max(1, frame["run"].nunique()),
        "median_abs_error": float(err.median()),
        "p95_abs_error": float(err.quantile(0.95)),
        "within_bound": round(float((err <= frame["bound_95"]).mean()), 4),
    }


def draw(victims: pd.DataFrame, suspects: pd.DataFrame, clip: Clipping, epsilon: float, per_year: bool) -> pd.DataFrame:
    """One release of every year: one release of them all, or one per year (each at `epsilon`, each year's
    budget), in the published long format."""
    parts = [Clipping(y, y, clip.max_years, clip.max_forms) for y in clip.years] if per_year else [clip]
    frames = []
    for part in parts:
        v, s = clipped(victims, suspects, part)
        frames.append(long_format(measure_tables(v, s, part, epsilon)[1], part.years))
    return pd.concat(frames, ignore_index=True)


def measure(root: Path, epsilons: list[float], runs: int, per_year: bool = False, max_years: int = 1) -> list[dict]:
    key = load_keyring(root / "keys").key("database")
    victims, suspects = read_persons(root / "warehouse", key)
    years = sorted(set(victims["reporting_year"]) | set(suspects["reporting_year"]))
    clip = Clipping(years[-1], years[0], max_years=max_years)
    truth = true_tables(victims, suspects, clip)
    research = suppressed_cells(root)
    same = research.merge(truth, on=KEY, how="left", suffixes=("_published", ""))
    published = same[~same["suppressed"]]
    assert (published["value_published"] == published["value"]).all(), "the research counts differ from the truth"
    withheld = {
        "cells": len(same),
        "withheld_share": round(float(same["suppressed"].mean()), 4),
        "persons_in_withheld_share": round(float(same.loc[same["suppressed"], "value"].sum() / same["value"].sum()), 4),
        "withheld_nonzero_cells": int((same["suppressed"] & (same["value"] > 0)).sum()),
    }
    kept = len(victims) if per_year else len(clipped(victims, suspects, clip)[0])
    out = []
    for epsilon in epsilons:
        frames, t = [], time.perf_counter()
        for run in range(runs):
            frames.append(draw(victims, suspects, clip, epsilon, per_year).assign(run=run))
        seconds = (time.perf_counter() - t) / runs
        dp_all = pd.concat(frames).merge(truth, on=KEY, suffixes=("", "_true"))
        dp_same = dp_all.merge(research[KEY], on=KEY)
        per_dimension = {d: errors(g) for d, g in dp_same.groupby("dimension")}
        domain = domains(code_lists(), clip.years)
        model = fit(records(clip_years(victims, clip.years, clip.max_years)), domain, epsilon, clip.max_years)
        synth = utility(sample(model), records(clip_years(victims, clip.years, len(clip.years))), domain)
        out.append(
            {
                "home": str(root),
                "years": f"{years[0]}-{years[-1]}",
                "victim_person_years": len(victims),
                "victim_person_years_kept": kept,
                "suspect_person_years": len(suspects),
                "epsilon": epsilon,
                "release": "one per year" if per_year else "all years at once",
                "max_years": max_years,
                "runs": runs,
                "seconds_per_release": round(seconds, 2),
                "dp_same_cells": errors(dp_same),
                "dp_all_cells": errors(dp_all),
                "dp_by_dimension": per_dimension,
                "suppression": withheld,
                "synthetic": {"rows": synth["rows"], **synth["summary"]},
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, nargs="+", required=True, help="installations built by this branch")
    parser.add_argument("--epsilon", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--per-year", action="store_true", help="one release per year instead of one for all")
    parser.add_argument("--max-years", type=int, default=1, help="person-years of one person kept per release")
    args = parser.parse_args()
    for home in args.home:
        for line in measure(home.resolve(), args.epsilon, args.runs, args.per_year, args.max_years):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
