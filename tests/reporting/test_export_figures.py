"""The export's figures: a sum is shown exactly when a reader of the published cells can already work it out."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.exports.figures import CONFIDENTIAL, NOT_AVAILABLE, NOT_COVERED, PUBLISHED, Published

SEXES = ["female", "male", "other", "unknown"]


def _published(year: int, counts: list[int], withheld: list[bool], total_withheld: bool) -> Published:
    rows = [("unique_victims", year, "total", "all", sum(counts), total_withheld)]
    rows += [("unique_victims", year, "sex", s, c, w) for s, c, w in zip(SEXES, counts, withheld, strict=True)]
    frame = pd.DataFrame(rows, columns=["indicator", "period", "dimension", "category", "value", "suppressed"])
    frame.loc[frame["suppressed"], "value"] = None
    return Published(frame)


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=4, max_size=4),
    withheld=st.lists(st.booleans(), min_size=4, max_size=4),
    total_withheld=st.booleans(),
    subset=st.sets(st.sampled_from(SEXES), min_size=1),
)
def test_a_sum_is_shown_only_when_the_published_cells_give_it(counts, withheld, total_withheld, subset):
    pub = _published(2024, counts, withheld, total_withheld)
    fig = pub.sum("unique_victims", 2024, "sex", sorted(subset))
    inside = [w for s, w in zip(SEXES, withheld, strict=True) if s in subset]
    outside = [w for s, w in zip(SEXES, withheld, strict=True) if s not in subset]
    derivable = not any(inside) or (not total_withheld and not any(outside))
    assert (fig.status == PUBLISHED) == derivable
    if fig.status == PUBLISHED:
        assert fig.value == sum(c for s, c in zip(SEXES, counts, strict=True) if s in subset)
    else:
        assert fig.status == CONFIDENTIAL and fig.value is None  # never 0, never blank-as-zero
    assert {p[5] for p in fig.parts} == set(subset)  # the cells it sums, for the audit


def test_zero_unknown_not_collected_and_not_covered_stay_apart():
    frame = pd.DataFrame(
        [
            ("unique_victims", 2015, "total", "all", 3, False),
            ("unique_victims", 2015, "exploitation_form", "sexual", 0, False),
            ("unique_victims", 2015, "exploitation_form", "unknown", 3, False),
            ("unique_victims", 2015, "exploitation_form", "forced_marriage", 0, False),
        ],
        columns=["indicator", "period", "dimension", "category", "value", "suppressed"],
    )
    pub = Published(frame)
    assert pub.value("unique_victims", 2015, "exploitation_form", "sexual").value == 0  # a count of zero
    assert pub.value("unique_victims", 2015, "exploitation_form", "unknown").value == 3  # unknown is a category
    assert (
        pub.value("unique_victims", 2015, "exploitation_form", "forced_marriage").status == NOT_COVERED
    )  # before 2018
    assert pub.value("unique_victims", 2015, "age_group", "0-11").status == NOT_AVAILABLE  # no such table that year
    assert pub.value("unique_victims", 2015, "exploitation_form", "begging").value == 0  # never listed: never counted
    # a group is "not covered" only when none of its codes was; otherwise it sums the covered ones
    assert pub.sum("unique_victims", 2015, "exploitation_form", ["forced_marriage"]).status == NOT_COVERED
    assert pub.sum("unique_victims", 2015, "exploitation_form", ["forced_marriage", "sexual"]).value == 0
