"""UNODC's GLOTIP questionnaire tables: one row per category, one column per reporting year (XLSX and CSV).

Each table is laid out as the questionnaire lays it out: the category down the side, the years across.
A cell holds a count, or says in words why it holds none: confidential, not available, not covered by law.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from reporting.exports.figures import (
    CONFIDENTIAL,
    NOT_AVAILABLE,
    NOT_COVERED,
    Figure,
    Published,
)
from schemas.crosswalk import crosswalk, crosswalk_version, members
from schemas.standard import UNKNOWN_COUNTRY, codelists
from sources.spreadsheet import safe_cell, write_safe_csv

MARKERS = {CONFIDENTIAL: "confidential", NOT_AVAILABLE: "not available", NOT_COVERED: "not covered by law"}
LABELS = {
    "female": "Female victims (all ages)",
    "male": "Male victims (all ages)",
    "adult": "Adult victims (18 or over)",
    "child": "Child victims (under 18)",
    "unknown": "Unknown",
    "sexual_exploitation": "Sexual exploitation",
    "forced_labour": "Forced labour (including slavery and servitude)",
    "organ_removal": "Removal of organs",
    "forced_criminality": "Forced criminal activity",
    "forced_marriage": "Forced marriage",
    "illegal_adoption": "Illegal adoption",
    "other_forms": "Other forms of exploitation (including begging)",
    "suspected": "Persons suspected (brought into formal contact with the police)",
    "prosecuted": "Persons prosecuted",
    "convicted": "Persons convicted",
    "trafficking_in_persons": "Convicted of trafficking in persons",
    "related_offence": "Convicted of a related offence",
    "unknown_offence": "Convicted, offence unknown",
}


@dataclass
class Row:
    code: str
    label: str
    figures: dict[int, Figure]


@dataclass
class Table:
    id: str
    title: str
    rows: list[Row]


def _row(code: str, label: str, years: list[int], get) -> Row:
    return Row(code, label, {y: get(y) for y in years})


def tables(pub: Published, years: list[int], country: str) -> list[Table]:
    """The questionnaire's tables for `years` from the published figures."""

    def by(codelist: str, target: str):
        return lambda y: pub.by_target(y, codelist, "glotip", target, country)

    def na(year: int) -> Figure:
        return pub.unavailable()

    total = _row("total", "Total victims detected", years, pub.total)
    sex_age = [total]
    sex_age += [
        _row(c, f"{c.capitalize()} (cross of sex and age)", years, na) for c in ("women", "men", "girls", "boys")
    ]
    sex_age += [_row(f"sex_{t}", LABELS.get(t, t), years, by("sex", t)) for t in members("sex", "glotip")]
    sex_age += [_row(f"age_{t}", LABELS.get(t, t), years, by("age_group", t)) for t in members("age_group", "glotip")]
    forms = [total] + [
        _row(t, LABELS.get(t, t), years, by("exploitation_form", t)) for t in members("exploitation_form", "glotip")
    ]
    countries = codelists()["country"]
    seen = sorted(
        {c for y in years for c in pub.categories_of("unique_victims", y, "citizenship")} - {country, UNKNOWN_COUNTRY}
    )
    citizenship = [
        total,
        _row("national", f"Nationals ({countries.get(country, country)})", years, by("citizenship", "national")),
    ]
    citizenship += [
        _row(c, f"{countries.get(c, c)} ({c})", years, lambda y, c=c: pub.value("unique_victims", y, "citizenship", c))
        for c in seen
    ]
    citizenship.append(_row("unknown", "Citizenship unknown", years, by("citizenship", "unknown")))
    persons = [_row(t, LABELS.get(t, t), years, by("stage", t)) for t in members("stage", "glotip")]
    persons += [_row(f"suspected_{s}", f"Persons suspected: {s}", years, na) for s in ("female", "male")]
    persons += [_row(t, LABELS.get(t, t), years, by("offence", t)) for t in members("offence", "glotip")]
    return [
        Table("victims_sex_age", "Victims detected, by sex and age", sex_age),
        Table("victims_exploitation", "Victims detected, by form of exploitation", forms),
        Table("victims_citizenship", "Victims detected, by citizenship", citizenship),
        Table("persons_criminal_justice", "Persons suspected, prosecuted and convicted", persons),
    ]


def cell(fig: Figure) -> int | str:
    return fig.value if fig.value is not None else MARKERS[fig.status]


def export_glotip(pub: Published, years: list[int], out: Path, country: str) -> list[Path]:
    """glotip.xlsx (one sheet per table and a sheet of notes) and one CSV per table."""
    out.mkdir(parents=True, exist_ok=True)
    made = tables(pub, years, country)
    paths = []
    wb = Workbook()
    wb.remove(wb.active)
    for t in made:
        ws = wb.create_sheet(t.id[:31])
        ws.append([t.title])
        ws["A1"].font = Font(bold=True)
        ws.append(["Code", "Category", *years])
        for row in t.rows:
            ws.append([safe_cell(row.code), safe_cell(row.label), *(_xlsx(cell(row.figures[y])) for y in years)])
        ws.column_dimensions["B"].width = 60
        path = out / f"glotip_{t.id}.csv"
        write_safe_csv(
            path,
            ["code", "category", *map(str, years)],
            ([r.code, r.label, *(cell(r.figures[y]) for y in years)] for r in t.rows),
        )
        paths.append(path)
    notes = wb.create_sheet("notes")
    for line in notes_lines(country):
        notes.append([safe_cell(line)])
    xlsx = out / "glotip.xlsx"
    wb.save(xlsx)
    return [xlsx, *paths]


def _xlsx(value: int | str) -> int | str:
    return value if isinstance(value, int) else safe_cell(value)


def notes_lines(country: str) -> list[str]:
    return [
        "GLOTIP questionnaire tables from the research database's published figures (unique persons after linkage).",
        f"Reporting country: {country}. Crosswalk version {crosswalk_version()} (schemas/crosswalks/ictip.yaml).",
        "A number is a count; 0 means nothing was recorded.",
        "confidential: withheld by disclosure control (never 0).",
        "not available: not collected, or not published at this level of detail (e.g. sex by age).",
        "not covered by law: national law did not cover this form of trafficking in the year.",
        "Unknown rows count persons whose sex, age, citizenship or form the provider recorded as unknown.",
        *(" ".join(str(g).split()) for g in crosswalk()["gaps"]),
    ]
