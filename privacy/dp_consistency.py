"""Post-processing of noisy counts: consistent totals, non-negative integers that add up (no privacy cost).

Everything here reads only noisy measurements and their variances, never the data, so by the
post-processing property of differential privacy it spends no budget.

- `star_least_squares`: one total measured directly and through several disaggregations (each adds up to
  it) becomes one estimate by generalised least squares (each measurement weighted by the inverse of its
  variance); each disaggregation is then shifted evenly so it adds up to that estimate.
- `fit_to_total`: a disaggregation made non-negative and adding up to a given integer total: the Euclidean
  projection onto {x >= 0, sum x = total}, then integer rounding by largest remainders (keeps the total).
"""

from __future__ import annotations

import numpy as np


def star_least_squares(
    total: float, total_var: float, parts: list[np.ndarray], part_vars: list[float]
) -> tuple[float, list[np.ndarray]]:
    """The least-squares total and the disaggregations shifted to add up to it.

    `parts[i]` are the noisy cells of one disaggregation, each with variance `part_vars[i]`; the sum of its
    K cells measures the total with variance K * part_vars[i].
    """
    weights = [1.0 / total_var] + [1.0 / (len(p) * v) for p, v in zip(parts, part_vars, strict=True)]
    sums = [total] + [float(p.sum()) for p in parts]
    estimate = float(np.dot(weights, sums) / sum(weights))
    return estimate, [p + (estimate - p.sum()) / len(p) for p in parts]


def project_to_simplex(values: np.ndarray, total: float) -> np.ndarray:
    """The closest point (Euclidean) to `values` with non-negative cells summing to `total` (>= 0)."""
    values = np.asarray(values, dtype=float)
    if total <= 0:
        return np.zeros_like(values)
    ordered = np.sort(values)[::-1]
    cumulative = np.cumsum(ordered) - total
    ranks = np.arange(1, len(values) + 1)
    kept = np.nonzero(ordered - cumulative / ranks > 0)[0]
    last = kept[-1] if len(kept) else 0  # the largest cell always stays (rounding can hide it for a tiny total)
    threshold = cumulative[last] / (last + 1)
    return np.maximum(values - threshold, 0.0)


def round_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Non-negative reals summing to the integer `total`, as integers summing to it (largest remainders).

    Ties in the remainder go to the earlier cell, so the result is a function of the values alone.
    """
    floors = np.floor(values).astype(np.int64)
    short = int(total - floors.sum())
    if short > 0:
        order = np.argsort(-(values - floors), kind="stable")
        floors[order[:short]] += 1
    return floors


def fit_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Non-negative integers adding up to `total`, as close to `values` as the projection gets."""
    return round_to_total(project_to_simplex(values, total), total)


def non_negative_integers(values: np.ndarray) -> np.ndarray:
    """Cells with no sum to keep (a person counts in several): clipped at 0 and rounded."""
    return np.rint(np.maximum(np.asarray(values, dtype=float), 0.0)).astype(np.int64)
