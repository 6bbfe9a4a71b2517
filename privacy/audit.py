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

INF = highspy.kHighsInf
TOL = 1e-6


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
    lower: np.ndarray = field(default=None)  # type: ignore[assignment]
    upper: np.ndarray = field(default=None)  # type: ignore[assignment]

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
    """One LP over a system with a given set of suppressed cells; asks min and max cell by cell."""

    def __init__(self, system: CellSystem, hidden: np.ndarray):
        self.system, self.hidden = system, np.asarray(hidden, dtype=bool)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")  # keep the basis between the per-cell solves
        lb = np.where(self.hidden, system.lower, system.values)
        ub = np.where(self.hidden, system.upper, system.values)
        n = len(system)
        h.addVars(n, lb, ub)
        A = system.A.tocsr()
        if A.shape[0]:
            h.addRows(A.shape[0], system.lo, system.hi, A.nnz, A.indptr[:-1], A.indices, A.data)
        self.h, self._last = h, None
        self.feasible = self._solve(None, 1.0) is not None or n == 0

    def _solve(self, j: int | None, sign: float) -> float | None:
        """Minimise sign * x_j (j None: feasibility); the optimum, -inf when unbounded, None when infeasible."""
        h = self.h
        if self._last is not None:
            h.changeColCost(self._last, 0.0)
        if j is not None:
            h.changeColCost(j, sign)
        self._last = j
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return h.getInfo().objective_function_value
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return -INF
        return None

    def reduced_costs(self) -> np.ndarray:
        """Reduced costs of the last solve: which fixed (published) cells bind the optimum."""
        return np.asarray(self.h.getSolution().col_dual)

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
    if not attacker.feasible:
        raise ValueError("the published cells contradict the relations: the model of the publication is wrong")
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
