"""The attacker's audit: the range every suppressed cell can take, given everything published.

A `CellSystem` is every published count cell with every linear relation a reader can know
(totals, shared margins, copies, bounds). The attacker fixes each published cell at its value,
leaves each suppressed cell free in [lower, upper], and solves a linear programme per suppressed
cell for its smallest and largest value (HiGHS, warm-started from one solve to the next). The
counts are integers, so the bounds are rounded inwards (ceil of the minimum, floor of the maximum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

INF = highspy.kHighsInf
TOL = 1e-6
_S = highspy.HighsModelStatus
DEFINITE = (_S.kOptimal, _S.kUnbounded, _S.kUnboundedOrInfeasible, _S.kInfeasible)


@dataclass
class CellSystem:
    """Cells (true values known to the bureau) and relations `lo <= A @ x <= hi` between them.

    `lower`/`upper` are what a reader knows of a suppressed cell before any relation: 0 (or 1 when
    the table never publishes a zero) and infinity, unless published labels say more.
    """

    names: list[tuple]
    values: np.ndarray
    A: sparse.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lower: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None: 0, filled in __post_init__
    upper: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None: infinity, filled in __post_init__

    def __post_init__(self) -> None:
        n = len(self.names)
        self.values = np.asarray(self.values, dtype=np.float64)
        self.lower = np.zeros(n) if self.lower is None else np.asarray(self.lower, dtype=np.float64)
        self.upper = np.full(n, INF) if self.upper is None else np.asarray(self.upper, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Range:
    """What the attacker learns of one suppressed cell."""

    index: int
    low: float
    high: float

    @property
    def exact(self) -> bool:
        return self.low == self.high


class Attacker:
    """The attacker's LPs over a system with a given set of suppressed cells; min and max cell by cell.

    Published cells are constants, so the system falls apart into independent parts: suppressed cells
    linked through relations they share. Each part is its own small LP (HiGHS), built once and
    warm-started from one cell's solve to the next.
    """

    def __init__(self, system: CellSystem, hidden: np.ndarray):
        self.system, self.hidden = system, np.asarray(hidden, dtype=bool)
        A = system.A.tocsr()
        self.A, self.cols = A, np.flatnonzero(self.hidden)
        H = A[:, self.cols]
        m = A.shape[0]
        graph = sparse.bmat([[None, H], [H.T, None]], format="csr") if m and len(self.cols) else None
        labels = np.arange(m + len(self.cols)) if graph is None else connected_components(graph, directed=False)[1]
        touched = np.diff(H.tocsr().indptr) > 0 if m else np.zeros(0, dtype=bool)
        self.row_part = np.where(touched, labels[:m], -1)
        self.part = dict(zip(self.cols.tolist(), labels[m:].tolist(), strict=True))
        self.known = A @ np.where(self.hidden, 0.0, system.values)  # what published cells add to each relation
        self._lps: dict[int, tuple] = {}
        self._last: tuple | None = None

    def _lp(self, part: int) -> tuple:
        """The LP of one part: (highs, its cells, its relations), built on first use."""
        if part not in self._lps:
            cols = np.array([c for c in self.cols if self.part[int(c)] == part])
            rows = np.flatnonzero(self.row_part == part)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("presolve", "off")  # keep the basis between the per-cell solves
            h.addVars(len(cols), self.system.lower[cols], self.system.upper[cols])
            if len(rows):
                sub = self.A[rows][:, cols].tocsr()
                lo, hi = self.system.lo[rows] - self.known[rows], self.system.hi[rows] - self.known[rows]
                h.addRows(len(rows), lo, hi, sub.nnz, sub.indptr[:-1], sub.indices, sub.data)
            self._lps[part] = (h, {int(c): i for i, c in enumerate(cols)}, rows, [None], cols)
        return self._lps[part]

    def _solve(self, j: int, sign: float) -> float | None:
        """Minimise sign * x_j; the optimum, -inf when unbounded, None when infeasible."""
        h, local, rows, last, cols = self._lp(self.part[j])
        if last[0] is not None:
            h.changeColCost(last[0], 0.0)
        h.changeColCost(local[j], sign)
        last[0] = local[j]
        h.run()
        self._last = (h, rows, cols)
        status = h.getModelStatus()
        if status not in DEFINITE:  # a warm start that went nowhere: solve again from scratch
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return h.getInfo().objective_function_value
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return -INF
        if status != highspy.HighsModelStatus.kInfeasible:
            raise RuntimeError(f"the attacker's LP ended with status {status}")
        return None

    def reduced_costs(self) -> np.ndarray:
        """Reduced costs of the published cells in the last solve: which of them pin its optimum."""
        if self._last is None:
            raise RuntimeError("no LP was solved yet")
        h, rows, _ = self._last
        d = np.zeros(len(self.system))
        if len(rows):
            y = np.asarray(h.getSolution().row_dual)
            d = -(self.A[rows].T @ y)
        return np.where(self.hidden, 0.0, d)

    def solution(self) -> tuple[np.ndarray, np.ndarray]:
        """The cells of the last solve's part and the values it found for them (a point a reader cannot rule out)."""
        if self._last is None:
            raise RuntimeError("no LP was solved yet")
        h, _, cols = self._last
        return cols, np.asarray(h.getSolution().col_value)

    def bound(self, j: int, upper: bool) -> float:
        """The largest (upper) or smallest value of cell j, rounded inwards to an integer."""
        obj = self._solve(j, -1.0 if upper else 1.0)
        if obj is None:
            raise ValueError("the published cells contradict the relations: the model of the publication is wrong")
        if upper:
            return INF if obj == -INF else float(np.floor(-obj + TOL))
        return float(np.ceil(obj - TOL))

    def range(self, j: int) -> Range:
        return Range(j, self.bound(j, upper=False), self.bound(j, upper=True))


def protection_gap(value: float, low: float, high: float, k: int) -> tuple[float, float]:
    """How far the range falls short of the rule (0 when met): (below, above).

    The rule: a primary cell of true value v must reach down to max(0, v - k) and up to v + k.
    """
    below = max(0.0, low - max(0.0, value - k))
    above = max(0.0, value + k - high)
    return below, above


@dataclass
class Finding:
    """One suppressed cell as the attacker sees it, and whether it breaks the rule."""

    name: tuple
    value: int
    primary: bool
    low: float
    high: float
    exact: bool
    under_protected: bool

    def as_dict(self) -> dict:
        hi = None if self.high == INF else int(self.high)
        return {
            "cell": list(map(str, self.name)),
            "primary": self.primary,
            "low": int(self.low),
            "high": hi,
            "exact": self.exact,
            "under_protected": self.under_protected,
        }


def audit(system: CellSystem, hidden: np.ndarray, primary: np.ndarray, k: int) -> list[Finding]:
    """Every suppressed cell's range; primary cells are checked against the protection rule."""
    hidden, primary = np.asarray(hidden, dtype=bool), np.asarray(primary, dtype=bool)
    if (primary & ~hidden).any():
        raise ValueError("a primary cell is published")
    attacker = Attacker(system, hidden)
    out = []
    for j in np.flatnonzero(hidden):
        rng = attacker.range(int(j))
        v = float(system.values[j])
        bad = bool(primary[j]) and sum(protection_gap(v, rng.low, rng.high, k)) > 0
        out.append(Finding(system.names[j], int(v), bool(primary[j]), rng.low, rng.high, rng.exact, bad))
    return out


def summary(findings: list[Finding], cells: int) -> dict:
    """Counts for reports: suppressed cells, exact recoveries, under-protected primary cells."""
    hidden = len(findings)
    return {
        "cells": cells,
        "suppressed": hidden,
        "suppressed_share": round(hidden / cells, 4) if cells else 0.0,
        "primary": sum(f.primary for f in findings),
        "recovered_exactly": sum(f.exact for f in findings),
        "under_protected": sum(f.under_protected for f in findings),
    }
