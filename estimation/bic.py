"""BIC model selection over hierarchical models, with a bootstrap that repeats the selection.

Follows `estimate_population_bic` of the R package MultipleSystemsEstimation 1.2.0 (Silverman, Chan
and Vincent 2024, "Bootstrapping multiple systems estimates to account for model selection",
Statistics and Computing 34:44). Every hierarchical model up to `maxorder` is fitted; the estimate is
that of the model with the smallest BIC among those whose MLE exists and is identifiable. The bootstrap
keeps the `ntop` best models of the original data and, in every replicate, takes the estimate of the
best of them by that replicate's BIC, so the interval carries the uncertainty of which model is chosen.
"""

from __future__ import annotations

import numpy as np

from estimation.bootstrap import (
    acceleration,
    bca_quantiles,
    degeneracy_warnings,
    multinomial_draws,
    population_draws,
)
from estimation.hierarchical import Table, hierarchical_models, model_label, term_name
from estimation.mse import MSEInputError, MSEResult, prepare

# The package's defaults by number of lists: highest interaction order, and models kept for the bootstrap.
MAXORDER = {2: 1, 3: 2, 4: 3, 5: 3, 6: 2}
NTOP = {2: None, 3: None, 4: 20, 5: 100, 6: 100}
MAX_LISTS = 6
BOOTSTRAPS = ("conditional", "population")


def rank_models(table: Table, y: np.ndarray, models: list[tuple[int, ...]], wanted: int) -> list[tuple]:
    """(BIC, estimate, model, coefficients) of the `wanted` best usable models, best BIC first.

    All models are fitted in one batch; usability (MLE exists, identifiable) is checked in BIC order
    until `wanted` usable models are found. Ties keep the catalogue order, as R's order() does.
    """
    fit = table.fit(np.array([table.mask(m) for m in models]), y[None, :])
    ranked: list[tuple] = []
    for k in np.argsort(fit.bic, kind="stable"):
        if len(ranked) == wanted or not np.isfinite(fit.bic[k]):
            break
        if table.usable(models[k], y):
            ranked.append((float(fit.bic[k]), float(fit.abundance[k]), models[k], fit.beta[k]))
    return ranked


def select(table: Table, models: list[tuple[int, ...]], ys: np.ndarray) -> np.ndarray:
    """For each row of `ys`, the estimate of the usable model among `models` with the smallest BIC.

    Every model is fitted to every row in one batch; usability is checked only for the candidates a
    row would choose, best first, and is cached on the model and the pattern of zero cells.
    """
    masks = np.array([table.mask(m) for m in models])
    fit = table.fit(np.repeat(masks, len(ys), axis=0), np.tile(ys, (len(models), 1)))
    bic = fit.bic.reshape(len(models), len(ys))
    abundance = fit.abundance.reshape(len(models), len(ys))
    out = np.full(len(ys), np.nan)
    for r in range(len(ys)):
        for k in np.argsort(bic[:, r], kind="stable"):
            if not np.isfinite(bic[k, r]):
                break
            if table.usable(models[k], ys[r]):
                out[r] = abundance[k, r]
                break
    return out


def estimate_bic(
    lists,
    histories,
    counts,
    nboot: int = 0,
    seed=None,
    maxorder: int | None = None,
    ntop: int | None = None,
    bootstrap: str = "conditional",
) -> MSEResult:
    """Population estimate of the best-BIC hierarchical model, and BCa quantiles from `nboot` replicates.

    `bootstrap="conditional"` resamples the observed cases (the package's); "population" draws whole
    populations from the selected model (estimation/bootstrap.py). The `details` hold the BIC of the
    chosen model and the ten best models with their BIC and estimate.
    """
    if bootstrap not in BOOTSTRAPS:
        raise MSEInputError(f"bootstrap must be one of {', '.join(BOOTSTRAPS)}, got {bootstrap!r}")
    if int(nboot) != nboot or nboot < 0:
        raise MSEInputError(f"nboot must be a non-negative whole number, got {nboot}")
    lists, histories, counts, nobs, warnings = prepare(lists, histories, counts)
    t = len(lists)
    if t > MAX_LISTS:
        raise MSEInputError(
            f"BIC selection fits every hierarchical model and is offered for at most {MAX_LISTS} lists, not {t}; "
            "combine lists or use the stepwise method"
        )
    maxorder = MAXORDER[t] if maxorder is None else int(maxorder)
    if not 1 <= maxorder < t or (t == MAX_LISTS and maxorder > 2):
        raise MSEInputError(f"maxorder must be between 1 and {min(t - 1, 2 if t == MAX_LISTS else t)}, got {maxorder}")
    table = Table(t, maxorder)
    y = table.cells_from_rows(histories, counts)
    top = ntop if ntop is not None else NTOP[t]
    ranked = rank_models(table, y, hierarchical_models(t, maxorder), max(top or 10**9, 10) if nboot else 10)
    if not ranked:
        raise MSEInputError("no hierarchical model has a maximum likelihood estimate on this table")
    best_bic, point, best, beta = ranked[0]
    keep, cols, _ = table.structure(table.mask(best)[None, :], y[None, :])
    coefficients = {"(Intercept)": float(beta[0])}
    names = [*lists, *(term_name(m, lists) for m in best)]
    for m, name in zip([*table.mains, *best], names, strict=True):
        k = 1 + table.position[m]
        coefficients[name] = float(beta[k]) if cols[0, k] else float("-inf")
        if not cols[0, k]:
            warnings.append(f"the {name} interaction has no case and is fitted at minus infinity")
    result = MSEResult(
        observed=nobs,
        estimate=point,
        model=names,
        coefficients=coefficients,
        deviance=float("nan"),
        df=int(keep.sum()) - int(cols.sum()),
        warnings=warnings,
        method="bic",
        details={
            "bic": best_bic,
            "hierarchy": model_label(best, lists),
            "maxorder": maxorder,
            "best_models": [{"model": model_label(m, lists), "bic": b, "estimate": a} for b, a, m, _ in ranked[:10]],
        },
    )
    if nboot == 0:
        return result
    models = [m for _, _, m, _ in ranked]
    result.details["models_in_bootstrap"] = len(models)
    rng = np.random.default_rng(seed)
    if bootstrap == "population":
        fitted = np.where(keep[0], np.exp(table.x @ beta), 0.0)
        draws = population_draws(fitted, float(np.exp(beta[0])), int(nboot), rng)
    else:
        draws = multinomial_draws(y, int(nboot), rng).astype(float)
    boot = select(table, models, draws)
    positive = np.flatnonzero(y > 0)
    deleted = np.repeat(y[None, :], len(positive), axis=0)
    deleted[np.arange(len(positive)), positive] -= 1
    jack = np.zeros(len(y))
    jack[positive] = select(table, models, deleted)
    usable = np.isfinite(boot)
    if not usable.all():
        warnings.append(f"{int((~usable).sum())} of {nboot} bootstrap replicates had no usable model")
    if not np.all(np.isfinite(jack[positive])):
        warnings.append("a jackknife table had no usable model: no interval")
        return result
    ahat = acceleration(jack, y)
    quantiles, z0 = bca_quantiles(boot[usable], point, ahat)
    result.quantiles = quantiles
    result.intervals = {"80%": (quantiles[0.10], quantiles[0.90]), "95%": (quantiles[0.025], quantiles[0.975])}
    warnings.extend(degeneracy_warnings(quantiles, point, z0, boot[usable]))
    return result
