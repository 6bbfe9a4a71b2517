"""The estimate's sensitivity to missed and false links."""

from __future__ import annotations

from pathlib import Path

import pytest

from estimation import MSEInputError, read_capture_histories
from estimation.linkage_sensitivity import linkage_sensitivity

KOSOVO = Path(__file__).parent / "fixtures" / "multiple_systems_estimation" / "Kosovo.csv"


def test_missed_links_raise_and_false_links_lower_the_estimate():
    moved = linkage_sensitivity(*read_capture_histories(KOSOVO), seed=1, replicates=5)
    assert moved["estimate"] == pytest.approx(14341.66, abs=0.01)
    assert moved["missed"] > 0.005 and moved["false"] < 0


def test_perfect_linkage_moves_nothing():
    moved = linkage_sensitivity(*read_capture_histories(KOSOVO), recall=1.0, precision=1.0, seed=1, replicates=2)
    assert moved["missed"] == pytest.approx(0.0, abs=1e-9) and moved["false"] == pytest.approx(0.0, abs=1e-9)


def test_rates_outside_zero_one_are_refused():
    with pytest.raises(MSEInputError, match="recall and precision"):
        linkage_sensitivity(*read_capture_histories(KOSOVO), recall=1.5)
