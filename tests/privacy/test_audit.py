"""The attacker's audit finds what adding up reveals; joint suppression leaves it nothing, on random linked tables."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import sparse

from privacy.audit import CellSystem, audit, summary
from privacy.cleanup import release_redundant
from privacy.secondary import protect

K = 5


def linked_tables(years: int, by_sex: list[list[int]], by_age: list[list[int]], records: list[int] | None):
    """Year x sex and year x age tables that share one yearly total, an all-years total, and optionally
    a records-per-year column that bounds the total from above (records >= persons)."""
    names, values, rows = [], [], []

    def cell(name, v):
        names.append(name)
        values.append(v)
        return len(names) - 1

    totals = [cell(("total", y), sum(by_sex[y])) for y in range(years)]
    for label, table in (("sex", by_sex), ("age", by_age)):
        for y in range(years):
            parts = [cell((label, y, c), v) for c, v in enumerate(table[y])]
            rows.append(({**{p: 1.0 for p in parts}, totals[y]: -1.0}, 0.0, 0.0))
        for c in range(len(table[0])):  # each category's all-years total is published too
            every = cell((label, "all", c), sum(t[c] for t in table))
            rows.append(({**{names.index((label, y, c)): 1.0 for y in range(years)}, every: -1.0}, 0.0, 0.0))
    if records is not None:
        for y in range(years):
            rows.append(({cell(("records", y), records[y]): 1.0, totals[y]: -1.0}, 0.0, np.inf))
    A = sparse.lil_matrix((len(rows), len(names)))
    for r, (terms, _, _) in enumerate(rows):
        for c, a in terms.items():
            A[r, c] = a
    lo = np.array([r[1] for r in rows])
    hi = np.array([r[2] for r in rows])
    return CellSystem(names, np.array(values, dtype=float), A.tocsr(), lo, hi)


def _primary(system: CellSystem) -> np.ndarray:
    return (system.values > 0) & (system.values < K)


def test_one_withheld_cell_in_a_published_total_is_recovered_exactly():
    system = linked_tables(2, [[3, 20], [8, 9]], [[10, 13], [9, 8]], None)
    hidden = np.array([n == ("sex", 0, 0) for n in system.names])
    findings = audit(system, hidden, hidden, K)
    assert [(f.low, f.high, f.exact, f.under_protected) for f in findings] == [(3, 3, True, True)]
    # withheld with its neighbour in the row, it is still found through the all-years column total
    hidden |= np.array([n == ("sex", 0, 1) for n in system.names])
    assert {f.name: f.exact for f in audit(system, hidden, hidden & _primary(system), K)} == {
        ("sex", 0, 0): True,
        ("sex", 0, 1): True,
    }


def test_joint_suppression_passes_the_audit_and_keeps_the_totals():
    system = linked_tables(
        3, [[3, 20, 1], [12, 30, 0], [2, 2, 40]], [[10, 13, 1], [7, 30, 5], [4, 25, 15]], [30, 45, 50]
    )
    primary = _primary(system)
    weight = np.array([1000.0 if n[0] == "total" else 1.0 for n in system.names])
    result = protect(system, primary, weight, K)
    found = summary(audit(system, result.hidden, primary, K), len(system))
    assert found["recovered_exactly"] == 0 and found["under_protected"] == 0
    assert not result.hidden[[i for i, n in enumerate(system.names) if n[0] == "total"]].any()
    assert result.hidden[primary].all()


@st.composite
def systems(draw):
    years = draw(st.integers(1, 3))
    sexes, ages = draw(st.integers(2, 3)), draw(st.integers(2, 4))
    small = st.one_of(st.integers(0, 4), st.integers(5, 40))
    by_sex = [draw(st.lists(small, min_size=sexes, max_size=sexes)) for _ in range(years)]
    by_age = []
    for y in range(years):  # an age table with the same yearly total
        parts = draw(st.lists(small, min_size=ages - 1, max_size=ages - 1))
        rest = sum(by_sex[y]) - sum(parts)
        if rest < 0:
            parts, rest = [0] * (ages - 1), sum(by_sex[y])
        by_age.append([*parts, rest])
    records = [sum(by_sex[y]) + draw(st.integers(0, 6)) for y in range(years)] if draw(st.booleans()) else None
    return linked_tables(years, by_sex, by_age, records)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(system=systems())
def test_random_linked_tables_always_pass_the_audit_after_suppression(system):
    primary = _primary(system)
    weight = 1.0 + np.random.default_rng(0).random(len(system))
    result = protect(system, primary, weight, K)
    found = summary(audit(system, result.hidden, primary, K), len(system))
    assert result.hidden[primary].all()
    assert found["recovered_exactly"] == 0
    assert found["under_protected"] == 0


def _one_relation(values: list[int]) -> CellSystem:
    """Cells that add up to a published total (the last value)."""
    A = sparse.csr_matrix(np.array([[1.0] * (len(values) - 1) + [-1.0]]))
    return CellSystem([("cell", i) for i in range(len(values))], np.array(values, float), A, np.zeros(1), np.zeros(1))


def test_the_clean_up_publishes_a_redundant_secondary_cell_and_the_audit_still_passes():
    system = _one_relation([2, 20, 30, 40, 92])
    primary = np.array([True, False, False, False, False])
    hidden = np.array([True, True, True, False, False])  # 20 alone would protect 2 (range 0..22)
    weight = np.array([1.0, 1.0, 3.0, 1.0, 1.0])
    released = release_redundant(system, hidden, primary, weight, K)
    assert released.tolist() == [True, True, False, False, False]  # 30 costs most, so it is tried first
    found = summary(audit(system, released, primary, K), len(system))
    assert found["recovered_exactly"] == 0 and found["under_protected"] == 0
    # a secondary cell the rule needs stays withheld
    assert release_redundant(system, released, primary, weight, K).tolist() == released.tolist()


def test_the_clean_up_keeps_copies_together():
    system = _one_relation([2, 20, 30, 40, 92])
    copy = CellSystem(
        [*system.names, ("copy", 2)],
        np.append(system.values, 30.0),
        sparse.vstack([sparse.hstack([system.A, sparse.csr_matrix((1, 1))]), sparse.csr_matrix([[0, 0, 1, 0, 0, -1]])]),
        np.zeros(2),
        np.zeros(2),
    )
    primary = np.array([True, False, False, False, False, False])
    hidden = np.array([True, True, True, False, False, True])
    released = release_redundant(copy, hidden, primary, np.ones(6), K, ties=[(5, 2)])
    assert released[2] == released[5]
    assert summary(audit(copy, released, primary, K), len(copy))["under_protected"] == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(system=systems(), extra=st.lists(st.integers(0, 200), max_size=6))
def test_the_clean_up_of_any_passing_pattern_still_passes(system, extra):
    primary = _primary(system)
    hidden = protect(system, primary, np.ones(len(system)), K).hidden.copy()
    hidden[[e % len(system) for e in extra]] = True  # more withheld than needed
    before = summary(audit(system, hidden, primary, K), len(system))
    assume(before["recovered_exactly"] == 0)  # the clean-up starts from a pattern that passes
    released = release_redundant(system, hidden, primary, np.ones(len(system)), K)
    assert not (released & ~hidden).any() and released[primary].all()
    found = summary(audit(system, released, primary, K), len(system))
    assert found["recovered_exactly"] == 0 and found["under_protected"] == 0
