"""Bayesian thresholding of two-list interactions (Silverman 2020; Silverman, Chan and Vincent 2024).

Follows `estimate_population_bayesthresh` of MultipleSystemsEstimation 1.2.0 with its defaults (proper
normal prior of variance 1 on interactions, flat priors on intercept and main effects, threshold 2,
two-list interactions only). First every two-list interaction is fitted; those whose posterior mean is
less than `threshold` posterior standard deviations from zero are dropped; the model with the retained
ones is fitted again, and the posterior of the population is the number observed plus the posterior of
the unobserved cell. The estimate is the posterior median; the intervals are posterior quantiles.

The posterior is the one MCMCpack's MCMCpoisson (which the R package calls) samples, but we sample it
by an independence Metropolis-Hastings chain with t proposals around the posterior mode (see
independence_sampler) and take 40,000 draws rather than 10,000: the thresholding statistic and the
posterior median move by several per cent between R runs with different seeds.
"""

from __future__ import annotations

import numpy as np

from estimation.hierarchical import Table, term_name
from estimation.mse import MSEInputError, MSEResult, prepare

FLAT = 1e-4  # the package's stand-in for a flat prior: precision 1e-4 on intercept and main effects
LEVELS = (0.025, 0.10, 0.50, 0.90, 0.975)
DOF = 5  # degrees of freedom of the t proposals: heavier tails than the posterior's


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


def independence_sampler(
    x: np.ndarray,
    y: np.ndarray,
    precision: np.ndarray,
    start: np.ndarray,
    rng: np.random.Generator,
    burnin: int,
    draws: int,
) -> np.ndarray:
    """`draws` states of an independence Metropolis-Hastings chain after `burnin`.

    Proposals are multivariate t (5 degrees of freedom) centred at the posterior mode, shaped by the
    inverse negative Hessian there, so the whole batch of proposals and their densities is computed at
    once and only the accept/reject pass is sequential. The target is the posterior MCMCpack's
    random-walk sampler targets; the chain mixes far faster (MCMCpack's default random walk accepts
    almost nothing once there are many parameters: R's own default run of the 8-list NewOrl table
    never leaves its starting point).
    """
    mode, info = posterior_mode(x, y, precision, start)
    p = len(mode)
    chol = np.linalg.cholesky(np.linalg.inv(info))
    total = burnin + draws
    z = rng.standard_normal((total, p))
    scale = np.sqrt(rng.chisquare(DOF, total) / DOF)
    proposals = mode + (z / scale[:, None]) @ chol.T
    # log density of the t proposal up to a constant, from the Mahalanobis distance to the mode
    log_q = -0.5 * (DOF + p) * np.log1p(np.sum((z / scale[:, None]) ** 2, axis=1) / DOF)
    eta = proposals @ x.T
    log_pi = eta @ y - np.exp(np.minimum(eta, 700.0)).sum(axis=1) - 0.5 * np.sum(precision * proposals**2, axis=1)
    weight = log_pi - log_q
    log_u = np.log(rng.random(total))
    current = 0  # the first proposal is taken as the state after the start, as any first accepted move
    keep = np.empty(total, dtype=np.int64)
    for i in range(total):
        if log_u[i] < weight[i] - weight[current]:
            current = i
        keep[i] = current
    return proposals[keep[burnin:]]


def _fit(table: Table, y: np.ndarray, terms: list[int], prior_variance: float, rng, burnin, draws):
    t = table.t
    x = np.column_stack([np.ones(len(y))] + [table.column(m) for m in [*table.mains, *terms]])
    precision = np.r_[np.full(1 + t, FLAT), np.full(len(terms), 1.0 / prior_variance)]
    nobs = y.sum()
    start = np.r_[np.log(5 * nobs), np.log(table.nstar(y, table.mains) / (5 * nobs)), np.zeros(len(terms))]
    return independence_sampler(x, y, precision, start, rng, burnin, draws)


def estimate_bayes(
    lists,
    histories,
    counts,
    seed=None,
    burnin: int = 1000,
    draws: int = 40000,
    threshold: float = 2.0,
    prior_variance: float = 1.0,
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
    first = _fit(table, y, pairs, prior_variance, rng, burnin, draws)
    inter = first[:, 1 + table.t :]
    ratios = np.abs(inter.mean(axis=0) / inter.std(axis=0, ddof=1))
    retained = [m for m, r in zip(pairs, ratios, strict=True) if r >= threshold]
    final = _fit(table, y, retained, prior_variance, rng, burnin, draws)
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
