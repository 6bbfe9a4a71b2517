"""BIC selection and Bayesian thresholding against MultipleSystemsEstimation 1.2.0's own figures.

The reference figures (fixtures/multiple_systems_estimation/reference.json) were produced with R 4.2.2
and the package's public source; how is in fixtures/README.md. The tests need no R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimation import MSEInputError, read_capture_histories
from estimation.bayes import estimate_bayes
from estimation.bic import estimate_bic
from estimation.hierarchical import Table, hierarchical_models, model_label
from estimation.methods import combine, run_method

SETS = Path(__file__).parent / "fixtures" / "multiple_systems_estimation"
REFERENCE = json.loads((SETS / "reference.json").read_text())
FAST = ("Artificial_3", "Korea", "Kosovo")  # three and four lists: a second or two each
FIVE = ("Western", "NewOrl_5", "UKdat_5", "Ned_5")


def load(name):
    return read_capture_histories(SETS / f"{name}.csv")


def r_model(label: str, lists: list[str]) -> str:
    """The package's hierarchy label ([15,2,3,4]) in our notation ([A:E, B, C, D])."""
    terms = [sum(1 << (int(ch) - 1) for ch in part) for part in label.strip("[]").split(",")]
    return model_label(tuple(sorted(m for m in _closure(terms) if bin(m).count("1") > 1)), lists)


def _closure(terms: list[int]) -> set[int]:
    out = set()
    for m in terms:
        sub = m
        while sub:
            out.add(sub)
            sub = (sub - 1) & m
    return out


@pytest.mark.parametrize(("lists", "order", "count"), [(3, 2, 8), (4, 2, 64), (4, 3, 113), (5, 2, 1024), (5, 3, 6212)])
def test_the_catalogue_of_hierarchical_models_is_the_packages(lists, order, count):
    models = hierarchical_models(lists, order)
    assert len(models) == count == len(set(models))
    for model in models:  # closed downwards: every pair inside a kept triple is kept
        for m in model:
            assert all(sub in model for sub in _closure([m]) if bin(sub).count("1") > 1 and sub != m)


def _check_bic_point(name):
    lists, histories, counts = load(name)
    ref = REFERENCE[name]["bic"]
    result = estimate_bic(lists, histories, counts)
    assert result.estimate == pytest.approx(ref["estimate"], rel=1e-5)
    assert result.details["bic"] == pytest.approx(ref["bic"], rel=1e-6)
    assert result.details["hierarchy"] == r_model(ref["model"], lists)
    ours = [(b["model"], round(b["estimate"], 2)) for b in result.details["best_models"]]
    theirs = [(r_model(b["model"], lists), round(b["estimate"], 2)) for b in ref["top"]]
    assert ours[: len(theirs)] == theirs  # the ranking of the best models, not only the winner


@pytest.mark.parametrize("name", FAST)
def test_bic_point_estimate_model_and_ranking_match_the_package(name):
    _check_bic_point(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [*FIVE, "Ned", "UKdat"])
def test_bic_on_five_and_six_lists_matches_the_package(name):
    if "bic" not in REFERENCE[name]:
        pytest.skip(f"no R figure for {name}")
    _check_bic_point(name)


@pytest.mark.parametrize("name", [n for n in FAST if "bic_bootstrap" in REFERENCE[n]])
def test_bic_bootstrap_interval_ends_within_15_percent(name):
    _check_bic_bootstrap(name)


NED_5_TAIL = pytest.mark.xfail(
    strict=True,
    reason="Ned_5's 97.5% end: R 3.25 million, ours 1.26 (seed 1234) to 1.84 million; the replicates in the far "
    "tail (estimates in the millions) differ and the cause is not found yet (docs/mse.md)",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=NED_5_TAIL) if n == "Ned_5" else n for n in FIVE if "bic_bootstrap" in REFERENCE[n]],
)
def test_bic_bootstrap_on_five_lists_within_15_percent(name):
    _check_bic_bootstrap(name)


def _check_bic_bootstrap(name):
    lists, histories, counts = load(name)
    result = estimate_bic(lists, histories, counts, nboot=1000, seed=1234)
    ref = REFERENCE[name]["bic_bootstrap"]["bca"]
    assert result.intervals["95%"][0] == pytest.approx(ref["0.025"], rel=0.15)
    assert result.intervals["95%"][1] == pytest.approx(ref["0.975"], rel=0.15)


def _reliable_r_runs(name):
    """R's runs whose chain moved, its default seed first (its default tune can leave the chain where it
    started: NewOrl's default run, whose figures are then those of seed 1)."""
    return [r for r in REFERENCE[name]["bayes"] if len(set(r["quantiles"].values())) > 1]


def _check_bayes(name, seed=20240):
    lists, histories, counts = load(name)
    runs = _reliable_r_runs(name)
    result = estimate_bayes(lists, histories, counts, seed=seed)
    assert result.estimate == pytest.approx(runs[0]["estimate"], rel=0.02)
    retained = result.model[len(lists) :]
    assert sorted(retained) == sorted(runs[0]["retained"])
    lo, hi = result.intervals["95%"]
    assert lo == pytest.approx(runs[0]["quantiles"]["0.025"], rel=0.15)
    assert hi == pytest.approx(runs[0]["quantiles"]["0.975"], rel=0.15)


@pytest.mark.parametrize("name", ["Korea", "Kosovo", "Western"])
def test_bayesian_thresholding_matches_the_package(name):
    _check_bayes(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Artificial_3", "Ned_5", "NewOrl_5", "UKdat", "UKdat_5"])
def test_bayesian_thresholding_matches_the_package_everywhere_it_is_stable(name):
    """Not Ned (6 lists) nor NewOrl (8): one statistic each sits within 0.1 of the threshold 2 (P:R,
    D:E), so which interactions are kept flips between runs, R's own runs included (docs/mse.md)."""
    _check_bayes(name)


def test_the_three_methods_disagree_on_korea_and_the_combined_statement_says_so():
    lists, histories, counts = load("Korea")
    results = {m: run_method(m, lists, histories, counts, nboot=200, seed=5) for m in ("stepwise", "bic", "bayes")}
    assert results["stepwise"].estimate == pytest.approx(268.78, abs=0.01)
    assert results["bic"].estimate == pytest.approx(157.17, abs=0.01)
    combined = combine(results)
    assert combined.estimate == pytest.approx(sorted(r.estimate for r in results.values())[1])
    lows = [r.intervals["95%"][0] for r in results.values()]
    highs = [r.intervals["95%"][1] for r in results.values()]
    assert combined.intervals["95%"] == (min(lows), max(highs))
    assert combined.lowest[0] in ("bic", "bayes") and combined.highest[0] == "stepwise"
    assert combined.spread > 0.5


def test_bic_refuses_more_than_six_lists_in_one_line():
    lists, histories, counts = load("NewOrl")
    with pytest.raises(MSEInputError, match="at most 6 lists"):
        estimate_bic(lists, histories, counts)


def test_an_unknown_method_is_refused():
    lists, histories, counts = load("Korea")
    with pytest.raises(MSEInputError, match="method must be one of"):
        run_method("jackknife", lists, histories, counts)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=7, max_size=7).filter(lambda c: sum(c[2:]) > 0 and sum(c) > 5))
def test_bic_chooses_the_smallest_bic_among_usable_models(cells):
    """On random three-list tables, the chosen model is the usable one of least BIC (checked by brute force)."""
    table = Table(3, 2)
    y = np.array(cells, dtype=float)
    histories = np.array([[(c >> i) & 1 for i in range(3)] for c in range(1, 8)])
    try:
        result = estimate_bic(["A", "B", "C"], histories, y.astype(int))
    except MSEInputError:
        return
    models = hierarchical_models(3, 2)
    fits = table.fit(np.array([table.mask(m) for m in models]), y[None, :])
    usable = [k for k, m in enumerate(models) if np.isfinite(fits.bic[k]) and table.usable(m, y)]
    best = min(usable, key=lambda k: fits.bic[k])
    assert result.estimate == pytest.approx(fits.abundance[best])
    assert result.estimate >= y.sum()
