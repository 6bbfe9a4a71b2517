"""Bootstraps with jackknife-accelerated BCa quantiles.

Two ways to draw replicates:
- "conditional": SparseMSE's estimatepopulation, a multinomial resample of the observed cases. It keeps
  the number observed fixed, so it leaves out how much that number itself varies, and its intervals are
  too narrow when most of the population is observed (docs/mse.md).
- "population": the parametric bootstrap of Buckland and Garthwaite (1991). Each replicate draws a whole
  population of the estimated size from the fitted model, the unobserved cell included, and drops the
  unobserved cell before estimating again, so the number observed varies as it would in a new year.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

ALPHAS = (0.025, 0.05, 0.10, 0.16, 0.84, 0.90, 0.95, 0.975)
METHODS = ("conditional", "population")


def bootstrap_replicates(
    counts: np.ndarray, nboot: int, rng: np.random.Generator, estimate_of: Callable[[np.ndarray], float]
) -> np.ndarray:
    """`nboot` estimates, each from a multinomial resample of the observed rows (SparseMSE's rmultinom)."""
    return np.array([estimate_of(d) for d in multinomial_draws(counts, nboot, rng)], dtype=float)


def multinomial_draws(counts: np.ndarray, nboot: int, rng: np.random.Generator) -> np.ndarray:
    """`nboot` multinomial resamples of the observed counts with their total fixed, one per row."""
    nobs = int(counts.sum())
    return rng.multinomial(nobs, counts / nobs, size=nboot)


def population_draws(fitted: np.ndarray, dark: float, nboot: int, rng: np.random.Generator) -> np.ndarray:
    """`nboot` populations of round(N) persons over the fitted cell means, the unobserved cell dropped.

    `fitted` holds the fitted mean of every observable cell (zero for structural zeros) and `dark` the
    fitted unobserved cell.
    """
    means = np.concatenate([[dark], fitted])
    size = int(round(means.sum()))
    return rng.multinomial(size, means / means.sum(), size=nboot)[:, 1:].astype(float)


def population_replicates(
    fitted: np.ndarray, dark: float, nboot: int, rng: np.random.Generator, estimate_of: Callable[[np.ndarray], float]
) -> np.ndarray:
    """`nboot` estimates, each from a population drawn over the fitted cell means (population_draws)."""
    return np.array([estimate_of(d) for d in population_draws(fitted, dark, nboot, rng)], dtype=float)


def jackknife_acceleration(counts: np.ndarray, estimate_of: Callable[[np.ndarray], float]) -> float:
    """Acceleration from deleting one case at a time, each row weighted by its count (SparseMSE's ahat)."""
    jack = np.zeros(len(counts))
    for j in np.flatnonzero(counts > 0):
        c = counts.copy()
        c[j] -= 1
        jack[j] = estimate_of(c)
    return acceleration(jack, counts)


def acceleration(jack: np.ndarray, counts: np.ndarray) -> float:
    """BCa acceleration from delete-one estimates `jack`, each weighted by its history's count."""
    w = counts.astype(float)
    jack = np.where(w > 0, jack, 0.0)
    jr = np.sum(w * jack) / np.sum(w) - jack
    denom = 6.0 * np.sum(w * jr**2) ** 1.5
    return float(np.sum(w * jr**3) / denom) if denom > 0 else 0.0


def bca_quantiles(boot: np.ndarray, point: float, ahat: float, alphas=ALPHAS) -> tuple[dict[float, float], float]:
    """BCa quantiles (SparseMSE's bcaconfvalues: R quantile type 8) and the bias correction z0.

    When every replicate lies on one side of the point estimate z0 is infinite and every quantile
    is the bootstrap minimum or maximum, which the caller reports as degenerate.
    """
    frac = float(np.mean(boot < point))
    z0 = float(norm.ppf(frac))
    za = norm.ppf(np.asarray(alphas, dtype=float))
    if np.isfinite(z0):
        za0 = za + z0
        zq = norm.cdf(z0 + za0 / (1.0 - ahat * za0))
        # 1 - a*za0 changing sign sends the adjusted level to the wrong tail; R gives the same numbers.
    else:
        zq = np.full(len(za), 0.0 if z0 < 0 else 1.0)
    values = np.quantile(boot, np.clip(zq, 0.0, 1.0), method="median_unbiased")
    return {float(a): float(v) for a, v in zip(alphas, values, strict=True)}, z0


def degeneracy_warnings(quantiles: dict[float, float], point: float, z0: float, boot: np.ndarray) -> list[str]:
    """Plain-language notes on an interval that should not be read as an ordinary confidence interval."""
    notes = []
    if not np.isfinite(z0):
        side = "above" if z0 < 0 else "below"
        notes.append(f"degenerate interval: every bootstrap replicate lies {side} the point estimate (z0 infinite)")
    for label, qs in (("lower", [a for a in quantiles if a < 0.5]), ("upper", [a for a in quantiles if a > 0.5])):
        vals = [quantiles[a] for a in qs]
        if len(vals) > 1 and len(set(vals)) < len(vals):
            same = [a for a in qs if vals.count(quantiles[a]) > 1]
            value = quantiles[same[0]]
            where = {float(np.min(boot)): "the smallest", float(np.max(boot)): "the largest"}.get(value, "one")
            notes.append(
                f"degenerate interval: the {label} BCa quantiles {', '.join(f'{a:g}' for a in same)} "
                f"collapse onto {where} bootstrap replicate ({value:.1f}); the adjusted levels lie beyond "
                "what the replicates resolve"
            )
    wrong = [a for a, v in quantiles.items() if (a > 0.5 and v < point) or (a < 0.5 and v > point)]
    if wrong:
        notes.append(
            "degenerate interval: BCa quantile(s) "
            + ", ".join(f"{a:g} ({quantiles[a]:.1f})" for a in wrong)
            + f" on the wrong side of the point estimate {point:.1f}"
        )
    return notes
