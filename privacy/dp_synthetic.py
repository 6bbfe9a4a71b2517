"""Differentially private synthetic victim records: noisy two-way marginals on a fixed tree, then sampling.

A marginal-based synthesizer in the manner of MST (McKenna et al. 2021), built from OpenDP's discrete
Laplace mechanism because SmartNoise's synthesizers cannot be installed beside our pins (docs/privacy.md).
The attributes are the generalised ones of a linked victim's person-year. The tree of attribute pairs is
fixed in advance (MST chooses it privately; fixing it spends nothing and keeps every pair the bureau reports
on): each pair's two-way table is measured with noise (`dp_tables.measure`, one person-year adds 1 to one
cell of each table, a person at most `max_years`). Sampling is post-processing: the year's row count from
the root table, then each attribute from its parent by the noisy conditional table (negative cells as 0).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privacy.dp_tables import TRANSNATIONAL, Measured, Table, measure

ATTRIBUTES = (
    "reporting_year",
    "sex",
    "age_group",
    "exploitation_form",
    "is_transnational",
    "citizenship",
    "identified_by",
)
# (parent, child): the tree, rooted at the year. Every attribute has one parent.
TREE = (
    ("reporting_year", "sex"),
    ("sex", "age_group"),
    ("age_group", "exploitation_form"),
    ("reporting_year", "is_transnational"),
    ("is_transnational", "citizenship"),
    ("reporting_year", "identified_by"),
)
MULTIPLE = "multiple"  # a person-year with several forms of exploitation


def records(rows: pd.DataFrame) -> pd.DataFrame:
    """Clipped person-year rows as the synthesizer's attributes (one exploitation form, or `multiple`)."""
    forms = rows["exploitation_forms"].map(lambda f: f[0] if len(f) == 1 else (MULTIPLE if len(f) else "unknown"))
    out = rows.assign(exploitation_form=forms)
    return out[list(ATTRIBUTES)].astype({"reporting_year": int}).astype({c: str for c in ATTRIBUTES[1:]})


def domains(codes: dict[str, tuple[str, ...]], years: list[int]) -> dict[str, tuple]:
    """Every attribute's values, from the standard (never from the data)."""
    return {
        "reporting_year": tuple(years),
        "sex": codes["sex"],
        "age_group": codes["age_group"],
        "exploitation_form": (*codes["exploitation_form"], MULTIPLE),
        "is_transnational": TRANSNATIONAL,
        "citizenship": codes["country"],
        "identified_by": codes["identified_by"],
    }


def pair_counts(data: pd.DataFrame, parent: str, child: str, domain: dict[str, tuple]) -> np.ndarray:
    """The two-way table parent x child of `data`, over the attributes' full domains."""
    grid = np.zeros((len(domain[parent]), len(domain[child])), dtype=np.int64)
    pi = {v: i for i, v in enumerate(domain[parent])}
    ci = {v: j for j, v in enumerate(domain[child])}
    for p, c in zip(data[parent], data[child], strict=True):
        if p in pi and c in ci:
            grid[pi[p], ci[c]] += 1
    return grid


@dataclass(frozen=True)
class Model:
    """The noisy tree: one measured two-way table per edge."""

    domain: dict[str, tuple]
    edges: dict[tuple[str, str], Measured]

    @property
    def epsilon(self) -> float:
        return float(sum(m.epsilon for m in self.edges.values()))


def fit(data: pd.DataFrame, domain: dict[str, tuple], epsilon: float, max_years: int) -> Model:
    """Measure every edge's two-way table with an equal share of `epsilon`; sensitivity `max_years`."""
    share = epsilon / len(TREE)
    edges = {}
    for parent, child in TREE:
        table = Table("synthetic", f"{parent} x {child}", None, (), 1)
        edges[parent, child] = measure(table, pair_counts(data, parent, child, domain), share, max_years)
    return Model(domain, edges)


def sample(model: Model, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Synthetic records drawn from the noisy tree (post-processing: no privacy cost)."""
    rng = rng or np.random.default_rng(secrets.randbits(128))
    root = np.maximum(model.edges[TREE[0]].noisy.sum(axis=1), 0)  # the noisy sum is unbiased; clip it once
    years = np.repeat(np.arange(len(root)), root)
    index = {"reporting_year": years}
    for parent, child in TREE:
        edge = model.edges[parent, child]
        # Cells within the 95% bound of zero are most likely noise on an empty cell: in a sparse table (a
        # country per year) they would otherwise outweigh the few real ones. Dropping them is post-processing.
        table = np.where(edge.noisy > edge.bound, edge.noisy, 0).astype(float)
        fallback = table.sum(axis=0) + 1e-9  # a parent value with no noisy mass: the child's overall shares
        rows = table[index[parent]]
        rows[rows.sum(axis=1) == 0] = fallback
        cumulative = np.cumsum(rows / rows.sum(axis=1, keepdims=True), axis=1)
        draws = rng.random(len(rows))[:, None]
        index[child] = np.minimum((cumulative < draws).sum(axis=1), table.shape[1] - 1)
    return pd.DataFrame({a: np.asarray(model.domain[a], dtype=object)[index[a]] for a in ATTRIBUTES})


def utility(synthetic: pd.DataFrame, truth: pd.DataFrame, domain: dict[str, tuple]) -> dict:
    """How far the synthetic one- and two-way tables are from the true ones: total variation distance of the
    shares (0 identical, 1 disjoint) and mean absolute error of the counts, per table and summarised."""

    def compare(columns: list[str]) -> dict:
        s = synthetic.groupby(columns).size()
        t = truth.groupby(columns).size()
        both = pd.concat([s, t], axis=1).fillna(0)
        both.columns = ["synthetic", "true"]
        shares = both / both.sum().replace(0, 1)
        cells = int(np.prod([len(domain[c]) for c in columns]))
        return {
            "table": " x ".join(columns),
            "tvd": round(float((shares["synthetic"] - shares["true"]).abs().sum() / 2), 4),
            "mean_abs_error": round(float((both["synthetic"] - both["true"]).abs().sum() / cells), 4),
        }

    one = [compare([a]) for a in ATTRIBUTES]
    two = [compare([a, b]) for i, a in enumerate(ATTRIBUTES) for b in ATTRIBUTES[i + 1 :]]
    return {
        "rows": {"synthetic": len(synthetic), "true": len(truth)},
        "one_way": one,
        "two_way": two,
        "summary": {
            "one_way_mean_tvd": round(float(np.mean([r["tvd"] for r in one])), 4),
            "one_way_max_tvd": max(r["tvd"] for r in one),
            "two_way_mean_tvd": round(float(np.mean([r["tvd"] for r in two])), 4),
            "two_way_max_tvd": max(r["tvd"] for r in two),
        },
    }
