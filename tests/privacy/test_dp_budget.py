"""The privacy budget ledger: append-only, per year, refusing what would exceed the year's budget."""

from __future__ import annotations

import pytest

from errors import BudgetExceeded, UnusableInput
from privacy.dp_budget import DEFAULT_EPSILON, BudgetLedger


def test_spending_is_recorded_and_refused_past_the_budget(tmp_path):
    ledger = BudgetLedger(tmp_path)
    assert ledger.year(2025).epsilon == DEFAULT_EPSILON and ledger.year(2025).spent_epsilon == 0
    ledger.set_budget(2025, 1.0)
    for n in range(10):  # ten times 0.1 is the whole budget, whatever the floating-point sum says
        ledger.spend(2025, f"2025-dp{n + 1}", 0.1, 0.0, {"content": "dp-tables"})
    before = ledger.path.read_text()
    with pytest.raises(BudgetExceeded, match="refused"):
        ledger.check(2025, 0.01, 0.0)
    with pytest.raises(BudgetExceeded):
        ledger.spend(2025, "2025-dp11", 0.01, 0.0, {"kind": "budget"})  # a description cannot relabel an entry
    assert ledger.path.read_text() == before
    assert ledger.year(2024).spent_epsilon == 0  # another year has its own budget
    assert ledger.year(2025).releases == tuple(f"2025-dp{n + 1}" for n in range(10))
    with pytest.raises(BudgetExceeded):
        ledger.set_budget(2025, 0.5)  # below what was spent
    ledger.set_budget(2025, 2.0)
    ledger.check(2025, 1.0, 0.0)
    assert [e["kind"] for e in ledger.entries()].count("budget") == 2


def test_bad_parameters_and_a_damaged_ledger_are_one_line(tmp_path):
    ledger = BudgetLedger(tmp_path)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(UnusableInput):
            ledger.set_budget(2025, bad)
    with pytest.raises(UnusableInput):
        ledger.set_budget(2025, 1.0, delta=0.1)
    ledger.set_budget(2025, 1.0)
    with ledger.path.open("a") as f:
        f.write("{not json\n")
    with pytest.raises(UnusableInput, match="damaged"):
        ledger.year(2025)
