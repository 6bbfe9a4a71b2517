"""Bounding one person's contribution to a differentially private release, from the linked persons.

A linked person has one row per reporting year (warehouse/persons.py). In a release a person can appear in
several years, and in each year in every table (the total, each disaggregation, several exploitation
forms; a suspect in up to three stages and an offence). Differential privacy needs a bound on what one
person can change, fixed before the data are seen, so each person is clipped:
- at most `max_years` of their person-years in the release's years are kept, chosen by a keyed hash of
  the person and the year (the same person-years every time, independent of anyone else's data);
- at most `max_forms` exploitation forms per person-year, chosen the same way.
After clipping, one person changes a table by at most `max_years` times its cells per person-year: that is
the sensitivity each table's noise is calibrated to (dp_tables.SENSITIVITY).
"""

from __future__ import annotations

import hashlib

import pandas as pd


def _rank(keys: pd.Series) -> pd.Series:
    """A pseudo-random but fixed order of strings: a hash, so the choice depends on the person alone."""
    return keys.map(lambda k: hashlib.sha256(k.encode()).hexdigest())


def clip_years(persons: pd.DataFrame, years: list[int], max_years: int) -> pd.DataFrame:
    """The person-year rows of `years`, at most `max_years` per person (column person_key, reporting_year)."""
    rows = persons[persons["reporting_year"].isin(years)].copy()
    rows["_order"] = _rank(rows["person_key"] + "|" + rows["reporting_year"].astype(str))
    rows = rows.sort_values(["person_key", "_order"])
    kept = rows[rows.groupby("person_key").cumcount() < max_years]
    return kept.drop(columns="_order").reset_index(drop=True)


def clip_forms(rows: pd.DataFrame, max_forms: int) -> pd.DataFrame:
    """Each person-year's exploitation forms cut to at most `max_forms` (an empty list counts as unknown)."""

    def keep(key: str, year: int, forms) -> list[str]:
        forms = list(forms) if forms is not None and len(forms) else ["unknown"]
        forms.sort(key=lambda f: hashlib.sha256(f"{key}|{year}|{f}".encode()).hexdigest())
        return sorted(forms[:max_forms])

    out = rows.copy()
    out["exploitation_forms"] = [
        keep(k, y, f)
        for k, y, f in zip(out["person_key"], out["reporting_year"], out["exploitation_forms"], strict=True)
    ]
    return out


def most_per_person(rows: pd.DataFrame, cells_per_row: pd.Series | int) -> int:
    """The largest number of cells one person adds to a table (rows x cells per row), for the tests' check."""
    if rows.empty:
        return 0
    per_row = cells_per_row if isinstance(cells_per_row, pd.Series) else pd.Series(cells_per_row, index=rows.index)
    return int(per_row.groupby(rows["person_key"]).sum().max())
