"""The figures every international export is made of: published cells of `indicators`, and sums of them.

An export cell is either a published cell of the research database's `indicators` (a copy) or a sum of
published cells (age groups merged into under 18, countries into groups, forms into a wider form). A sum
is shown only when a reader of the research database could already work it out: every part is published,
or the dimension's total and every other category are (the dimensions that add up to the total). Otherwise
it is confidential. So no export cell tells a reader more than the research tables do, and the attacker's
audit of the research tables with the export cells added finds the same ranges (reporting/exports/audit.py).

Every figure carries one status, the distinction each format flags in its own way:
- published: a count (0 is a count: nothing was recorded);
- confidential: withheld by disclosure control, never 0 and never blank-as-zero;
- not_available: the research database does not publish it (not collected, or not at this grain);
- not_covered: national law did not cover the code in that year (schemas/coverage.yaml).
"Unknown" is a category of its own (the provider knew that it did not know), with its own count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from errors import UnusableInput
from schemas.crosswalk import citizenship_group, citizenship_target, members
from schemas.standard import coverage

PUBLISHED, CONFIDENTIAL, NOT_AVAILABLE, NOT_COVERED = "published", "confidential", "not_available", "not_covered"
STATUSES = (PUBLISHED, CONFIDENTIAL, NOT_AVAILABLE, NOT_COVERED)
# Dimensions of `indicators` whose categories add up to the total (each person has exactly one).
PARTITIONS = {("unique_victims", "sex"), ("unique_victims", "age_group"), ("unique_victims", "citizenship")}
TOTAL = ("unique_victims", "total", "all")


@dataclass(frozen=True)
class Figure:
    """One export cell: its value (None unless published), its status, and the `indicators` cells it sums."""

    value: int | None
    status: str
    parts: tuple[tuple, ...] = field(default=())

    def __post_init__(self) -> None:
        if (self.value is None) == (self.status == PUBLISHED):
            raise ValueError(f"a {self.status} figure with value {self.value}")

    @property
    def known(self) -> int:
        """The value of a published figure (a withheld one has none to add)."""
        if self.value is None:
            raise ValueError(f"a {self.status} figure has no value")
        return self.value


def not_available() -> Figure:
    return Figure(None, NOT_AVAILABLE)


def indicator_cell(indicator: str, period: int, dimension: str, category: str) -> tuple:
    """The name of an `indicators` cell in the disclosure model (warehouse/published.py)."""
    return ("indicators", "value", indicator, str(period), dimension, category)


class Published:
    """The published `indicators` of a research database: value per cell, None where withheld."""

    def __init__(self, indicators: pd.DataFrame):
        self.cells: dict[tuple, int | None] = {}
        self.categories: dict[tuple, list[str]] = {}
        for row in indicators.itertuples(index=False):
            key = (row.indicator, int(row.period), row.dimension, str(row.category))
            value = None if pd.isna(row.value) or bool(row.suppressed) else int(row.value)
            self.cells[key] = value
            self.categories.setdefault((row.indicator, int(row.period), row.dimension), []).append(str(row.category))
        self.years = sorted({k[1] for k in self.cells})
        self.coverage = coverage()
        self.handed: list[Figure] = []  # every figure given to an export, for the audit

    @classmethod
    def from_database(cls, path) -> Published:
        """The `indicators` table of research.duckdb (read-only)."""
        with duckdb.connect(str(path), read_only=True) as con:
            frame = con.execute("SELECT indicator, period, dimension, category, value, suppressed FROM indicators").df()
        return cls(frame)

    @classmethod
    def from_figures(cls, figures: dict[tuple, dict]) -> Published:
        """From `reporting.releases.figures` of a release (or a research database): key -> value, suppressed."""
        rows = [(*key, f["value"], f["suppressed"]) for key, f in figures.items()]
        return cls(pd.DataFrame(rows, columns=["indicator", "period", "dimension", "category", "value", "suppressed"]))

    def check_years(self, years: Iterable[int]) -> None:
        """One line when a year asked for has no published figures."""
        missing = [y for y in years if y not in self.years]
        if missing:
            have = f"{self.years[0]} to {self.years[-1]}" if self.years else "none"
            raise UnusableInput(
                f"no published figures for {', '.join(map(str, missing))} in the research database "
                f"(years published: {have}); run `rapporteur run` after the year's submissions are loaded"
            )

    def covered(self, dimension: str, code: str, year: int) -> bool:
        spec = self.coverage.get(dimension, {}).get(code)
        return spec is None or year >= int(spec["covered_from"])

    def value(self, indicator: str, year: int, dimension: str, category: str) -> Figure:
        """One cell as published; a category the table never lists was never counted: 0."""
        return self._hand(self._value(indicator, year, dimension, category))

    def unavailable(self) -> Figure:
        """A cell the research database does not publish (not collected, or not at this grain)."""
        return self._hand(not_available())

    def peek(self, indicator: str, year: int, dimension: str, category: str) -> Figure:
        """One cell as published, for checks: not counted as a figure of the export."""
        return self._value(indicator, year, dimension, category)

    def _hand(self, fig: Figure) -> Figure:
        self.handed.append(fig)
        return fig

    def _value(self, indicator: str, year: int, dimension: str, category: str) -> Figure:
        if not self.covered(dimension, category, year):
            return Figure(None, NOT_COVERED)
        key = (indicator, year, dimension, category)
        if (indicator, year, dimension) not in self.categories:
            return not_available()
        name = (indicator_cell(indicator, year, dimension, category),)
        if key not in self.cells:
            return Figure(0, PUBLISHED, name)
        v = self.cells[key]
        return Figure(v, PUBLISHED, name) if v is not None else Figure(None, CONFIDENTIAL, name)

    def total(self, year: int) -> Figure:
        return self.value(TOTAL[0], year, TOTAL[1], TOTAL[2])

    def sum(self, indicator: str, year: int, dimension: str, codes: Iterable[str]) -> Figure:
        """The sum of the categories `codes` in a year, shown only when a reader can already work it out."""
        return self._hand(self._sum(indicator, year, dimension, codes))

    def _sum(self, indicator: str, year: int, dimension: str, codes: Iterable[str]) -> Figure:
        codes = list(dict.fromkeys(codes))
        covered = [c for c in codes if self.covered(dimension, c, year)]
        if codes and not covered:
            return Figure(None, NOT_COVERED)
        if (indicator, year, dimension) not in self.categories:
            return not_available()
        parts = [self._value(indicator, year, dimension, c) for c in covered]
        names = tuple(p for f in parts for p in f.parts)
        if all(f.status == PUBLISHED for f in parts):
            return Figure(sum(f.known for f in parts), PUBLISHED, names)
        if (indicator, dimension) in PARTITIONS:  # the total less every other category
            total = self._value(indicator, year, "total", "all")
            rest = [
                self._value(indicator, year, dimension, c)
                for c in self.categories[indicator, year, dimension]
                if c not in covered
            ]
            if total.status == PUBLISHED and all(f.status == PUBLISHED for f in rest):
                return Figure(total.known - sum(f.known for f in rest), PUBLISHED, names)
        return Figure(None, CONFIDENTIAL, names)

    def categories_of(self, indicator: str, year: int, dimension: str) -> list[str]:
        return list(self.categories.get((indicator, year, dimension), []))

    def by_target(self, year: int, codelist: str, fmt: str, target: str, reporting_country: str) -> Figure:
        """Unique victims (suspects for `stage`, convicted for `offence`) of the national codes mapping to `target`."""
        if codelist == "citizenship":
            codes = [
                c
                for c in self.categories_of("unique_victims", year, "citizenship")
                if citizenship_target(citizenship_group(c, reporting_country), fmt) == target
            ]
            return self.sum("unique_victims", year, "citizenship", codes)
        indicator = {"stage": "suspects", "offence": "convicted_suspects"}.get(codelist, "unique_victims")
        return self.sum(indicator, year, codelist, members(codelist, fmt)[target])
