"""The method used before issue 17, kept only to measure against: suppression decided table by table.

Given the true, complete tables, it gives which cells that method withheld and what its published
labels and omissions told a reader: tables without zero rows (so a withheld cell is at least 1),
`primary` (1 to k-1) and `secondary` (at least k where zeros are never rows), the `providers`
column published beside withheld counts, and `observed` withheld only under k.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from privacy.audit import INF, CellSystem
from privacy.disclosure import suppress_counts
from warehouse.published import COUNT_TABLES, Model, cell_name

# table -> (dimensions given to suppress_counts, grouped by, count); as warehouse/research.py had them
PROTECTED = {
    "victims_by_year_sex": (["reporting_year", "sex"], [], "victim_records"),
    "suspects_by_year_stage": (["reporting_year", "stage", "offence"], [], "suspect_records"),
    "suspects_by_year_form": (["reporting_year", "exploitation_form"], [], "suspect_records"),
    "indicators": (["period", "category"], ["indicator", "dimension"], "value"),
    "provider_overlap": (["period", "lists"], [], "persons"),
}
WITH_ZERO_ROWS = {"suspects_by_year_form"}  # the only table that listed zero counts


def tablewise(raw: dict[str, pd.DataFrame], model: Model, k: int) -> tuple[np.ndarray, CellSystem]:
    """The cells the table-by-table method withheld, and the system as its labels let a reader see it."""
    n = len(model.system)
    hidden = np.zeros(n, dtype=bool)
    lower, upper = model.system.lower.copy(), model.system.upper.copy()
    for table, (dims, by, count) in PROTECTED.items():
        frame = raw.get(table)
        if frame is None or frame.empty:
            continue
        frame = frame[frame[count].notna()]
        if table not in WITH_ZERO_ROWS:
            frame = frame[frame[count] > 0]  # absent rows: a reader knows they are 0
        groups = frame.groupby(by, sort=False) if by else [(None, frame)]
        for _, group in groups:
            out = suppress_counts(group.reset_index(drop=True).astype({count: "int64"}), dims, count, k)
            labels = out["suppression"]
            for key, label in zip(out[COUNT_TABLES[table][0]].itertuples(index=False, name=None), labels, strict=True):
                if not label:
                    continue
                i = model.index[cell_name(table, count, key)]
                hidden[i] = True
                floor = 0.0 if table in WITH_ZERO_ROWS else 1.0
                lower[i], upper[i] = (floor, k - 1.0) if label == "primary" else (k if floor else 0.0, INF)
    for i, name in enumerate(model.system.names):
        v = model.system.values[i]
        if name[0] == "sentences" and 0 < v < k:
            hidden[i], lower[i], upper[i] = True, 1.0, k - 1.0
        if name[0] == "hidden_population" and 0 < v < k:
            hidden[i], lower[i], upper[i] = True, 1.0, k - 1.0
    for copy, source in model.ties:  # attrition and data quality were computed from the published indicators
        if model.system.names[copy][0] in ("attrition", "data_quality"):
            hidden[copy] = hidden[source]
    s = model.system
    return hidden, CellSystem(s.names, s.values, s.A, s.lo, s.hi, lower, upper)
