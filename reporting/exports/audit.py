"""The attacker's audit with an export added: the research tables plus every new sum the export shows or withholds.

Each export cell that sums several published cells joins the disclosure model (warehouse/published.py) as a
cell of its own, tied to its parts by `cell = sum(parts)`. The audit (privacy/audit.py) then works out the range
of every withheld cell from everything published, export included. The export passes when no withheld cell is
recovered exactly, none is under-protected, and no withheld cell of the research tables is known any better
than from the research tables alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import sparse

from errors import DisclosureError
from privacy.audit import CellSystem, audit
from reporting.exports.figures import PUBLISHED, Figure
from warehouse.protection import true_values
from warehouse.published import build_model


def with_export(system: CellSystem, figures: Iterable[Figure]) -> tuple[CellSystem, np.ndarray]:
    """The system with one new cell per distinct sum of two or more cells, and whether each new cell is shown."""
    index = {n: i for i, n in enumerate(system.names)}
    sums: dict[tuple, bool] = {}
    for fig in figures:
        parts = tuple(sorted({index[p] for p in fig.parts if p in index}))
        if len(parts) >= 2:
            sums[parts] = sums.get(parts, False) or fig.status == PUBLISHED
    n, extra = len(system), list(sums)
    rows, cols, data = [], [], []
    for r, parts in enumerate(extra):
        rows += [r] * (len(parts) + 1)
        cols += [n + r, *parts]
        data += [1.0, *([-1.0] * len(parts))]
    new = sparse.csr_matrix((data, (rows, cols)), shape=(len(extra), n + len(extra)))
    old = sparse.hstack([system.A, sparse.csr_matrix((system.A.shape[0], len(extra)))])
    values = np.concatenate([system.values, [system.values[list(p)].sum() for p in extra]])
    extended = CellSystem(
        [*system.names, *(("export", "sum", *map(str, p)) for p in extra)],
        values,
        sparse.vstack([old, new]).tocsr(),
        np.concatenate([system.lo, np.zeros(len(extra))]),
        np.concatenate([system.hi, np.zeros(len(extra))]),
    )
    return extended, np.array([sums[p] for p in extra], dtype=bool)


def audit_export(published: dict[str, pd.DataFrame], record: pd.DataFrame, k: int, figures: list[Figure]) -> dict:
    """The audit of the research tables with the export's cells; DisclosureError when the export tells more."""
    names, full, hidden = true_values(published, record)
    model = build_model(published, k, truth=full)
    before = {f.name: (f.low, f.high) for f in audit(model.system, hidden, model.primary, k)}
    system, shown = with_export(model.system, figures)
    extra = len(system) - len(model.system)
    findings = audit(
        system,
        np.concatenate([hidden, ~shown]),
        np.concatenate([model.primary, np.zeros(extra, dtype=bool)]),
        k,
    )
    # a withheld export sum that a reader can work out tells nothing new: only the research cells are judged
    research = [f for f in findings if f.name in before]
    narrowed = [f for f in research if (f.low, f.high) != before[f.name]]
    result = {
        "export_sums": extra,
        "export_sums_withheld": int((~shown).sum()),
        "recovered_exactly": sum(f.exact for f in research),
        "under_protected": sum(f.under_protected for f in research),
        "narrowed": len(narrowed),
    }
    if result["recovered_exactly"] or result["under_protected"] or result["narrowed"]:
        raise DisclosureError(
            f"the export would tell more than the research tables ({result['recovered_exactly']} withheld cells "
            f"recovered exactly, {result['under_protected']} under-protected, {result['narrowed']} narrowed): "
            "nothing was handed over"
        )
    return result
