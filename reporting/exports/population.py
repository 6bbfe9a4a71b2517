"""The national population figures the bureau supplies for SDG 16.2.2, read and checked with one-line errors.

The file is CSV (UTF-8, comma-separated) with the header `year,sex,age,population` and optionally `source`:
one row per year and group, `sex` one of total, female, male and `age` one of total, under_18, 18_plus. Each
year exported needs total/total, female/total, male/total, total/under_18 and total/18_plus; female and male
add up to the total, and so do under_18 and 18_plus. docs/exports.md describes it;
synthetic/demo_population.csv is a synthetic example for the demo years.
"""

from __future__ import annotations

import csv
from pathlib import Path

from errors import UnusableInput

COLUMNS = ("year", "sex", "age", "population")
SEXES = ("total", "female", "male")
AGES = ("total", "under_18", "18_plus")
NEEDED = (("total", "total"), ("female", "total"), ("male", "total"), ("total", "under_18"), ("total", "18_plus"))
DEMO_FILE = Path(__file__).resolve().parents[2] / "synthetic" / "demo_population.csv"


def read_population(path: Path, years: list[int]) -> dict[tuple[int, str, str], int]:
    """(year, sex, age) -> population, for every row of the file; the groups `years` need must be there."""
    name = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnusableInput(f"population file {path} not found (--population FILE; see docs/exports.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnusableInput(f"population file {name} cannot be read as UTF-8 text ({type(exc).__name__})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise UnusableInput(f"population file {name} is empty: it needs the header {','.join(COLUMNS)}")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UnusableInput(
            f"population file {name}: the header lacks {', '.join(missing)} (needs {','.join(COLUMNS)})"
        )
    at = {c: header.index(c) for c in COLUMNS}
    figures: dict[tuple[int, str, str], int] = {}
    for n, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UnusableInput(f"population file {name}, row {n}: {len(row)} cells where the header has {len(header)}")
        cells = {c: row[i].strip() for c, i in at.items()}
        year = _whole(cells["year"], name, n, "year")
        if not 1900 <= year <= 2100:
            raise UnusableInput(f"population file {name}, row {n}, column year: {year} is not a reporting year")
        for column, allowed in (("sex", SEXES), ("age", AGES)):
            if cells[column] not in allowed:
                raise UnusableInput(
                    f"population file {name}, row {n}, column {column}: "
                    f"'{cells[column][:20]}' is not one of {', '.join(allowed)}"
                )
        people = _whole(cells["population"], name, n, "population")
        if people <= 0:
            raise UnusableInput(f"population file {name}, row {n}, column population: must be more than 0")
        key = (year, cells["sex"], cells["age"])
        if key in figures:
            raise UnusableInput(f"population file {name}, row {n}: {year} {key[1]}/{key[2]} is given twice")
        figures[key] = people
    for year in years:
        absent = [f"{s}/{a}" for s, a in NEEDED if (year, s, a) not in figures]
        if absent:
            raise UnusableInput(f"population file {name} has no {', '.join(absent)} population for {year}")
        total = figures[year, "total", "total"]
        for parts, what in (
            ((("female", "total"), ("male", "total")), "female and male"),
            ((("total", "under_18"), ("total", "18_plus")), "under_18 and 18_plus"),
        ):
            if sum(figures[(year, *p)] for p in parts) != total:
                raise UnusableInput(f"population file {name}: in {year} {what} do not add up to the total {total}")
    return figures


def _whole(text: str, name: str, n: int, column: str) -> int:
    try:
        return int(text.replace("_", "x"))
    except ValueError:
        raise UnusableInput(
            f"population file {name}, row {n}, column {column}: '{text[:20]}' is not a whole number"
        ) from None
