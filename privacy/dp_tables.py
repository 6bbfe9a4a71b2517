"""Differentially private indicator tables: unique victims by year and disaggregation, suspects by stage, convictions.

Noise comes from OpenDP (the discrete Laplace mechanism on integer count vectors, pure epsilon-DP, delta 0).
Each table is one OpenDP measurement over its vector of cells (every year of the release x every code of the
standard's code list, fixed before the data are seen, so no category's presence reveals anyone). Its scale is
found by OpenDP (`binary_search_param`) so that the measurement's privacy map at the table's sensitivity (a
person's clipped contribution, privacy/dp_contributions.py) stays within the table's share of epsilon; the
release spends the sum of the tables' epsilons (sequential composition). The 95% error bound of each cell is
OpenDP's `discrete_laplacian_scale_to_accuracy` at alpha 0.05, floored (the library says flooring keeps the
coverage). The noisy cells are then made consistent (privacy/dp_consistency.py): that is post-processing,
free of privacy cost, and changes the error: see docs/privacy.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import opendp.prelude as dp
import pandas as pd
from opendp.accuracy import discrete_laplacian_scale_to_accuracy

from privacy.dp_consistency import fit_to_total, non_negative_integers, star_least_squares

dp.enable_features("contrib")  # OpenDP's mechanisms are "contrib" (proven, not yet vetted): we state it in docs

ALPHA = 0.05  # the published bound holds with probability 95% for the noisy measurement
STAGES = ("investigated", "prosecuted", "convicted")
# Disaggregations of unique victims that add up to the total (a person-year has one value of each).
ADDITIVE = ("sex", "age_group", "citizenship", "internal_or_transnational", "identifying_agency")
TRANSNATIONAL = ("internal", "transnational", "unknown")  # as warehouse/persons.py resolves a person-year
CONVICTED = "convicted:"  # prefix of the furthest-stage cells of convicted suspects, one per offence


@dataclass(frozen=True)
class Table:
    """One measured table: its indicator and dimension, where its cells come from, its share of epsilon."""

    indicator: str
    dimension: str
    column: str | None  # the person-year column it counts (None: the total)
    codes: tuple[str, ...]
    weight: float  # share of the release's epsilon, relative to the other tables
    per_row: str = "one"  # cells one person-year adds: one, forms (up to max_forms), furthest (one)


def victim_tables(codes: dict[str, tuple[str, ...]]) -> list[Table]:
    """The victims' tables over the standard's code lists (`codes`: code list -> codes)."""
    return [
        Table("unique_victims", "total", None, ("all",), 3),
        Table("unique_victims", "sex", "sex", codes["sex"], 2),
        Table("unique_victims", "age_group", "age_group", codes["age_group"], 2),
        Table("unique_victims", "citizenship", "citizenship", codes["country"], 1),
        Table("unique_victims", "internal_or_transnational", "is_transnational", TRANSNATIONAL, 1),
        Table("unique_victims", "identifying_agency", "identified_by", codes["identified_by"], 1),
        Table("unique_victims", "exploitation_form", "exploitation_forms", codes["exploitation_form"], 1, "forms"),
    ]


def suspect_tables(codes: dict[str, tuple[str, ...]]) -> list[Table]:
    """Suspects measured by their furthest stage, convictions split by offence: disjoint cells, so a
    suspect's person-year adds 1 to one cell; the stage counts (cumulative) are sums of these cells."""
    furthest = ("investigated", "prosecuted", *(f"{CONVICTED}{o}" for o in codes["offence"]))
    return [Table("suspects", "furthest_stage", "stage_rank", furthest, 4, "furthest")]


@dataclass(frozen=True)
class Measured:
    """One table's noisy cells and what OpenDP says about them."""

    table: Table
    sensitivity: int
    epsilon: float  # the privacy map of the measurement at `sensitivity`
    scale: float
    bound: int  # the 95% bound of one noisy cell
    true: np.ndarray  # years x codes, clipped counts (the bureau's side only)
    noisy: np.ndarray  # years x codes

    @property
    def variance(self) -> float:
        """Variance of a discrete Laplace cell of this scale."""
        q = np.exp(-1.0 / self.scale)
        return float(2 * q / (1 - q) ** 2)


def sensitivity(table: Table, max_years: int, max_forms: int) -> int:
    """The most one person can change the table's cells in total (L1), after clipping."""
    per_row = max_forms if table.per_row == "forms" else 1
    return max_years * per_row


def histogram(table: Table, rows: pd.DataFrame, years: list[int]) -> np.ndarray:
    """The table's true cells (years x codes) from clipped person-year rows; codes outside the list are not
    counted (the standard's validation keeps them out)."""
    counts = np.zeros((len(years), len(table.codes)), dtype=np.int64)
    if rows.empty:
        return counts
    year_index = {y: i for i, y in enumerate(years)}
    code_index = {c: j for j, c in enumerate(table.codes)}
    if table.per_row == "furthest":
        pairs = [
            (y, STAGES[rank - 1] if rank < len(STAGES) else f"{CONVICTED}{offence}")
            for y, rank, offence in zip(
                rows["reporting_year"], rows["stage_rank"], rows["conviction_offence"], strict=True
            )
        ]
    elif table.per_row == "forms":
        pairs = [(y, f) for y, forms in zip(rows["reporting_year"], rows[table.column], strict=True) for f in forms]
    elif table.column is None:
        pairs = [(y, "all") for y in rows["reporting_year"]]
    else:
        pairs = list(zip(rows["reporting_year"], rows[table.column].astype(str), strict=True))
    for year, code in pairs:
        j = code_index.get(code)
        if j is not None:
            counts[year_index[int(year)], j] += 1
    return counts


def measure(table: Table, true: np.ndarray, epsilon: float, sens: int) -> Measured:
    """The table's cells with discrete Laplace noise from OpenDP, calibrated to `epsilon` at `sens`."""
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    scale = dp.binary_search_param(lambda s: space >> dp.m.then_laplace(scale=s), d_in=sens, d_out=epsilon)
    mechanism = space >> dp.m.then_laplace(scale=scale)
    noisy = np.asarray(mechanism([int(v) for v in true.ravel()]), dtype=np.int64).reshape(true.shape)
    bound = int(np.floor(discrete_laplacian_scale_to_accuracy(scale, ALPHA)))
    return Measured(table, sens, float(mechanism.map(d_in=sens)), float(scale), bound, true, noisy)


def split_epsilon(tables: list[Table], epsilon: float) -> list[float]:
    total = sum(t.weight for t in tables)
    return [epsilon * t.weight / total for t in tables]


@dataclass(frozen=True)
class Published:
    """One published table: its cells (years x codes) and the 95% bound of each code's cells."""

    indicator: str
    dimension: str
    codes: tuple[str, ...]
    cells: np.ndarray
    bounds: np.ndarray  # per code
    epsilon: float  # of the measurement it comes from


def cell_bound(scale: float, parts: int) -> int:
    """The 95% bound of a sum of `parts` noisy cells of one scale: OpenDP's bound of each at 5%/parts, added
    (by the union bound, all parts are within their bounds at once with probability at least 95%)."""
    return parts * int(np.floor(discrete_laplacian_scale_to_accuracy(scale, ALPHA / parts)))


def consistent(measured: list[Measured]) -> list[Published]:
    """Non-negative integer cells in which, per year, disaggregations add up to the total, stages never grow
    and convictions by offence add up to the convicted."""
    by = {(m.table.indicator, m.table.dimension): m for m in measured}
    total = by[("unique_victims", "total")]
    additive = [m for m in measured if m.table.indicator == "unique_victims" and m.table.dimension in ADDITIVE]
    forms = by[("unique_victims", "exploitation_form")]
    years = total.noisy.shape[0]
    totals = np.zeros(years, dtype=np.int64)
    fitted = {m.table.dimension: np.zeros_like(m.noisy) for m in additive}
    for y in range(years):
        estimate, parts = star_least_squares(
            float(total.noisy[y, 0]),
            total.variance,
            [m.noisy[y].astype(float) for m in additive],
            [m.variance for m in additive],
        )
        totals[y] = max(0, round(estimate))
        for m, part in zip(additive, parts, strict=True):
            fitted[m.table.dimension][y] = fit_to_total(part, int(totals[y]))

    def published(m: Measured, cells: np.ndarray) -> Published:
        bounds = np.full(len(m.table.codes), m.bound)
        return Published(m.table.indicator, m.table.dimension, m.table.codes, cells, bounds, m.epsilon)

    out = [published(total, totals.reshape(-1, 1))]
    out += [published(m, fitted[m.table.dimension]) for m in additive]
    # A person can have several forms: each form is at most the total, and forms need not add up to it.
    out.append(published(forms, np.minimum(non_negative_integers(forms.noisy), totals[:, None])))
    return out + _suspects(by[("suspects", "furthest_stage")])


def _suspects(furthest: Measured) -> list[Published]:
    """Stages (cumulative) and convictions by offence, as sums of the non-negative furthest-stage cells."""
    cells = non_negative_integers(furthest.noisy)
    codes = furthest.table.codes
    offences = [j for j, c in enumerate(codes) if c.startswith(CONVICTED)]
    reached = {stage: [j for j, c in enumerate(codes) if j >= rank] for rank, stage in enumerate(STAGES)}
    stages = np.stack([cells[:, reached[s]].sum(axis=1) for s in STAGES], axis=1)
    return [
        Published(
            "suspects",
            "stage",
            STAGES,
            stages,
            np.array([cell_bound(furthest.scale, len(reached[s])) for s in STAGES]),
            furthest.epsilon,
        ),
        Published(
            "convicted_suspects",
            "offence",
            tuple(codes[j].removeprefix(CONVICTED) for j in offences),
            cells[:, offences],
            np.full(len(offences), furthest.bound),
            furthest.epsilon,
        ),
    ]


def long_format(tables: list[Published], years: list[int]) -> pd.DataFrame:
    """The published table: indicator, period, dimension, category, value, bound_95, epsilon."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "indicator": t.indicator,
                    "period": np.repeat(years, len(t.codes)),
                    "dimension": t.dimension,
                    "category": np.tile(t.codes, len(years)),
                    "value": t.cells.ravel(),
                    "bound_95": np.tile(t.bounds, len(years)),
                    "epsilon": t.epsilon,
                }
            )
            for t in tables
        ],
        ignore_index=True,
    )


def measurements(measured: list[Measured], years: list[int]) -> pd.DataFrame:
    """The noisy cells as measured, before post-processing (public: a researcher may redo the estimation)."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "indicator": m.table.indicator,
                    "period": np.repeat(years, len(m.table.codes)),
                    "dimension": m.table.dimension,
                    "category": np.tile(m.table.codes, len(years)),
                    "noisy": m.noisy.ravel(),
                    "scale": m.scale,
                    "bound_95": m.bound,
                    "epsilon": m.epsilon,
                }
            )
            for m in measured
        ],
        ignore_index=True,
    )
