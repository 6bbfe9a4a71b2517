"""Joint secondary suppression over every linked table: a MILP (HiGHS), checked by the attacker's audit.

As tau-ARGUS's optimal method: binary s_j says cell j is suppressed; primary cells are fixed at 1;
the objective is the information lost (each cell's weight). The model starts with the conditions
each relation needs (no relation with exactly one suppressed cell; enough room in each relation
for a primary cell to move k up and down). Then it iterates: solve, audit every suppressed cell
with the attacker's LP, and for each cell that is under-protected (or, if secondary, recovered
exactly) add a cut built from the LP's reduced costs, i.e. the published cells that pin the bound:
at least one of them must be suppressed too, enough of them to close the gap. Suppressing a cell
only widens every range, so the loop ends; the audit has the last word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from privacy.audit import INF, TOL, Attacker, CellSystem, protection_gap

MAX_ROUNDS = 60
MIP_TIME_LIMIT = 10.0  # seconds per MILP solve; the incumbent is used if the limit is hit
MIP_GAP = 0.01


@dataclass
class Protection:
    """The pattern chosen and how it was found."""

    hidden: np.ndarray
    rounds: int
    cuts: int
    seconds: float


class _Master:
    """The MILP over s_j with its growing set of cuts."""

    def __init__(
        self,
        system: CellSystem,
        primary: np.ndarray,
        weight: np.ndarray,
        ties: list[tuple[int, int]],
        series: list[tuple[list[int], float]],
    ):
        n = len(system)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", MIP_TIME_LIMIT)
        h.setOptionValue("mip_rel_gap", MIP_GAP)
        h.setOptionValue("threads", 1)
        lb = primary.astype(np.float64)
        h.addVars(n, lb, np.ones(n))
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(weight, dtype=np.float64))
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))
        self.h, self.n, self.cuts, self.extra = h, n, 0, []
        for a, b in ties:  # copies of one cell are published together or not at all
            self.add([a, b], [1.0, -1.0], 0.0, 0.0)
        for cells, cost in series:  # a series broken once costs its price once: break as few as possible
            b = self.n + len(self.extra)
            h.addVar(0.0, 1.0)
            h.changeColCost(b, cost)
            h.changeColIntegrality(b, highspy.HighsVarType.kInteger)
            self.extra.append(b)
            for c in cells:
                self.add([c, b], [1.0, -1.0], -INF, 0.0)

    def add(self, idx, coef, lo: float, hi: float = INF) -> None:
        idx = np.asarray(idx, dtype=np.int32)
        self.h.addRow(lo, hi, len(idx), idx, np.asarray(coef, dtype=np.float64))
        self.cuts += 1

    def solve(self) -> np.ndarray:
        self.h.run()
        sol = np.asarray(self.h.getSolution().col_value)
        if len(sol) != self.n + len(self.extra):
            raise RuntimeError("the suppression MILP found no pattern")
        return sol[: self.n] > 0.5


def _relation_conditions(master: _Master, system: CellSystem, primary: np.ndarray, k: int) -> None:
    """Per equality relation: never exactly one suppressed member; room for each primary member to move."""
    A, v = system.A.tocsr(), system.values
    for r in range(A.shape[0]):
        if system.lo[r] != system.hi[r]:
            continue
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        coef = A.data[A.indptr[r] : A.indptr[r + 1]]
        if len(cols) < 2:
            continue
        for i, c in enumerate(cols):  # s_c <= sum of the others
            others = np.delete(cols, i)
            master.add([c, *others], [1.0, *([-1.0] * len(others))], -INF, 0.0)
        for i in np.flatnonzero(primary[cols]):
            others, oc = np.delete(cols, i), np.delete(coef, i)
            same = np.sign(oc) == np.sign(coef[i])
            # moving the primary cell up by k: same-sign members go down (by at most their value), others up
            up = np.where(same, np.minimum(np.abs(oc) * v[others], k), k)
            master.add(others, up, float(k))
            # and down to 0: same-sign members go up, the others down by at most their value
            need = float(min(v[cols[i]], k))
            down = np.where(same, need, np.minimum(np.abs(oc) * v[others], need))
            master.add(others, down, need)


def _cut(master: _Master, attacker: Attacker, system: CellSystem, hidden: np.ndarray, gap: float) -> bool:
    """After a solve that fell short by `gap`: at least enough of the binding published cells must go."""
    d = attacker.reduced_costs()
    bind = np.flatnonzero(~hidden & (np.abs(d) > TOL))
    if not len(bind):
        return False
    room = np.where(d[bind] > 0, system.values[bind] - system.lower[bind], INF)
    gain = np.minimum(np.abs(d[bind]) * room, gap)
    master.add(bind, np.maximum(gain, 1e-3), min(gap, float(gain.sum())))
    return True


def protect(
    system: CellSystem,
    primary: np.ndarray,
    weight: np.ndarray,
    k: int,
    ties: list[tuple[int, int]] = (),
    log=None,
    series: list[tuple[list[int], float]] = (),
) -> Protection:
    """The cheapest suppression pattern found that passes the audit: every primary cell protected, none exact.

    `ties`: pairs of cells withheld together (copies). `series`: groups of cells (a yearly series) with
    the cost of breaking the group at all, on top of each cell's weight.
    """
    start = time.perf_counter()
    primary = np.asarray(primary, dtype=bool)
    master = _Master(system, primary, weight, list(ties), list(series))
    _relation_conditions(master, system, primary, k)
    before, passed = np.zeros(len(system), dtype=bool), np.zeros(len(system), dtype=bool)
    for rounds in range(1, MAX_ROUNDS + 1):
        hidden = master.solve()
        # withholding more only widens every range: a cell that passed under a subset of this pattern passes
        known = passed if not (before & ~hidden).any() else np.zeros(len(system), dtype=bool)
        added, passed = _check_and_cut(master, system, hidden, primary, k, skip=known)
        before = hidden
        if log is not None:
            log.info("suppression round %d: %d suppressed, %d cuts added", rounds, int(hidden.sum()), added)
        if added == 0:
            return Protection(hidden, rounds, master.cuts, time.perf_counter() - start)
    raise RuntimeError(f"secondary suppression did not converge in {MAX_ROUNDS} rounds")


def _check_and_cut(
    master: _Master, system: CellSystem, hidden: np.ndarray, primary: np.ndarray, k: int, skip: np.ndarray
) -> tuple[int, np.ndarray]:
    """Audit the pattern (but the cells in `skip`); one cut per failing bound; the cuts added and the cells passed."""
    attacker = Attacker(system, hidden)
    added, passed = 0, skip.copy()
    for j in np.flatnonzero(hidden & ~skip):
        v = float(system.values[j])
        lo = attacker.bound(int(j), upper=False)
        gap_lo = max(0.0, lo - max(0.0, v - k)) if primary[j] else 0.0
        if gap_lo and not _cut(master, attacker, system, hidden, gap_lo):
            raise RuntimeError(f"cell {system.names[j]} cannot be protected by suppression")
        added += gap_lo > 0
        hi = attacker.bound(int(j), upper=True)
        # a primary cell must reach v + k; a secondary one must at least not be recovered exactly
        gap_hi = protection_gap(v, lo, hi, k)[1] if primary[j] else float(hi == lo)
        if gap_hi and not _cut(master, attacker, system, hidden, gap_hi):
            raise RuntimeError(f"cell {system.names[j]} cannot be protected by suppression")
        added += gap_hi > 0
        passed[j] = not (gap_lo or gap_hi)
    return added, passed
