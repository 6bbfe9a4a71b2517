"""Joint secondary suppression over every linked table: a MILP (HiGHS), checked by the attacker's audit.

As tau-ARGUS's optimal method: binary s_j says cell j is suppressed; primary cells are fixed at 1;
the objective is the information lost (each cell's weight). The model starts with the conditions
each relation needs (no relation with exactly one suppressed cell; enough room in each relation
for a primary cell to move k up and down). Then it iterates: solve, audit every suppressed cell
with the attacker's LP, and for each cell that is under-protected (or, if secondary, recovered
exactly) add a cut built from the LP's reduced costs, i.e. the published cells that pin the bound:
at least one of them must be suppressed too, enough of them to close the gap. The cuts accumulate,
so no pattern found wanting comes back; MAX_ROUNDS bounds the loop (then nothing is published). Last,
the clean-up (`privacy/cleanup.py`) publishes again every secondary cell the audit does not need, and
the audit has the last word.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from privacy.audit import INF, TOL, Attacker, CellSystem
from privacy.cleanup import release_redundant

MAX_ROUNDS = 60
MIP_TIME_LIMIT = 10.0  # seconds per MILP solve; the incumbent is used if the limit is hit
MIP_GAP = 0.0  # the cheapest pattern (the cuts are valid, so it is the cheapest that passes); time limit caps it


@dataclass
class Protection:
    """The pattern chosen and how it was found."""

    hidden: np.ndarray
    rounds: int
    cuts: int
    seconds: float
    released: int = 0  # secondary cells the clean-up published again


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
        self.h, self.n, self.cuts = h, n, 0
        self.extra: list = []
        for a, b in ties:  # copies of one cell are published together or not at all
            self.add([a, b], [1.0, -1.0], 0.0, 0.0)
        for cells, cost in series:  # a series broken once costs its price once: break as few as possible
            b = self.new_binary()
            h.changeColCost(b, cost)
            for c in cells:
                self.add([c, b], [1.0, -1.0], -INF, 0.0)

    def add(self, idx, coef, lo: float, hi: float = INF) -> None:
        idx = np.asarray(idx, dtype=np.int32)
        self.h.addRow(lo, hi, len(idx), idx, np.asarray(coef, dtype=np.float64))
        self.cuts += 1

    def new_binary(self) -> int:
        """An extra binary column (not a cell); its index."""
        b = self.n + len(self.extra)
        self.h.addVar(0.0, 1.0)
        self.h.changeColIntegrality(b, highspy.HighsVarType.kInteger)
        self.extra.append(b)
        return b

    def solve(self) -> np.ndarray:
        self.h.run()
        sol = np.asarray(self.h.getSolution().col_value)
        if len(sol) != self.n + len(self.extra):
            raise RuntimeError("the suppression MILP found no pattern")
        return sol[: self.n] > 0.5


def _relation_conditions(master: _Master, system: CellSystem, primary: np.ndarray, k: int) -> None:
    """Per equality relation: never exactly one suppressed member; room for its primary members to move.

    Both in aggregated form (a few rows per relation, not one per member), so that a relation of
    hundreds of cells (the combinations of lists) stays small in the MILP.
    """
    A, v = system.A.tocsr(), system.values
    for r in range(A.shape[0]):
        if system.lo[r] != system.hi[r]:
            continue
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        coef = A.data[A.indptr[r] : A.indptr[r + 1]]
        if len(cols) < 2:
            continue
        any_ = master.new_binary()  # z: the relation has a suppressed member; then it has two
        for c in cols:
            master.add([c, any_], [1.0, -1.0], -INF, 0.0)
        master.add([*cols, any_], [*([1.0] * len(cols)), -2.0], 0.0)
        for sign in (1.0, -1.0):
            mine = primary[cols] & (np.sign(coef) == sign)
            if not mine.any():
                continue
            same = np.sign(coef) == sign
            # up by k: same-sign members go down (by at most their value), the others up; the member with the
            # largest room of its own is the hardest case, and the constraint for it implies the others'
            up = np.where(same, np.minimum(np.abs(coef) * v[cols], k), k)
            master.add(cols, up, float(k + up[mine].max()))
            # down to 0: same-sign members go up, the others down by at most their value
            need = float(min(v[cols][mine].max(), k))
            down = np.where(same, need, np.minimum(np.abs(coef) * v[cols], need))
            master.add(cols, down, need + need)


def _gains(attacker: Attacker, system: CellSystem, hidden: np.ndarray, gap: float) -> dict[int, float]:
    """After a solve that fell short by `gap`: how far withholding each binding published cell would move it."""
    d = attacker.reduced_costs()
    bind = np.flatnonzero(~hidden & (np.abs(d) > TOL))
    room = np.where(d[bind] > 0, system.values[bind] - system.lower[bind], INF)
    gain = np.minimum(np.abs(d[bind]) * room, gap)
    return dict(zip(bind.tolist(), gain.tolist(), strict=True))


def _cut(master: _Master, gains: list[dict[int, float]], gap: float) -> bool:
    """At least enough of the binding published cells must go: sum(gain_j * s_j) >= gap.

    Several solves' gains add up when closing either gap is enough (a secondary cell recovered exactly
    needs room up or down, not both): a valid cut for the disjunction.
    """
    total: dict[int, float] = defaultdict(float)
    for g in gains:
        for j, a in g.items():
            total[j] += a
    if not total:
        return False
    bind = np.fromiter(total, dtype=np.int32)
    gain = np.minimum(np.fromiter(total.values(), dtype=np.float64), gap)
    master.add(bind, np.maximum(gain, 1e-3), min(gap, float(gain.sum())))
    return True


def protect(
    system: CellSystem,
    primary: np.ndarray,
    weight: np.ndarray,
    k: int,
    ties: Sequence[tuple[int, int]] = (),
    log=None,
    series: Sequence[tuple[list[int], float]] = (),
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
            kept = release_redundant(system, hidden, primary, weight, k, list(ties))
            if log is not None:
                log.info("clean-up: %d secondary cells published again", int((hidden & ~kept).sum()))
            released = int((hidden & ~kept).sum())
            return Protection(kept, rounds, master.cuts, time.perf_counter() - start, released)
    raise RuntimeError(f"secondary suppression did not converge in {MAX_ROUNDS} rounds")


def _check_and_cut(
    master: _Master, system: CellSystem, hidden: np.ndarray, primary: np.ndarray, k: int, skip: np.ndarray
) -> tuple[int, np.ndarray]:
    """Audit the pattern (but the cells in `skip`); one cut per failing bound; the cuts added and the cells passed.

    Every LP solution is a point the reader cannot rule out: a cell it already takes far enough
    (down to max(0, v - k), up to v + k; a secondary cell to another integer) needs no LP of its own.
    """
    v = system.values
    target_lo = np.where(primary, np.maximum(0.0, v - k), v - 1)
    target_hi = np.where(primary, v + k, v + 1)
    low_ok, high_ok = ~hidden | skip, ~hidden | skip
    attacker = Attacker(system, hidden)
    added, passed = 0, skip.copy()

    def witness() -> None:
        cells, x = attacker.solution()
        low_ok[cells] |= x <= target_lo[cells] + TOL
        high_ok[cells] |= x >= target_hi[cells] - TOL

    for j in np.flatnonzero(hidden & ~skip):
        gap, gains = 0.0, []
        if not high_ok[j]:  # a secondary cell only needs another value on one side
            gap = max(0.0, target_hi[j] - attacker.bound(int(j), upper=True))
            gains.append(_gains(attacker, system, hidden, gap) if gap else {})
            witness()
        if gap and not primary[j]:  # exact unless it can go down: room on either side would do
            below = 0.0
            if not low_ok[j]:
                below = max(0.0, attacker.bound(int(j), upper=False) - target_lo[j])
                gains.append(_gains(attacker, system, hidden, below) if below else {})
                witness()
            gap = min(gap, below)
        if gap:
            added += _cut_or_fail(master, gains, gap, system.names[j])
        gap_lo = 0.0
        if primary[j] and not low_ok[j]:
            gap_lo = max(0.0, attacker.bound(int(j), upper=False) - target_lo[j])
            witness()
            if gap_lo:
                added += _cut_or_fail(master, [_gains(attacker, system, hidden, gap_lo)], gap_lo, system.names[j])
        passed[j] = not (gap or gap_lo)
    return added, passed


def _cut_or_fail(master: _Master, gains: list[dict[int, float]], gap: float, name: tuple) -> int:
    if not _cut(master, gains, gap):
        raise RuntimeError(f"cell {name} cannot be protected by suppression")
    return 1
