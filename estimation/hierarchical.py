"""Hierarchical Poisson log-linear models of any interaction order, fitted to many count vectors at once.

The building block of BIC model selection (estimation/bic.py) and of Bayesian thresholding
(estimation/bayes.py), following MultipleSystemsEstimation (Silverman, Chan and Vincent 2024).
A cell (capture history) and an interaction term are both bit masks over the lists: bit i set means
list i. Cell c has code c (1 .. 2^t - 1; 0, the unobserved history, is never a cell), stored at
index c - 1. A model is a sorted tuple of interaction terms (masks with two or more bits), closed
downwards: every sub-interaction of order two or more of a term is itself a term.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import gammaln

from estimation.loglinear import EPSILON, _dual_exists

# R's glm.fit stops after 25 iterations; a fit still moving after 30 is a model whose MLE does not exist
# (parameters drifting to minus infinity), which Table.usable rejects before it can be chosen.
MAXIT = 30


def bits(mask: int) -> list[int]:
    """The lists (0-based) of a cell or term."""
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def term_name(mask: int, lists: list[str]) -> str:
    return ":".join(lists[i] for i in bits(mask))


def hierarchical_models(t: int, maxorder: int) -> list[tuple[int, ...]]:
    """Every hierarchical model of `t` lists with all main effects and interactions up to `maxorder`.

    Built order by order: a term of order k may join only when all its sub-terms of order k - 1 are in.
    For 5 lists and order 3 that is 7,580 models; for 6 lists and order 2, 32,768.
    """
    models: list[tuple[int, ...]] = [()]
    for order in range(2, min(maxorder, t) + 1):
        grown = []
        for model in models:
            have = set(model)
            eligible = [
                sum(1 << i for i in combo)
                for combo in combinations(range(t), order)
                if order == 2 or all(sum(1 << i for i in sub) in have for sub in combinations(combo, order - 1))
            ]
            if order > 2 and not any(bin(m).count("1") == order - 1 for m in model):
                grown.append(model)
                continue
            for k in range(len(eligible) + 1):
                for chosen in combinations(eligible, k):
                    grown.append(tuple(sorted((*model, *chosen))))
        models = grown
    return models


def model_label(model: tuple[int, ...], lists: list[str]) -> str:
    """The generating class, e.g. `[A:E, B, C, D]`: the maximal terms, then the lists in none of them."""
    t = len(lists)
    maximal = [m for m in model if not any(o != m and o & m == m for o in model)]
    maximal.sort(key=lambda m: (-bin(m).count("1"), bits(m)))
    covered = 0
    for m in maximal:
        covered |= m
    rest = [1 << i for i in range(t) if not covered >> i & 1]
    return "[" + ", ".join(term_name(m, lists) for m in [*maximal, *rest]) + "]"


class Table:
    """The cells of `t` lists and their incidence on every term up to `maxorder` (the master design).

    Columns of `x` are the intercept, the main effects, then every interaction term in `terms` order.
    A model is given as a boolean mask over `terms` (main effects always set).
    """

    def __init__(self, t: int, maxorder: int = 2):
        self.t = t
        self.codes = np.arange(1, 2**t)
        self.mains = [1 << i for i in range(t)]
        inter = [sum(1 << i for i in c) for k in range(2, maxorder + 1) for c in combinations(range(t), k)]
        self.terms = [*self.mains, *inter]
        self.position = {m: k for k, m in enumerate(self.terms)}
        self.incidence = (self.codes[:, None] & np.array(self.terms)[None, :]) == np.array(self.terms)[None, :]
        self.x = np.column_stack([np.ones(len(self.codes)), self.incidence.astype(float)])
        self._usable: dict = {}

    def column(self, term: int) -> np.ndarray:
        return ((self.codes & term) == term).astype(float)

    def mask(self, model: tuple[int, ...]) -> np.ndarray:
        out = np.zeros(len(self.terms), dtype=bool)
        out[: self.t] = True
        out[[self.position[m] for m in model]] = True
        return out

    def cells_from_rows(self, histories: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Counts of all 2^t - 1 cells from rows of 0/1 histories (list i is bit i)."""
        codes = np.asarray(histories, dtype=np.int64) @ (1 << np.arange(self.t, dtype=np.int64))
        return np.bincount(codes - 1, weights=counts, minlength=len(self.codes)).astype(float)

    def nstar(self, y: np.ndarray, terms) -> np.ndarray:
        """Cases on every list of each term (the term's sufficient statistic); y may be (..., cells)."""
        return np.stack([y @ self.column(m) for m in terms], axis=-1)

    def structure(self, masks: np.ndarray, ys: np.ndarray):
        """(kept cells, fitted columns, number of parameters) of each model mask for each count vector.

        A term (main effect or interaction) whose lists share no case has its MLE at minus infinity:
        like MultipleSystemsEstimation's fit_hier_model, it gets no column and every cell containing it
        is left out; it still counts as a parameter in the BIC penalty.
        """
        sparse = masks & (ys @ self.incidence == 0)
        keep = ~(self.incidence[None, :, :] & sparse[:, None, :]).any(axis=2)
        cols = np.column_stack([np.ones(len(masks), dtype=bool), masks & ~sparse])
        return keep, cols, 1 + masks.sum(axis=1)

    def usable(self, model: tuple[int, ...], y: np.ndarray) -> bool:
        """Does the (extended) MLE exist and is the model identifiable? (MultipleSystemsEstimation's
        .check_extended_MLE returning 0). Cached on the model and the pattern of positive cells."""
        key = (model, np.packbits(y > 0).tobytes())
        hit = self._usable.get(key)
        if hit is None:
            keep, cols, _ = self.structure(self.mask(model)[None, :], y[None, :])
            x = self.x[keep[0]][:, cols[0]]
            pos = y[keep[0]] > 0
            full_rank = np.linalg.matrix_rank(x) == x.shape[1]
            hit = self._usable[key] = bool(full_rank and _dual_exists(x[pos], x[~pos]))
        return hit

    def fit(self, masks: np.ndarray, ys: np.ndarray, chunk: int = 4000) -> BatchFit:
        """Fit model masks[b] to counts ys[b] for every b (both broadcast to one batch), in chunks."""
        masks, ys = np.atleast_2d(masks), np.atleast_2d(ys)
        size = max(len(masks), len(ys))
        masks = np.broadcast_to(masks, (size, masks.shape[1]))
        ys = np.broadcast_to(ys, (size, ys.shape[1]))
        parts = []
        for lo in range(0, len(masks), chunk):
            keep, cols, npars = self.structure(masks[lo : lo + chunk], ys[lo : lo + chunk])
            parts.append(irls_batch(self.x, ys[lo : lo + chunk], keep, cols, npars))
        return BatchFit(*(np.concatenate([getattr(p, f) for p in parts]) for f in BatchFit.__dataclass_fields__))


@dataclass
class BatchFit:
    """Fits of many (model, counts) pairs: coefficients (0 for columns not fitted), BIC, abundance."""

    beta: np.ndarray
    bic: np.ndarray
    abundance: np.ndarray
    converged: np.ndarray


def _solve(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve every system lhs[b] @ beta = rhs[b]; where one is singular (a model that is not identifiable on the
    cells it keeps: `usable` rules it out afterwards) all are solved by least squares, one by one."""
    try:
        return np.linalg.solve(lhs, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([_solve_one(a, b) for a, b in zip(lhs, rhs, strict=True)])


def _solve_one(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """One system by least squares; a fit that diverged (not finite) gets NaN, so its BIC is never chosen."""
    if not (np.isfinite(lhs).all() and np.isfinite(rhs).all()):
        return np.full(len(rhs), np.nan)
    return np.linalg.lstsq(lhs, rhs, rcond=None)[0]


def irls_batch(x: np.ndarray, y: np.ndarray, keep: np.ndarray, cols: np.ndarray, npars: np.ndarray) -> BatchFit:
    """Poisson log-linear fits, one per row of `y`, on the cells `keep` and the columns `cols` of `x`.

    R's glm.fit, vectorised: start at mu = y + 0.1, weighted least squares steps, stop when the relative
    deviance change is below 1e-8. Columns not fitted get a unit ridge so they stay at zero. BIC as
    MultipleSystemsEstimation's fit_hier_model: npars log(n) - 2 log L, n the number of cases, log L
    the Poisson log likelihood (with log y!) over the kept cells.
    """
    y = np.where(keep, y, 0.0)
    w_keep = keep.astype(float)
    colf = cols.astype(float)
    p = x.shape[1]
    fixed = np.eye(p)[None, :, :] * (1.0 - colf)[:, :, None]
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)
    mu = y + 0.1
    eta = np.log(mu)
    beta = np.zeros((len(y), x.shape[1]))
    dev_old = np.full(len(y), np.inf)
    done = np.zeros(len(y), dtype=bool)
    active = np.arange(len(y))  # rows still iterating: only these are computed
    for _ in range(MAXIT):
        ya, ma, wk, cf = y[active], mu[active], w_keep[active], colf[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = eta[active] + (ya - ma) / ma
        w = ma * wk
        # X'WX for every row at once as one matrix product with the cells' outer products x_c x_c'
        lhs = (w @ outer).reshape(len(active), p, p) * (cf[:, :, None] * cf[:, None, :]) + fixed[active]
        rhs = ((w * z) @ x) * cf
        new = _solve(lhs, rhs)
        beta[active] = new
        eta[active] = new @ x.T
        mu[active] = np.exp(np.minimum(eta[active], 700.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = 2.0 * np.sum(wk * (np.where(ya > 0, ya * np.log(ya / mu[active]), 0.0) - (ya - mu[active])), axis=1)
        finished = np.isfinite(dev_old[active]) & (np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1) < EPSILON)
        dev_old[active] = dev
        done[active[finished]] = True
        active = active[~finished]
        if not len(active):
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        loglik = np.sum(w_keep * (np.where(y > 0, y * np.log(mu), 0.0) - mu - gammaln(y + 1)), axis=1)
    n = y.sum(axis=1)
    bic = npars * np.log(n) - 2.0 * loglik
    abundance = n + np.exp(beta[:, 0])
    bad = ~np.isfinite(bic) | ~np.isfinite(abundance)
    bic[bad], abundance[bad] = np.inf, np.nan
    return BatchFit(beta, bic, abundance, done)
