"""The clean-up after secondary suppression: publish again every secondary cell the audit does not need.

As tau-ARGUS and sdcTable do after their optimisation: the rounds of MILP and audit add cells a few
at a time, and a cell added early may be redundant once later ones are withheld. Each secondary cell
(with its copies) is tried in turn, the largest information loss first: it is published again if
every withheld cell it is linked to still passes the attacker's audit, and withheld otherwise.
Publishing a cell changes only the relations it is in, so only the withheld cells linked to them
are audited again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from privacy.audit import TOL, Attacker, CellSystem


def copy_groups(n: int, ties: list[tuple[int, int]]) -> np.ndarray:
    """Per cell, the id of its group of copies (cells published together or not at all)."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in ties:
        parent[root(a)] = root(b)
    return np.array([root(i) for i in range(n)])


def passes(attacker: Attacker, primary: np.ndarray, k: int, cells) -> bool:
    """Whether each of `cells` (withheld) meets the rule: primary cells k either way (down to 0), none exact.

    Every LP solution is a value the reader cannot rule out, so a cell it already takes far enough
    needs no LP of its own; the first failure ends the check.
    """
    system, hidden = attacker.system, attacker.hidden
    v = system.values
    target_lo = np.where(primary, np.maximum(0.0, v - k), v - 1)
    target_hi = np.where(primary, v + k, v + 1)
    low_ok, high_ok = ~hidden, ~hidden

    def witness() -> None:
        part, x = attacker.solution()
        low_ok[part] |= x <= target_lo[part] + TOL
        high_ok[part] |= x >= target_hi[part] - TOL

    for j in cells:
        j = int(j)
        if not high_ok[j]:
            high_ok[j] = attacker.bound(j, upper=True) >= target_hi[j]
            witness()
        if primary[j] and not high_ok[j]:
            return False
        if not low_ok[j] and (primary[j] or not high_ok[j]):
            low_ok[j] = attacker.bound(j, upper=False) <= target_lo[j]
            witness()
        if primary[j] and not low_ok[j]:
            return False
        if not primary[j] and not (low_ok[j] or high_ok[j]):
            return False
    return True


def release_redundant(
    system: CellSystem,
    hidden: np.ndarray,
    primary: np.ndarray,
    weight: np.ndarray,
    k: int,
    ties: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """The pattern with every secondary cell (and its copies) published whose release the audit allows."""
    hidden = np.asarray(hidden, dtype=bool).copy()
    primary = np.asarray(primary, dtype=bool)
    group = copy_groups(len(system), list(ties))
    A, rows_of = system.A.tocsr(), system.A.tocsc()
    secondary = {}
    for g in np.unique(group[hidden]):
        members = np.flatnonzero(group == g)
        if hidden[members].all() and not primary[members].any():
            secondary[int(g)] = members
    for g in sorted(secondary, key=lambda g: -float(weight[secondary[g]].sum())):
        members = secondary[g]
        trial = hidden.copy()
        trial[members] = False
        rows = np.unique(np.concatenate([rows_of.indices[rows_of.indptr[c] : rows_of.indptr[c + 1]] for c in members]))
        linked = np.unique(A[rows].indices) if len(rows) else np.zeros(0, dtype=int)
        linked = linked[trial[linked]]
        if not len(linked):  # in no relation with a withheld cell: nothing depends on it
            hidden = trial
            continue
        # every withheld cell of the parts those relations belong to: the ones whose ranges can shrink
        attacker = Attacker(system, trial)
        parts = {attacker.part[int(c)] for c in linked}
        check = [c for c in np.flatnonzero(trial) if attacker.part[int(c)] in parts]
        near = set(linked.tolist())
        check.sort(key=lambda c: (c not in near, not primary[c]))
        if passes(attacker, primary, k, check):
            hidden = trial
    return hidden
