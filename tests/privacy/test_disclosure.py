"""Suppressed count tables leak no small cell through their margins; k-anonymised extracts are k-anonymous."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.disclosure import (
    age_band,
    default_margins,
    is_k_anonymous,
    k_anonymise,
    margin_totals,
    recoverable_cells,
    suppress_all,
    suppress_counts,
    top_codes,
    year_band,
)

DIMS2 = ["sex", "year"]


def _table(shape: tuple[int, ...], counts: list[int]) -> tuple[pd.DataFrame, list[str]]:
    """A full long-format count table with dims d0, d1, ... of the given sizes."""
    dims = [f"d{i}" for i in range(len(shape))]
    rows = list(itertools.product(*[range(n) for n in shape]))
    frame = pd.DataFrame(rows, columns=dims)
    frame["n"] = counts[: len(rows)]
    return frame, dims


@st.composite
def tables(draw, ndim: int):
    """Small 2-D or 3-D tables with counts 0..30."""
    shape = tuple(draw(st.integers(1, 4 if ndim == 2 else 3)) for _ in range(ndim))
    size = int(np.prod(shape))
    counts = draw(st.lists(st.integers(0, 30), min_size=size, max_size=size))
    return _table(shape, counts)


def _assert_protected(table, dims, out, k, margins=None):
    """The properties every published table must have."""
    orig = table["n"].to_numpy()
    assert len(out) == len(table)
    pd.testing.assert_frame_equal(out[dims], table[dims])
    pub = out["n"]
    assert str(pub.dtype) == "Int64"
    shown = pub.dropna().astype(int)
    assert not ((shown > 0) & (shown < k)).any()
    # every suppressed cell is marked and NA; every unsuppressed cell is unchanged
    assert (out["suppressed"] == pub.isna()).all()
    assert set(out.loc[out["suppressed"], "suppression"]) <= {"primary", "secondary"}
    assert (out.loc[~out["suppressed"], "suppression"] == "").all()
    assert ((out["suppression"] == "primary") == ((orig > 0) & (orig < k))).all()
    assert (shown.to_numpy() == orig[~out["suppressed"].to_numpy()]).all()
    # nothing can be recovered from the published margins
    groupings = default_margins(dims) if margins is None else margins
    published = margin_totals(table, dims, "n", groupings, k=k, cells=out)
    assert recoverable_cells(out, dims, "n", published, k) == []
    # cells alone protect every group except those whose cells are all suppressed already;
    # only those may need their total withheld, and only those leak against unsuppressed totals
    unprotected = set(out.attrs["unprotected_groups"])
    for g, key in unprotected:
        in_group = (out[list(g)] == pd.Series(key, index=list(g))).all(axis=1)
        assert out.loc[in_group, "suppressed"].all()
    for g, totals in published.items():
        for key in totals.loc[totals["suppression"] == "secondary", list(g)].itertuples(index=False):
            assert (g, tuple(key)) in unprotected
    plain = margin_totals(table, dims, "n", groupings, k=k)
    for leak in recoverable_cells(out, dims, "n", plain, k):
        assert (leak["margin"], tuple(leak["cell"][d] for d in leak["margin"])) in unprotected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tables(2), k=st.sampled_from([3, 5, 11]))
def test_random_2d_tables_leak_nothing_through_row_and_column_totals(data, k):
    table, dims = data
    _assert_protected(table, dims, suppress_counts(table, dims, "n", k=k), k)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tables(3), k=st.sampled_from([5, 11]))
def test_random_3d_tables_leak_nothing_through_default_margins(data, k):
    table, dims = data
    _assert_protected(table, dims, suppress_counts(table, dims, "n", k=k), k)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tables(3))
def test_explicit_margins_are_protected(data):
    table, dims = data
    margins = [["d0", "d1"], ["d0"], ["d2"], []]
    _assert_protected(table, dims, suppress_counts(table, dims, "n", margins=margins), 5, margins)


def _two_by_three(counts):
    return pd.DataFrame({"sex": ["F"] * 3 + ["M"] * 3, "year": [2021, 2022, 2023] * 2, "n": counts})


def test_secondary_picks_smallest_nonzero_in_row_and_column_and_prevents_recovery():
    #          2021 2022 2023
    # F:         3    6   20     row F: smallest other non-zero is 6 (F, 2022)
    # M:         8   25   30     column 2021: the other cell is 8 (M, 2021)
    table = _two_by_three([3, 6, 20, 8, 25, 30])
    primary_only = suppress_counts(table, DIMS2, "n", secondary=False)
    assert primary_only["suppression"].tolist() == ["primary", "", "", "", "", ""]
    leaks = recoverable_cells(primary_only, DIMS2, "n", margin_totals(table, DIMS2, "n"), 5)
    assert leaks and {(leak["kind"], leak["value"]) for leak in leaks} == {("exact", 3)}
    assert {leak["margin"] for leak in leaks} == {("year",), ("sex",)}

    out = suppress_counts(table, DIMS2, "n")
    kinds = {(sex, year): kind for sex, year, kind in out[["sex", "year", "suppression"]].itertuples(index=False)}
    assert kinds[("F", 2021)] == "primary"
    assert kinds[("F", 2022)] == "secondary"  # smallest other non-zero in the row
    assert kinds[("M", 2021)] == "secondary"  # smallest other non-zero in the column
    assert kinds[("M", 2022)] == "secondary"  # completes the rectangle
    assert out["suppressed"].sum() == 4
    assert out.loc[~out["suppressed"], "n"].tolist() == [20, 30]
    assert recoverable_cells(out, DIMS2, "n", margin_totals(table, DIMS2, "n", cells=out), 5) == []


def test_zero_cells_are_not_chosen_when_a_nonzero_cell_is_available():
    table = pd.DataFrame({"region": list("abcd"), "n": [2, 0, 7, 12]})
    out = suppress_counts(table, ["region"], "n", margins=[[]])  # only the grand total is published
    assert out["suppression"].tolist() == ["primary", "", "secondary", ""]
    grand = margin_totals(table, ["region"], "n", [[]], cells=out)
    assert grand[()]["n"].tolist() == [21]
    assert recoverable_cells(out, ["region"], "n", grand, 5) == []


def test_zero_cells_fill_the_count_only_as_last_resort_and_tiny_totals_are_suppressed():
    table = pd.DataFrame({"region": list("abc"), "n": [3, 0, 0]})
    out = suppress_counts(table, ["region"], "n", margins=[[]])
    assert out["suppressed"].all()
    grand = margin_totals(table, ["region"], "n", [[]], cells=out)[()]
    assert grand["suppression"].tolist() == ["primary"] and grand["n"].isna().all()


def test_group_with_one_cell_gets_its_total_withheld():
    # one sex only: each year total equals its single cell
    table = pd.DataFrame({"sex": ["F"] * 3, "year": [2021, 2022, 2023], "n": [3, 20, 30]})
    out = suppress_counts(table, DIMS2, "n")
    assert out["suppression"].tolist() == ["primary", "secondary", ""]
    assert (("year",), (2022,)) in out.attrs["unprotected_groups"]
    naive = margin_totals(table, DIMS2, "n")
    assert any(leak["value"] == 20 for leak in recoverable_cells(out, DIMS2, "n", naive, 5))
    safe = margin_totals(table, DIMS2, "n", cells=out)
    years = safe[("year",)].set_index("year")
    assert years.loc[2021, "suppression"] == "primary" and years.loc[2022, "suppression"] == "secondary"
    assert years.loc[2023, "n"] == 30
    assert recoverable_cells(out, DIMS2, "n", safe, 5) == []


def test_k_is_configurable():
    table = _two_by_three([9, 40, 50, 30, 60, 70])
    assert not suppress_counts(table, DIMS2, "n", k=5)["suppressed"].any()
    out = suppress_counts(table, DIMS2, "n", k=11)
    assert out["suppression"].iloc[0] == "primary" and out["suppressed"].sum() == 4
    _assert_protected(table, DIMS2, out, 11)


def test_margin_totals_are_computed_from_original_counts():
    table = _two_by_three([3, 6, 20, 8, 25, 30])
    totals = margin_totals(table, DIMS2, "n")
    assert totals[("sex",)].set_index("sex")["n"].to_dict() == {"F": 29, "M": 63}
    assert totals[("year",)].set_index("year")["n"].to_dict() == {2021: 11, 2022: 31, 2023: 50}


def test_recoverable_cells_flags_narrow_bounds():
    published = _two_by_three([1, 2, 20, 8, 25, 30]).assign(suppressed=[True, True, False, False, False, False])
    published["n"] = published["n"].astype("Int64").mask(published["suppressed"])
    totals = {("sex",): pd.DataFrame({"sex": ["F", "M"], "n": pd.array([23, 63], dtype="Int64")})}
    leaks = recoverable_cells(published, DIMS2, "n", totals, 5)
    assert [(leak["kind"], leak["upper"]) for leak in leaks] == [("bounded", 3), ("bounded", 3)]


def test_bad_tables_are_refused():
    table = _two_by_three([3, 6, 20, 8, 25, 30])
    with pytest.raises(ValueError, match="more than one row"):
        suppress_counts(pd.concat([table, table.head(1)]), DIMS2, "n")
    with pytest.raises(ValueError, match="negative"):
        suppress_counts(table.assign(n=[-1, 6, 20, 8, 25, 30]), DIMS2, "n")


# --------------------------------------------------------------------------- microdata

QIS = ["age", "birth_year", "citizenship", "sex"]
HIERARCHIES = {
    "age": [age_band(5), age_band(10), suppress_all],
    "birth_year": [year_band(10), suppress_all],
    "citizenship": [top_codes(5), suppress_all],
    "sex": [suppress_all],
}


def _microdata(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(12, 70, n),
            "birth_year": rng.integers(1950, 2012, n),
            "citizenship": rng.choice(
                list("ABCDEFGHIJ"), n, p=[0.4, 0.2, 0.1, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01]
            ),
            "sex": rng.choice(["F", "M"], n),
            "exploitation": rng.choice(["sexual", "labour", "criminality"], n),
            "record": np.arange(n),
        }
    )


@pytest.mark.parametrize("k", [5, 11])
def test_k_anonymise_output_is_k_anonymous_and_keeps_other_columns(k):
    frame = _microdata(3000, seed=1)
    assert not is_k_anonymous(frame, QIS, k)
    out, report = k_anonymise(frame, QIS, k=k, hierarchies=HIERARCHIES)
    assert is_k_anonymous(out, QIS, k)
    assert report["k_achieved"] >= k and report["k"] == k
    assert report["rows_suppressed"] == len(frame) - len(out)
    assert sum(report["levels"].values()) == len(report["steps"]) > 0
    others = ["exploitation", "record"]
    pd.testing.assert_frame_equal(out[others], frame.loc[out.index, others])


def test_rows_are_suppressed_when_hierarchies_are_exhausted():
    frame = pd.DataFrame({"age": [20, 21, 22, 23, 24, 25, 26, 27, 28, 60], "sex": ["F"] * 9 + ["M"], "x": range(10)})
    out, report = k_anonymise(frame, ["age", "sex"], k=3, hierarchies={"age": [age_band(10)], "sex": []})
    assert report["levels"] == {"age": 1, "sex": 0}
    assert report["rows_suppressed"] == 1 and 9 not in out.index
    assert is_k_anonymous(out, ["age", "sex"], 3)
    assert out["age"].tolist() == ["20-29"] * 9


def test_greedy_step_picks_the_most_useful_quasi_identifier():
    frame = pd.DataFrame({"age": list(range(20, 40)), "sex": ["F", "M"] * 10})
    out, report = k_anonymise(frame, ["age", "sex"], k=5, hierarchies={"age": [age_band(10)], "sex": [suppress_all]})
    assert report["steps"] == ["age"] and report["levels"]["sex"] == 0
    assert report["rows_suppressed"] == 0 and is_k_anonymous(out, ["age", "sex"], 5)


def test_already_k_anonymous_frame_is_returned_unchanged():
    frame = pd.DataFrame({"sex": ["F"] * 6 + ["M"] * 5, "region": ["N"] * 11, "x": range(11)})
    out, report = k_anonymise(frame, ["sex", "region"], k=5, hierarchies=HIERARCHIES)
    pd.testing.assert_frame_equal(out, frame)
    assert report["steps"] == [] and report["rows_suppressed"] == 0 and report["k_achieved"] == 5


def test_max_suppression_trades_generalisation_for_dropped_rows():
    frame = _microdata(3000, seed=2)
    full, full_report = k_anonymise(frame, QIS, k=5, hierarchies=HIERARCHIES)
    lax, lax_report = k_anonymise(frame, QIS, k=5, hierarchies=HIERARCHIES, max_suppression=0.05)
    assert is_k_anonymous(lax, QIS, 5)
    assert len(lax_report["steps"]) <= len(full_report["steps"])
    assert lax_report["rows_suppressed"] <= 0.05 * len(frame)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ages=st.lists(st.integers(0, 99), min_size=1, max_size=60),
    k=st.integers(2, 6),
    data=st.data(),
)
def test_k_anonymise_random_frames(ages, k, data):
    sexes = data.draw(st.lists(st.sampled_from(["F", "M", "X"]), min_size=len(ages), max_size=len(ages)))
    frame = pd.DataFrame({"age": ages, "sex": sexes, "x": range(len(ages))})
    out, report = k_anonymise(
        frame, ["age", "sex"], k=k, hierarchies={"age": [age_band(5), age_band(20), suppress_all]}
    )
    assert is_k_anonymous(out, ["age", "sex"], k)
    assert report["rows_suppressed"] == len(frame) - len(out)
    assert report["rows_suppressed"] == (len(frame) if len(frame) < k else 0)
    assert (out["x"] == frame.loc[out.index, "x"]).all()


def test_generalisers():
    assert age_band(5)(pd.Series([23, 27, None, 40])).tolist() == ["20-24", "25-29", None, "40-44"]
    assert year_band(10)(pd.Series([1983, 2001])).tolist() == ["1980-1989", "2000-2009"]
    assert top_codes(1)(pd.Series(["a", "a", "b", "c"])).tolist() == ["a", "a", "other", "other"]
    assert suppress_all(pd.Series([1, 2])).tolist() == ["*", "*"]
