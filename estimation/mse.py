"""Multiple systems estimation of a hidden population, following R's SparseMSE 2.0.1 stepwise method."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import pdtr, pdtrc

from estimation.bootstrap import (
    ALPHAS,
    METHODS,
    bca_quantiles,
    bootstrap_replicates,
    degeneracy_warnings,
    jackknife_acceleration,
    population_replicates,
)
from estimation.loglinear import Design, Fit, fit_model

FEW_CASES = 5
COMBINE_BELOW = 10  # the pipeline merges lists with fewer cases than this (combine_small_lists)
IERR = {
    1: "the maximum likelihood estimate does not exist (Fienberg-Rinaldo linear program)",
    2: "the model is not identifiable (design matrix rank-deficient)",
    3: "the maximum likelihood estimate does not exist and the model is not identifiable",
}


class MSEInputError(ValueError):
    """A capture-history table that cannot be estimated from; the message is one line."""


@dataclass
class MSEResult:
    observed: int
    estimate: float
    model: list[str]
    coefficients: dict[str, float]
    deviance: float
    df: int
    quantiles: dict[float, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    method: str = "stepwise"
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "observed": self.observed,
            "estimate": self.estimate,
            "model": list(self.model),
            "coefficients": dict(self.coefficients),
            "deviance": self.deviance,
            "df": self.df,
            "quantiles": {f"{q:g}": v for q, v in self.quantiles.items()},
            "intervals": {k: [lo, hi] for k, (lo, hi) in self.intervals.items()},
            "warnings": list(self.warnings),
            "details": dict(self.details),
        }


# ---------------------------------------------------------------- input


def read_capture_histories(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read a CSV with one 0/1 column per list and a `count` column; return names, histories, counts."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise MSEInputError(f"{path}: cannot read ({exc.strerror})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise MSEInputError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    if "count" not in header:
        raise MSEInputError(f"{path}: no `count` column (header: {', '.join(header)})")
    if len(set(header)) != len(header):
        raise MSEInputError(f"{path}: repeated column names in the header")
    ci = header.index("count")
    lists = [h for k, h in enumerate(header) if k != ci]
    hist, counts = [], []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise MSEInputError(f"{path}: line {n} has {len(row)} fields, the header has {len(header)}")
        bits = []
        for k, cell in enumerate(row):
            if k == ci:
                continue
            cell = cell.strip()
            if cell not in ("0", "1"):
                raise MSEInputError(f"{path}: line {n}: list column {header[k]} must be 0 or 1, not {cell!r}")
            bits.append(int(cell))
        raw = row[ci].strip()
        if not any(bits) and raw in ("", "NA", "0"):
            continue  # the unobserved all-zero history, left blank or zero by convention
        if raw in ("", "NA"):
            raise MSEInputError(f"{path}: line {n}: missing count")
        try:
            value = float(raw)
        except ValueError:
            raise MSEInputError(f"{path}: line {n}: count {raw!r} is not a number") from None
        if not math.isfinite(value) or value != int(value):
            raise MSEInputError(f"{path}: line {n}: count {raw!r} is not a whole number")
        if value < 0:
            raise MSEInputError(f"{path}: line {n}: negative count {raw}")
        hist.append(bits)
        counts.append(int(value))
    histories = np.array(hist, dtype=np.int8).reshape(len(hist), len(lists))
    counts_arr = np.array(counts, dtype=np.int64)
    _validate(lists, histories, counts_arr)
    return lists, histories, counts_arr


def _validate(lists, histories, counts) -> tuple[list[str], np.ndarray, np.ndarray]:
    lists = [str(x) for x in lists]
    histories = np.asarray(histories)
    counts = np.asarray(counts)
    if len(lists) < 2:
        raise MSEInputError(f"at least two lists are needed, got {len(lists)}")
    if len(set(lists)) != len(lists):
        raise MSEInputError("list names must be distinct")
    if any(":" in x for x in lists) or "(Intercept)" in lists:
        raise MSEInputError("list names may not contain ':' or be '(Intercept)'")
    if histories.ndim != 2 or histories.shape[1] != len(lists):
        raise MSEInputError(f"histories must be a matrix with one column per list ({len(lists)})")
    if counts.ndim != 1 or len(counts) != histories.shape[0]:
        raise MSEInputError("counts must be a vector with one entry per history row")
    if len(lists) > 16:
        raise MSEInputError(f"{len(lists)} lists is more than this implementation supports (16)")
    if not np.all(np.isin(histories, (0, 1))):
        raise MSEInputError("list columns must hold only 0 and 1")
    c = counts.astype(float)
    if np.any(np.isnan(c)):
        raise MSEInputError("missing count")
    if np.any(c != np.round(c)) or not np.all(np.isfinite(c)):
        raise MSEInputError("counts must be whole numbers")
    if np.any(c < 0):
        raise MSEInputError("counts must not be negative")
    histories = histories.astype(np.int8)
    counts = c.astype(np.int64)
    zero = histories.sum(1) == 0
    if np.any(zero & (counts > 0)):
        raise MSEInputError("the all-zero capture history is unobservable and cannot have a count")
    histories, counts = histories[~zero], counts[~zero]
    codes = histories.astype(np.int64) @ (1 << np.arange(len(lists), dtype=np.int64))
    if len(np.unique(codes)) != len(codes):
        raise MSEInputError("duplicate capture histories: each combination of lists must appear once")
    if counts.sum() == 0:
        raise MSEInputError("no cases: every count is zero")
    return lists, histories, counts


def combine_small_lists(
    lists: list[str], histories: np.ndarray, counts: np.ndarray, minimum: int = COMBINE_BELOW
) -> tuple[list[str], np.ndarray, np.ndarray, str | None]:
    """Merge lists with fewer than `minimum` cases into one list (a person on any of them is on it).

    A lone small list is merged with the next smallest. Returns the new table and a note saying what
    was merged (None when nothing was).
    """
    totals = histories.T.astype(np.int64) @ counts
    order = [int(i) for i in np.argsort(totals, kind="stable")]
    small = [i for i in order if totals[i] < minimum]
    if len(small) == 1 and len(lists) > 2:
        small.append(next(i for i in order if i not in small))
    if len(small) < 2 or len(lists) - len(small) + 1 < 2:
        return list(lists), histories, counts, None
    rest = [i for i in range(len(lists)) if i not in small]
    merged = np.column_stack([histories[:, rest], histories[:, small].max(axis=1)])
    table, inverse = np.unique(merged, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=counts, minlength=len(table)).astype(np.int64)
    names = [lists[i] for i in small]
    label = " | ".join(names)
    note = f"lists with fewer than {minimum} cases combined into one list: {label}"
    return [lists[i] for i in rest] + [label], table, summed, note


def prepare(lists, histories, counts) -> tuple[list[str], np.ndarray, np.ndarray, int, list[str]]:
    """Checks every method shares: drop empty lists (warned), refuse tables no method can estimate from.

    Returns the lists, histories and counts to estimate from, the number observed and the warnings.
    """
    lists, histories, counts = _validate(lists, histories, counts)
    warnings: list[str] = []
    totals = histories.T.astype(np.int64) @ counts
    nobs = int(counts.sum())
    empty = [name for name, t in zip(lists, totals, strict=True) if t == 0]
    if empty:
        warnings.append(f"list(s) {', '.join(empty)} have no cases and were left out of the model")
        keep_lists = totals > 0
        lists = [x for x, k in zip(lists, keep_lists, strict=True) if k]
        histories = histories[:, keep_lists]
    if len(lists) < 2:
        raise MSEInputError(f"every case is on one list ({lists[0]}): at least two lists with cases are needed")
    full = [name for name, t in zip(lists, histories.T @ counts, strict=True) if t == nobs]
    if full:
        raise MSEInputError(f"list {full[0]} holds every observed case, so nobody is known to be missed by it")
    if not np.any((histories.sum(1) > 1) & (counts > 0)):
        raise MSEInputError("no case is on more than one list: without overlaps the population cannot be estimated")
    few = [f"{n} ({int(t)})" for n, t in zip(lists, histories.T @ counts, strict=True) if t < FEW_CASES]
    if few:
        warnings.append(
            f"list(s) with fewer than {FEW_CASES} cases: {', '.join(few)}; their effects are poorly determined"
        )
    return lists, histories, counts, nobs, warnings


# ---------------------------------------------------------------- model selection


def stepwise(design: Design, y: np.ndarray, threshold: float, start: np.ndarray | None = None) -> Fit:
    """SparseMSE's stepwisefit: add the two-list term with the smallest Poisson p-value below threshold.

    The p-value of a candidate i:j is min(P(X <= n_ij), P(X >= n_ij)) for X Poisson with the current
    model's fitted total of the cells on both lists; a candidate whose model fails checkident (MLE not
    existing or not identifiable) is skipped. Only candidates below the threshold are checked, in
    order of p-value (ties to the earlier pair), which selects exactly what SparseMSE selects.
    """
    if threshold >= 1 and design.checkident(tuple(range(len(design.pairs))), y) == 0:
        return fit_model(design, y, tuple(range(len(design.pairs))))
    fit = fit_model(design, y, (), start)
    if threshold <= 0:
        return fit
    nstar = design.pair_cols.T @ y
    included = np.zeros(len(design.pairs), dtype=bool)
    while not included.all():
        lam = design.pair_cols[fit.keep].T @ fit.mu
        pval = np.minimum(pdtr(nstar, lam), np.where(nstar > 0, pdtrc(np.maximum(nstar - 1, 0), lam), 1.0))
        pval[included] = np.inf
        order = np.argsort(pval, kind="stable")
        chosen = None
        for j in order:
            if not pval[j] < threshold:
                break
            if design.checkident((*fit.pairs, int(j)), y) == 0:
                chosen = int(j)
                break
        if chosen is None:
            return fit
        included[chosen] = True
        fit = fit_model(design, y, (*fit.pairs, chosen), fit.beta)
    return fit


# ---------------------------------------------------------------- estimation


def estimate(
    lists, histories, counts, nboot: int = 1000, seed=None, threshold: float = 0.02, method: str = "conditional"
) -> MSEResult:
    """Population estimate, selected model and BCa bootstrap quantiles, as SparseMSE's estimatepopulation.

    `method` chooses the bootstrap (estimation/bootstrap.py): "conditional" is SparseMSE's and matches
    its published results; "population" also lets the number observed vary, and covers better.
    """
    if method not in METHODS:
        raise MSEInputError(f"bootstrap method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 <= threshold <= 1:
        raise MSEInputError(f"threshold must be between 0 and 1, got {threshold}")
    if int(nboot) != nboot or nboot < 0:
        raise MSEInputError(f"nboot must be a non-negative whole number, got {nboot}")
    lists, histories, counts, nobs, warnings = prepare(lists, histories, counts)
    design = Design(len(lists))
    cell_of_row = np.array([design.index[tuple(r)] for r in histories.tolist()], dtype=np.int64)

    def cells(c: np.ndarray) -> np.ndarray:
        return np.bincount(cell_of_row, weights=c, minlength=design.ncells).astype(float)

    y = cells(counts)
    ierr = design.checkident((), y)
    if ierr:
        raise MSEInputError(f"main-effects model: {IERR[ierr]}")
    fit = stepwise(design, y, threshold)
    point = nobs + fit.dark
    if not fit.converged:
        warnings.append(f"the model fit did not converge in {fit.iterations} iterations")
    names = [f"{lists[i]}:{lists[j]}" for i, j in design.pairs]
    coefficients = {"(Intercept)": float(fit.beta[0])}
    coefficients.update({name: float(b) for name, b in zip(lists, fit.beta[1 : 1 + len(lists)], strict=True)})
    extra = iter(fit.beta[1 + len(lists) :])
    for p in fit.pairs:
        coefficients[names[p]] = float("-inf") if p in fit.empty else float(next(extra))
    for p in fit.empty:
        warnings.append(
            f"lists {names[p].replace(':', ' and ')} share no case: the {names[p]} interaction is fitted at "
            "minus infinity (histories on both lists are left out of the fit)"
        )
    df = int(fit.keep.sum()) - len(fit.beta)
    result = MSEResult(
        observed=nobs,
        estimate=float(point),
        model=list(lists) + [names[p] for p in fit.pairs],
        coefficients=coefficients,
        deviance=float(fit.deviance),
        df=df,
        warnings=warnings,
    )
    if nboot == 0:
        return result

    main_beta = fit_model(design, y, ()).beta
    failed = [0]

    def estimate_of_cells(y_cells: np.ndarray) -> float:
        f = stepwise(design, y_cells, threshold, main_beta)
        if not f.converged:
            failed[0] += 1
        return float(y_cells.sum() + f.dark)

    def estimate_of(c: np.ndarray) -> float:
        return estimate_of_cells(cells(c))

    rng = np.random.default_rng(seed)
    if method == "population":
        fitted = np.zeros(design.ncells)
        fitted[fit.keep] = fit.mu
        boot = population_replicates(fitted, fit.dark, int(nboot), rng, estimate_of_cells)
    else:
        boot = bootstrap_replicates(counts, int(nboot), rng, estimate_of)
    ahat = jackknife_acceleration(counts, estimate_of)
    quantiles, z0 = bca_quantiles(boot, point, ahat)
    result.quantiles = quantiles
    result.intervals = {"80%": (quantiles[0.10], quantiles[0.90]), "95%": (quantiles[0.025], quantiles[0.975])}
    if failed[0]:
        warnings.append(f"{failed[0]} bootstrap or jackknife fits did not converge")
    bad = ~np.isfinite(boot)
    if bad.any():
        warnings.append(f"{int(bad.sum())} of {nboot} bootstrap estimates are infinite")
    warnings.extend(degeneracy_warnings(quantiles, point, z0, boot))
    return result


__all__ = ["ALPHAS", "MSEInputError", "MSEResult", "combine_small_lists", "estimate", "read_capture_histories"]
