"""Post-processing of noisy counts: non-negative integers that add up, least squares, and no change to exact data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.dp_consistency import fit_to_total, project_to_simplex, star_least_squares

noisy = st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=40).map(np.array)


@given(noisy, st.integers(0, 10**5))
def test_fit_to_total_gives_non_negative_integers_that_add_up(values, total):
    fitted = fit_to_total(values, total)
    assert fitted.dtype.kind == "i" and (fitted >= 0).all() and int(fitted.sum()) == total


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=40).map(np.array))
def test_fit_to_total_keeps_a_table_that_already_fits(cells):
    assert (fit_to_total(cells.astype(float), int(cells.sum())) == cells).all()


@given(noisy, st.floats(0, 1e5))
def test_projection_is_the_closest_point(values, total):
    projected = project_to_simplex(values, total)
    assert (projected >= 0).all() and abs(projected.sum() - total) <= 1e-6 * max(1.0, total)
    # Moving mass between two cells (staying feasible) never brings it closer to the noisy values.
    rng = np.random.default_rng(0)
    for _ in range(5):
        i, j = rng.integers(0, len(values), 2)
        step = min(projected[i], 1.0)
        other = projected.copy()
        other[i] -= step
        other[j] += step
        assert np.sum((other - values) ** 2) >= np.sum((projected - values) ** 2) - 1e-6


@settings(max_examples=50)
@given(st.floats(-100, 1000), st.lists(noisy, min_size=1, max_size=5), st.floats(0.5, 50))
def test_star_least_squares_adds_up_and_leans_on_the_precise(total, parts, variance):
    estimate, fitted = star_least_squares(total, variance, parts, [variance] * len(parts))
    for part in fitted:
        assert abs(part.sum() - estimate) <= 1e-6 * max(1.0, abs(estimate))
    lo = min([total] + [p.sum() for p in parts])
    hi = max([total] + [p.sum() for p in parts])
    assert lo - 1e-6 * max(1.0, abs(lo)) <= estimate <= hi + 1e-6 * max(1.0, abs(hi))
    precise, _ = star_least_squares(total, 1e-9, parts, [variance] * len(parts))
    assert abs(precise - total) <= 1e-3 * max(1.0, abs(total))
