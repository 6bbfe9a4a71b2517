"""The disclosure model of the research database: every published count cell and every relation a reader knows.

`COUNT_TABLES` is the registry: each table researchers get, with its key columns and count columns.
A test fails when research.duckdb publishes a table (or an integer column) that is not here. From the
tables (as DataFrames) `build_system` makes one `CellSystem`: the cells of every count column, and
the relations between them (sub-totals that add up to totals, margins shared between tables,
copies of a cell in another table, columns that bound a cell). A relation is kept only if the true
counts satisfy it: a reader can only use what is true.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from privacy.audit import INF, CellSystem

# table -> (key columns, count columns). Every count column is a cell of the model.
COUNT_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "indicators": (["indicator", "period", "dimension", "category"], ["value"]),
    "victims_by_year_sex": (["reporting_year", "sex"], ["victim_records", "providers"]),
    "suspects_by_year_stage": (["reporting_year", "stage", "offence"], ["suspect_records"]),
    "suspects_by_year_form": (["reporting_year", "exploitation_form"], ["suspect_records"]),
    "provider_overlap": (["period", "lists"], ["persons"]),
    "submissions": (["feed", "provider", "period", "received_at"], ["rows_in", "rows_loaded", "rows_quarantined"]),
    "sentences": (["period"], ["convicted_with_sentence"]),
    "attrition": (["period"], ["investigated", "prosecuted", "convicted"]),
    "data_quality": (["period", "dimension"], ["unknown_victims", "unique_victims"]),
    "hidden_population": (["period"], ["observed"]),
}
# Integer columns that are not counts of persons or records: codes, or computed from published cells only.
DERIVED = {
    "indicators": {"baseline_period", "baseline_value", "change_abs"},
    "provider_overlap": {"n_lists"},
    "hidden_population": {"n_lists"},
}
# Tables that hold no count: reference lists.
NOT_COUNTS = {"code_lists", "national_coverage"}
# Side columns: counts of something else than persons or records; never primary, withheld with their cell.
SIDE = {("victims_by_year_sex", "providers"): "victim_records"}
UNKNOWN_CATEGORY = {"citizenship": "XXX"}
SUMMED_DIMENSIONS = ("sex", "age_group", "citizenship", "internal_or_transnational", "identifying_agency")


@dataclass
class Model:
    """The system, and per cell: whether it is primary, its weight (information lost), its copies."""

    system: CellSystem
    index: dict[tuple, int]
    primary: np.ndarray
    weight: np.ndarray
    ties: list[tuple[int, int]]
    series: list[tuple[list[int], float]]


def cell_name(table: str, column: str, key) -> tuple:
    return (table, column, *(str(x) for x in key))


def cells(frames: dict[str, pd.DataFrame]) -> tuple[list[tuple], np.ndarray]:
    """Every count cell of the registered tables present in `frames`, with its value (NaN if unknown)."""
    names, values = [], []
    for table, (keys, counts) in COUNT_TABLES.items():
        frame = frames.get(table)
        if frame is None or frame.empty:
            continue
        key_rows = list(frame[keys].itertuples(index=False, name=None))
        for column in counts:
            col = pd.to_numeric(frame[column], errors="coerce").astype("Float64")
            present = _present(frame, table)
            for key, v, ok in zip(key_rows, col, present, strict=True):
                if ok:
                    names.append(cell_name(table, column, key))
                    values.append(np.nan if pd.isna(v) else float(v))
    return names, np.asarray(values, dtype=np.float64)


def _present(frame: pd.DataFrame, table: str) -> np.ndarray:
    """Rows that are counts (a form not covered by law is NULL, not a count)."""
    if table == "suspects_by_year_form" and "status" in frame:
        return (frame["status"] != "not_covered_by_law").to_numpy()
    return np.ones(len(frame), dtype=bool)


class _Relations:
    """Collects candidate relations sum(coef * cell) in [lo, hi] over named cells."""

    def __init__(self, index: dict[tuple, int]):
        self.index: dict[tuple, int] = index
        self.rows: list[tuple] = []

    def add(self, plus: list[tuple], minus: list[tuple], lo: float = 0.0, hi: float = 0.0) -> None:
        terms: dict[int, float] = defaultdict(float)
        for sign, names in ((1.0, plus), (-1.0, minus)):
            for name in names:
                if name not in self.index:
                    return  # a relation with a cell that is not published is no relation
                terms[self.index[name]] += sign
        terms = {c: a for c, a in terms.items() if a}
        if len(terms) >= 2 or (terms and (lo, hi) != (0.0, 0.0)):
            self.rows.append((terms, lo, hi))


def _by(names: list[tuple], table: str, column: str) -> list[tuple]:
    return [n for n in names if n[0] == table and n[1] == column]


def _relations(names: list[tuple], rel: _Relations) -> None:
    """Every linear relation a reader of the research database can know (see docs/privacy.md)."""
    ind = defaultdict(list)  # (indicator, period, dimension) -> cells
    for n in _by(names, "indicators", "value"):
        ind[n[2], n[3], n[4]].append(n)
    periods = sorted({n[3] for n in _by(names, "indicators", "value")})
    cat = {n: n[5] for n in _by(names, "indicators", "value")}

    def total(period):
        return [("indicators", "value", "unique_victims", period, "total", "all")]

    def stage(period, s):
        return [("indicators", "value", "suspects", period, "stage", s)]

    records = defaultdict(list)  # year -> victims_by_year_sex cells
    for n in _by(names, "victims_by_year_sex", "victim_records"):
        records[n[2]].append(n)
        rel.add([n], [("victims_by_year_sex", "providers", *n[2:])], 0.0, INF)  # records >= providers
    stage_records = defaultdict(list)
    for n in _by(names, "suspects_by_year_stage", "suspect_records"):
        stage_records[n[2]].append(n)
    form_records = defaultdict(list)
    for n in _by(names, "suspects_by_year_form", "suspect_records"):
        form_records[n[2]].append(n)
    overlap = defaultdict(list)
    for n in _by(names, "provider_overlap", "persons"):
        overlap[n[2]].append(n)

    for p in periods:
        for dim in SUMMED_DIMENSIONS:  # each disaggregation adds up to the total
            rel.add(ind["unique_victims", p, dim], total(p))
        rel.add(ind["unique_victims", p, "exploitation_form"], total(p), 0.0, INF)  # several forms per person
        providers = ind["victim_records", p, "provider"]
        va = [n for n in providers if cat[n].startswith("victim-assistance: ")]
        rel.add(records[p], va)  # victims_by_year_sex adds up to the assistance providers' records
        rel.add(providers, total(p), 0.0, INF)  # records >= persons
        rel.add(ind["services_received", p, "service"], ind["services_received", p, "service_provider"])
        rel.add(stage(p, "investigated"), stage(p, "prosecuted"), 0.0, INF)
        rel.add(stage(p, "prosecuted"), stage(p, "convicted"), 0.0, INF)
        rel.add(ind["convicted_suspects", p, "offence"], stage(p, "convicted"))
        rel.add(stage_records[p], stage(p, "investigated"), 0.0, INF)  # records >= persons
        for i, s in enumerate(("prosecuted", "convicted"), start=1):  # furthest stage s or beyond, per stage
            beyond = [n for n in stage_records[p] if n[3] in ("prosecuted", "convicted")[i - 1 :]]
            rel.add(beyond, stage(p, s), 0.0, INF)
        for n in ind["convicted_suspects", p, "offence"]:  # convicted records of an offence >= its persons
            rel.add([("suspects_by_year_stage", "suspect_records", p, "convicted", n[5])], [n], 0.0, INF)
        rel.add(form_records[p], stage_records[p], 0.0, INF)  # every suspect has at least one form
        rel.add(overlap[p], total(p))  # the combinations of lists add up to the unique victims
        lists = defaultdict(list)
        for n in overlap[p]:
            for name in n[3].split(" + "):
                lists[name].append(n)
        for name, combos in lists.items():  # persons on a list <= that list's records
            recs = [n for n in providers if cat[n].split(": ", 1)[-1] == name or cat[n].split(": ")[0] == name]
            rel.add(recs, combos, 0.0, INF)
        # copies of cells in other tables
        for s in ("investigated", "prosecuted", "convicted"):
            rel.add([("attrition", s, p)], stage(p, s))
        rel.add([("hidden_population", "observed", p)], total(p))
        rel.add(stage(p, "convicted"), [("sentences", "convicted_with_sentence", p)], 0.0, INF)
        for dim in (*SUMMED_DIMENSIONS, "exploitation_form"):
            unknown = UNKNOWN_CATEGORY.get(dim, "unknown")
            source = ("indicators", "value", "unique_victims", p, dim, unknown)
            rel.add([("data_quality", "unknown_victims", p, dim)], [source])
            rel.add([("data_quality", "unique_victims", p, dim)], total(p))
    # submissions: rows in = loaded + quarantined; the loaded rows of current submissions are the provider's records
    loaded = defaultdict(list)
    for n in _by(names, "submissions", "rows_in"):
        rest = n[2:]
        rel.add([n], [("submissions", "rows_loaded", *rest), ("submissions", "rows_quarantined", *rest)])
        loaded[n[2], n[3]].append(("submissions", "rows_loaded", *rest))
    all_providers = defaultdict(list)
    for n in _by(names, "indicators", "value"):
        if n[2] == "victim_records":
            all_providers[n[5]].append(n)
    for (feed, provider), subs in loaded.items():
        recs = all_providers.get(f"{feed}: {provider}", [])
        for hi in (0.0, INF):
            rel.add(subs, recs, 0.0, hi)
    # a submission's period 'all' covers every year; the sum over years of the sex table is the assistance total
    va_loaded = [s for (feed, _), subs in loaded.items() if feed == "victim-assistance" for s in subs]
    for hi in (0.0, INF):  # equal when every loaded row is current; at least otherwise (kept if true)
        rel.add(va_loaded, [n for p in records for n in records[p]], 0.0, hi)


def build_model(frames: dict[str, pd.DataFrame], k: int, truth: np.ndarray | None = None) -> Model:
    """The system of the given tables. `truth` (default: the frames' own values) decides which relations hold."""
    names, values = cells(frames)
    values = values if truth is None else truth
    if np.isnan(values).any():
        raise ValueError("the true value of every cell is needed for the disclosure model")
    index = {n: i for i, n in enumerate(names)}
    rel = _Relations(index)
    _relations(names, rel)
    rows = [(t, lo, hi) for t, lo, hi in rel.rows if _holds(t, lo, hi, values)]
    A = sparse.lil_matrix((len(rows), len(names)))
    for r, (terms, _, _) in enumerate(rows):
        for c, a in terms.items():
            A[r, c] = a
    lo = np.array([r[1] for r in rows], dtype=np.float64)
    hi = np.array([r[2] for r in rows], dtype=np.float64)
    system = CellSystem(names, values, A.tocsr(), lo, hi)
    side = np.array([(n[0], n[1]) in SIDE for n in names])
    primary = (values > 0) & (values < k) & ~side
    ties = _ties(names, index)
    return Model(system, index, primary, _weights(names, ties), ties, _series(names))


def _holds(terms: dict[int, float], lo: float, hi: float, values: np.ndarray) -> bool:
    s = sum(a * values[c] for c, a in terms.items())
    return lo - 1e-9 <= s <= hi + 1e-9


def _ties(names: list[tuple], index: dict[tuple, int]) -> list[tuple[int, int]]:
    """Cells published together or not at all: copies in other tables, and side columns with their cell."""
    ties = []
    for n in names:
        if (n[0], n[1]) in SIDE:
            ties.append((index[n], index[(n[0], SIDE[n[0], n[1]], *n[2:])]))
        elif n[0] == "attrition":
            ties.append((index[n], index.get(("indicators", "value", "suspects", n[2], "stage", n[1]), -1)))
        elif n[0] == "hidden_population":
            ties.append((index[n], index.get(("indicators", "value", "unique_victims", n[2], "total", "all"), -1)))
        elif n[0] == "data_quality":
            p, dim = n[2], n[3]
            src = ("unique_victims", p, dim, UNKNOWN_CATEGORY.get(dim, "unknown"))
            if n[1] == "unique_victims":
                src = ("unique_victims", p, "total", "all")
            ties.append((index[n], index.get(("indicators", "value", *src), -1)))
    return [t for t in ties if t[1] >= 0]


# The yearly series readers follow, and what breaking one costs on top of its cells (in cells): sex and age
# group. A break costs as much as ten other cells, so a series breaks only where cells under k force it;
# once broken, more years of it cost only their cells (Eurostat's rule: patterns stay stable over the years).
SERIES = {("unique_victims", "sex"): 10.0, ("unique_victims", "age_group"): 10.0}


def _series(names: list[tuple]) -> list[tuple[list[int], float]]:
    """Per category of the followed dimensions, its cells over the years, and the price of a break."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        if n[0] == "indicators" and (n[2], n[4]) in SERIES:
            groups[n[2], n[4], n[5]].append(i)
    return [(cells, SERIES[key[:2]]) for key, cells in groups.items()]


# Information lost by withholding a cell, in cells: what readers need most costs more. The yearly total of
# unique victims costs 50 (in practice never withheld), the sex and age groups by year 1.2, the suspects at
# each stage 1.1, any other cell 1. The figures count withheld cells once per distinct cell, and so does this.
WEIGHTS = {
    ("unique_victims", "total"): 50.0,
    ("unique_victims", "sex"): 1.2,
    ("unique_victims", "age_group"): 1.2,
    ("suspects", "stage"): 1.1,
}


def _weights(names: list[tuple], ties: list[tuple[int, int]]) -> np.ndarray:
    """Per cell: the information lost by withholding it; a copy (or side column) costs nothing beyond its cell."""
    w = np.array([WEIGHTS.get((n[2], n[4]), 1.0) if n[0] == "indicators" else 1.0 for n in names])
    for copy, _ in ties:
        w[copy] = 0.0
    return w
