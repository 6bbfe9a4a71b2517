"""The three estimators side by side, and the combined statement the bureau publishes (docs/mse.md).

- stepwise: SparseMSE's stepwise selection of two-list interactions (estimation/mse.py);
- bic: BIC selection over hierarchical models, bootstrap repeating the selection (estimation/bic.py);
- bayes: Bayesian thresholding of two-list interactions (estimation/bayes.py).

The combined statement: the median of the methods' estimates, and the range from the lowest lower end
to the highest upper end of their intervals. The methods often disagree by more than any one interval
admits; the range covers whenever any one method's interval does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from estimation.bayes import estimate_bayes
from estimation.bic import MAX_LISTS, estimate_bic
from estimation.mse import MSEInputError, MSEResult, estimate

METHODS = ("stepwise", "bic", "bayes")
RESAMPLES = ("conditional", "population")


def run_method(
    method: str,
    lists,
    histories,
    counts,
    nboot: int = 1000,
    seed=None,
    resample: str = "conditional",
    draws: int = 40000,
) -> MSEResult:
    """One method's estimate. `nboot` and `resample` are the bootstrap of stepwise and bic; `draws`
    the posterior sample of bayes (which needs no bootstrap: its interval is a posterior interval)."""
    if method == "stepwise":
        return estimate(lists, histories, counts, nboot=nboot, seed=seed, method=resample)
    if method == "bic":
        return estimate_bic(lists, histories, counts, nboot=nboot, seed=seed, bootstrap=resample)
    if method == "bayes":
        return estimate_bayes(lists, histories, counts, seed=seed, draws=draws)
    raise MSEInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def available(n_lists: int) -> tuple[str, ...]:
    """The methods offered for a table of `n_lists` lists (BIC enumerates models: at most six lists)."""
    return METHODS if n_lists <= MAX_LISTS else ("stepwise", "bayes")


@dataclass
class Combined:
    """The published statement: central estimate, interval envelopes, and which method gave what."""

    estimate: float
    intervals: dict[str, tuple[float, float]]
    lowest: tuple[str, float]
    highest: tuple[str, float]

    @property
    def spread(self) -> float:
        """How far the highest method's estimate lies above the lowest's, as a share of the lowest."""
        return self.highest[1] / self.lowest[1] - 1.0


def combine(results: dict[str, MSEResult]) -> Combined:
    """Median of the estimates; each interval from the lowest lower end to the highest upper end."""
    if not results:
        raise MSEInputError("no method gave an estimate")
    estimates = {m: r.estimate for m, r in results.items()}
    intervals = {}
    for level in ("80%", "95%"):
        ends = [r.intervals[level] for r in results.values() if level in r.intervals]
        if ends:
            intervals[level] = (min(lo for lo, _ in ends), max(hi for _, hi in ends))
    low = min(estimates, key=estimates.__getitem__)
    high = max(estimates, key=estimates.__getitem__)
    return Combined(
        estimate=float(np.median(list(estimates.values()))),
        intervals=intervals,
        lowest=(low, estimates[low]),
        highest=(high, estimates[high]),
    )
