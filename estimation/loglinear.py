"""Poisson log-linear capture-history models: design, IRLS fit, and the existence/identifiability check."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog

# R's glm.control() defaults, which SparseMSE relies on (epsilon = 1e-8, maxit = 25); we allow more
# iterations so that parameters drifting to minus infinity settle as R's would.
EPSILON = 1e-8
MAXIT = 100
LP_TOL = 1e-7


class Design:
    """Every observable capture history of `t` lists (the all-zero history excluded) and its columns.

    Cells are ordered by number of lists, then lexicographically, as SparseMSE's `tidylists` does.
    Pairs are ordered (1,2), (1,3), ..., (t-1,t), as SparseMSE's `stepwisefit` loops over them.
    """

    def __init__(self, t: int):
        self.t = t
        codes = np.arange(1, 2**t)
        bits = ((codes[:, None] >> np.arange(t)[::-1]) & 1).astype(np.int8)
        order = np.lexsort((-codes, bits.sum(1)))
        self.histories = bits[order]
        self.pairs = list(combinations(range(t), 2))
        h = self.histories.astype(float)
        self.pair_cols = (
            np.stack([h[:, i] * h[:, j] for i, j in self.pairs], axis=1) if t > 1 else np.zeros((len(h), 0))
        )
        self.main = np.hstack([np.ones((len(h), 1)), h])
        self.index = {tuple(row): k for k, row in enumerate(self.histories.tolist())}
        self._rank_cache: dict = {}
        self._lp_cache: dict = {}

    @property
    def ncells(self) -> int:
        return len(self.histories)

    def cell_counts(self, histories: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Counts of all 2^t - 1 cells from rows (histories not given have count zero)."""
        y = np.zeros(self.ncells)
        for row, c in zip(histories.tolist(), counts.tolist(), strict=True):
            y[self.index[tuple(row)]] += c
        return y

    def structure(self, pairs: tuple[int, ...], overlaps: np.ndarray):
        """(kept-cell mask, design columns) of a model: SparseMSE's buildmodelmatrix.

        A pair in the model whose lists share no case is fitted at minus infinity: it gets no column,
        and every cell containing both of its lists is removed from the data.
        """
        keep = np.ones(self.ncells, dtype=bool)
        cols = []
        for p in pairs:
            if overlaps[p] > 0:
                cols.append(p)
            else:
                keep &= self.pair_cols[:, p] == 0
        x = np.hstack([self.main, self.pair_cols[:, cols]])[keep]
        return keep, x, cols

    def rank_deficiency(self, pairs: tuple[int, ...], overlaps: np.ndarray) -> int:
        key = (pairs, tuple(bool(overlaps[p] > 0) for p in pairs))
        if key not in self._rank_cache:
            _, x, _ = self.structure(pairs, overlaps)
            self._rank_cache[key] = x.shape[1] - int(np.linalg.matrix_rank(x))
        return self._rank_cache[key]

    def lp_exists(self, pairs: tuple[int, ...], y: np.ndarray) -> bool:
        """Does the (extended) MLE of the model exist for counts `y`? (SparseMSE's checkident, ierr 1)

        SparseMSE solves the Fienberg-Rinaldo linear program (`primal_lp_exists` below). We solve its
        dual form (Haberman 1974), which is much smaller: the MLE fails to exist iff some direction d
        of the parameters gives X d <= 0 on every cell, = 0 on every cell with a positive count, and
        < 0 somewhere. With d = N u, N a basis of the null space of the positive-count rows, this is an
        LP in u with few variables; when that null space is {0} the MLE exists without any LP.
        The answer depends only on the model and on which cells are positive, so it is cached.
        """
        overlaps = self.pair_cols.T @ y
        keep, x, _ = self.structure(pairs, overlaps)
        support = y[keep] > 0
        key = (pairs, np.packbits(keep).tobytes(), np.packbits(support).tobytes())
        hit = self._lp_cache.get(key)
        if hit is None:
            hit = self._lp_cache[key] = _dual_exists(x[support], x[~support])
        return hit

    def primal_lp_exists(self, pairs: tuple[int, ...], y: np.ndarray) -> bool:
        """SparseMSE's own linear program: maximise s with X'x = X'y, x >= s, x >= 0; exists iff s > 0."""
        overlaps = self.pair_cols.T @ y
        keep, x, _ = self.structure(pairs, overlaps)
        yk = y[keep]
        n, p = x.shape
        tvec = x.T @ yk
        res = linprog(
            np.r_[np.zeros(n), -1.0],
            A_ub=np.hstack([-np.eye(n), np.ones((n, 1))]),
            b_ub=np.zeros(n),
            A_eq=np.hstack([x.T, np.zeros((p, 1))]),
            b_eq=tvec / max(tvec[0], 1.0),
            bounds=[(0, None)] * n + [(0, 1)],
            method="highs",
        )
        return bool(res.status == 0 and -res.fun > LP_TOL)

    def checkident(self, pairs: tuple[int, ...], y: np.ndarray) -> int:
        """SparseMSE's error code: 0 fine, 1 MLE does not exist, 2 not identifiable, 3 both."""
        overlaps = self.pair_cols.T @ y
        return (0 if self.lp_exists(pairs, y) else 1) + (2 if self.rank_deficiency(pairs, overlaps) > 0 else 0)


def _dual_exists(x_pos: np.ndarray, x_zero: np.ndarray) -> bool:
    """True unless a direction d has X_pos d = 0, X_zero d <= 0 and X_zero d != 0 (see lp_exists)."""
    if len(x_zero) == 0:
        return True
    basis = null_space(x_pos, rcond=1e-10) if len(x_pos) else np.eye(x_zero.shape[1])
    k = basis.shape[1]
    if k == 0:
        return True
    v = x_zero @ basis
    v[np.abs(v) < 1e-9] = 0.0
    if not v.any():
        return True  # only directions that change no fitted value: a rank question, not existence
    if k == 1:
        col = v[:, 0]
        return not (np.all(col <= 0) or np.all(col >= 0))
    # maximise -sum(v u) subject to -1 <= v u <= 0; a positive optimum (>= 1 by scaling) means no MLE
    res = linprog(
        v.sum(axis=0),
        A_ub=np.vstack([v, -v]),
        b_ub=np.r_[np.zeros(len(v)), np.ones(len(v))],
        bounds=[(None, None)] * k,
        method="highs",
    )
    return not (res.status == 0 and -res.fun > 0.5)


@dataclass
class Fit:
    """A fitted model: which cells were used, the coefficients and fitted means on those cells."""

    pairs: tuple[int, ...]
    keep: np.ndarray
    cols: list[int]
    beta: np.ndarray
    mu: np.ndarray
    deviance: float
    converged: bool
    iterations: int
    empty: list[int] = field(default_factory=list)

    @property
    def dark(self) -> float:
        return float(np.exp(self.beta[0]))


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    pos = y > 0
    return float(2.0 * (np.sum(y[pos] * np.log(y[pos] / mu[pos])) - np.sum(y - mu)))


def irls(x: np.ndarray, y: np.ndarray, beta0: np.ndarray | None = None):
    """Poisson GLM with log link by iteratively reweighted least squares, as R's glm.fit.

    Starts from R's mu = y + 0.1 unless a warm start is given. Each step solves the weighted least
    squares problem by SVD-based lstsq, so a parameter heading to minus infinity (fitted means of some
    cells shrinking towards zero) keeps the system solvable; convergence is R's relative deviance
    change below 1e-8. Step-halving guards against a non-finite or increasing deviance.
    """
    if beta0 is None:
        mu = y + 0.1
        eta = np.log(mu)
        dev_old = np.inf
        beta = None
    else:
        beta = beta0
        eta = x @ beta
        mu = np.exp(eta)
        dev_old = _deviance(y, mu)
    converged = False
    it = 0
    while it < MAXIT:
        it += 1
        w = np.sqrt(mu)
        z = eta + (y - mu) / mu
        new, *_ = np.linalg.lstsq(x * w[:, None], z * w, rcond=None)
        eta_new = x @ new
        mu_new = np.exp(np.minimum(eta_new, 700.0))
        dev = _deviance(y, mu_new)
        halvings = 0
        while (
            beta is not None and (not np.isfinite(dev) or dev > dev_old + 1e-9 * (abs(dev_old) + 1)) and halvings < 30
        ):
            new = (new + beta) / 2
            eta_new = x @ new
            mu_new = np.exp(np.minimum(eta_new, 700.0))
            dev = _deviance(y, mu_new)
            halvings += 1
        beta, eta, mu = new, eta_new, mu_new
        if np.isfinite(dev_old) and abs(dev - dev_old) / (abs(dev) + 0.1) < EPSILON:
            converged = True
            break
        dev_old = dev
    return beta, mu, _deviance(y, mu), converged, it


def fit_model(design: Design, y: np.ndarray, pairs: tuple[int, ...], beta0: np.ndarray | None = None) -> Fit:
    """Fit the model with main effects and `pairs` to full cell counts `y` (SparseMSE's modelfit)."""
    overlaps = design.pair_cols.T @ y
    keep, x, cols = design.structure(pairs, overlaps)
    start = None
    if beta0 is not None and len(beta0) <= x.shape[1]:
        start = np.concatenate([beta0, np.zeros(x.shape[1] - len(beta0))])
    beta, mu, dev, conv, it = irls(x, y[keep], start)
    empty = [p for p in pairs if overlaps[p] == 0]
    return Fit(pairs, keep, cols, beta, mu, dev, conv, it, empty)
