"""Bayesian thresholding of two-list interactions (Silverman 2020; Silverman, Chan and Vincent 2024).

Follows `estimate_population_bayesthresh` of MultipleSystemsEstimation 1.2.0 with its defaults (proper
normal prior of variance 1 on interactions, flat priors on intercept and main effects, threshold 2,
two-list interactions only). First every two-list interaction is fitted; those whose posterior mean is
less than `threshold` posterior standard deviations from zero are dropped; the model with the retained
ones is fitted again, and the posterior of the population is the number observed plus the posterior of
the unobserved cell. The estimate is the posterior median; the intervals are posterior quantiles.

The posterior is sampled by our own random-walk Metropolis, as MCMCpack's MCMCpoisson (which the R
package calls) does: normal proposals shaped by the inverse negative Hessian of the log posterior at its
mode, chains started where the package starts its chain. We run 8 chains side by side and take 40,000
draws rather than one chain of 10,000, because the thresholding statistic and the posterior median move
by a few per cent between R runs with different seeds; the distribution sampled is the same.
"""

from __future__ import annotations

import numpy as np

from estimation.hierarchical import Table, term_name
from estimation.mse import MSEInputError, MSEResult, prepare

FLAT = 1e-4  # the package's stand-in for a flat prior: precision 1e-4 on intercept and main effects
LEVELS = (0.025, 0.10, 0.50, 0.90, 0.975)


def pair_terms(t: int) -> list[int]:
    """Two-list terms in the package's order: for five lists 12, 13, 23, 14, 24, 34, 15, ..., 45."""
    return [(1 << i) | (1 << j) for j in range(1, t) for i in range(j)]


def log_posterior(beta: np.ndarray, x: np.ndarray, y: np.ndarray, precision: np.ndarray) -> float:
    eta = x @ beta
    return float(y @ eta - np.exp(eta).sum() - 0.5 * beta @ (precision * beta))


def posterior_mode(x: np.ndarray, y: np.ndarray, precision: np.ndarray, start: np.ndarray):
    """Newton's method with step halving; returns the mode and the negative Hessian there."""
    beta = start.copy()
    value = log_posterior(beta, x, y, precision)
    for _ in range(200):
        mu = np.exp(x @ beta)
        grad = x.T @ (y - mu) - precision * beta
        info = (x.T * mu) @ x + np.diag(precision)
        step = np.linalg.solve(info, grad)
        for _ in range(50):
            new = beta + step
            new_value = log_posterior(new, x, y, precision)
            if new_value >= value - 1e-12:
                break
            step /= 2
        converged = abs(new_value - value) < 1e-10 * (abs(value) + 1)
        beta, value = new, new_value
        if converged:
            break
    mu = np.exp(x @ beta)
    return beta, (x.T * mu) @ x + np.diag(precision)


def metropolis(
    x: np.ndarray,
    y: np.ndarray,
    precision: np.ndarray,
    start: np.ndarray,
    rng: np.random.Generator,
    burnin: int,
    draws: int,
    chains: int,
) -> np.ndarray:
    """`draws` states (all chains together) of random-walk Metropolis chains after `burnin` each.

    The proposal is normal with covariance (2.38^2 / p) times the inverse negative Hessian at the
    posterior mode (the usual optimal scaling). MCMCpack's default (tune 1.1 on every coordinate)
    accepts almost nothing once there are many parameters: with 8 lists and 28 interactions its chain
    stays where it starts (R's own default run of NewOrl does), so we do not copy it.
    """
    _, info = posterior_mode(x, y, precision, start)
    p = len(start)
    chol = np.linalg.cholesky(np.linalg.inv(info)) * (2.38 / np.sqrt(p))
    per_chain = -(-draws // chains)
    beta = np.repeat(start[None, :], chains, axis=0)

    def logpost(b: np.ndarray) -> np.ndarray:
        eta = b @ x.T
        return eta @ y - np.exp(eta).sum(axis=1) - 0.5 * np.sum(precision * b * b, axis=1)

    value = logpost(beta)
    out = np.empty((per_chain, chains, p))
    for i in range(burnin + per_chain):
        proposal = beta + rng.standard_normal((chains, p)) @ chol.T
        new_value = logpost(proposal)
        accept = np.log(rng.random(chains)) < new_value - value
        beta = np.where(accept[:, None], proposal, beta)
        value = np.where(accept, new_value, value)
        if i >= burnin:
            out[i - burnin] = beta
    return out.reshape(-1, p)[:draws]


def _fit(table: Table, y: np.ndarray, terms: list[int], prior_variance: float, rng, burnin, draws, chains):
    t = table.t
    x = np.column_stack([np.ones(len(y))] + [table.column(m) for m in [*table.mains, *terms]])
    precision = np.r_[np.full(1 + t, FLAT), np.full(len(terms), 1.0 / prior_variance)]
    nobs = y.sum()
    start = np.r_[np.log(5 * nobs), np.log(table.nstar(y, table.mains) / (5 * nobs)), np.zeros(len(terms))]
    return metropolis(x, y, precision, start, rng, burnin, draws, chains)


def estimate_bayes(
    lists,
    histories,
    counts,
    seed=None,
    burnin: int = 1000,
    draws: int = 40000,
    threshold: float = 2.0,
    prior_variance: float = 1.0,
    chains: int = 8,
) -> MSEResult:
    """Posterior median and quantiles of the population after thresholding the two-list interactions.

    The `details` hold each interaction's |posterior mean| / posterior sd (the thresholding statistic).
    """
    if threshold < 0 or prior_variance <= 0:
        raise MSEInputError("threshold must be non-negative and prior_variance positive")
    if int(draws) != draws or draws < 100 or int(burnin) != burnin or burnin < 0:
        raise MSEInputError(f"draws must be a whole number of at least 100 and burnin non-negative, got {draws}")
    lists, histories, counts, nobs, warnings = prepare(lists, histories, counts)
    table = Table(len(lists))
    y = table.cells_from_rows(histories, counts)
    rng = np.random.default_rng(seed)
    pairs = pair_terms(table.t)
    first = _fit(table, y, pairs, prior_variance, rng, burnin, draws, chains)
    inter = first[:, 1 + table.t :]
    ratios = np.abs(inter.mean(axis=0) / inter.std(axis=0, ddof=1))
    retained = [m for m, r in zip(pairs, ratios, strict=True) if r >= threshold]
    final = _fit(table, y, retained, prior_variance, rng, burnin, draws, chains)
    population = nobs + np.exp(final[:, 0])
    q = dict(zip(LEVELS, np.quantile(population, LEVELS).tolist(), strict=True))
    names = [*lists, *(term_name(m, lists) for m in retained)]
    means = final.mean(axis=0)
    return MSEResult(
        observed=nobs,
        estimate=q[0.50],
        model=names,
        coefficients={"(Intercept)": float(means[0]), **dict(zip(names, map(float, means[1:]), strict=True))},
        deviance=float("nan"),
        df=len(y) - final.shape[1],
        quantiles=q,
        intervals={"80%": (q[0.10], q[0.90]), "95%": (q[0.025], q[0.975])},
        warnings=warnings,
        method="bayes",
        details={
            "threshold_statistics": {term_name(m, lists): float(r) for m, r in zip(pairs, ratios, strict=True)},
            "threshold": threshold,
            "prior_variance": prior_variance,
            "draws": int(draws),
        },
    )
