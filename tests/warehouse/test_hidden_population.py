"""The hidden_population table: every method's estimate and the combined statement, per year."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from synthetic.generator import generate
from warehouse.research import MSE_METHODS, hidden_population


@pytest.fixture(scope="module")
def overlap(tmp_path_factory) -> pd.DataFrame:
    """Exact overlap of the victim-assistance providers per year, from the generator's ground truth."""
    out = tmp_path_factory.mktemp("generated")
    generate(out, rows=1500, providers=3, seed=7)
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with (out / "ground_truth" / "records.csv").open(newline="") as f:
        for rec in csv.DictReader(f):
            if rec["feed"] == "victim-assistance" and rec["person_role"] == "victim" and rec["valid"] == "1":
                seen[rec["reporting_year"]][rec["person_id"]].add(rec["provider"])
    rows = defaultdict(int)
    for year in sorted(seen)[-2:]:  # two years keep the test short
        for providers in seen[year].values():
            rows[(int(year), " + ".join(sorted(providers)))] += 1
    return pd.DataFrame([(p, lists, n) for (p, lists), n in rows.items()], columns=["period", "lists", "persons"])


def test_every_method_is_published_with_the_combined_statement(overlap):
    table = hidden_population(overlap, k=5, nboot=60)
    assert len(table) == 2
    for row in table.to_dict("records"):
        estimates = [row[f"estimate_{m}"] for m in MSE_METHODS]
        assert all(e is not pd.NA and e >= row["observed"] for e in estimates), row
        assert row["estimate"] == pytest.approx(float(np.median(estimates)))
        assert row["lower_95"] == pytest.approx(min(row[f"lower_95_{m}"] for m in MSE_METHODS))
        assert row["upper_95"] == pytest.approx(max(row[f"upper_95_{m}"] for m in MSE_METHODS))
        assert row["spread"] == pytest.approx(max(estimates) / min(estimates) - 1)
        assert row["lower_80"] <= row["estimate"] <= row["upper_80"] or row["warnings"]
        assert all(isinstance(row[f"model_{m}"], str) and row[f"model_{m}"] for m in MSE_METHODS)
        assert row["linkage_missed"] >= 0 >= row["linkage_false"]


def test_a_year_below_k_gets_no_estimate_from_any_method(overlap):
    table = hidden_population(overlap, k=10**6, nboot=10)
    assert table["estimate"].isna().all() and table["observed"].isna().all()
    assert all(table[f"estimate_{m}"].isna().all() for m in MSE_METHODS)
    assert table["warnings"].str.contains("withheld").all()
