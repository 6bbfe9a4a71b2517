"""One export of one or more reporting years: made beside its place, checked, audited, then moved into place."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from errors import UnusableInput
from reporting.exports.agreement import check_totals
from reporting.exports.audit import audit_export
from reporting.exports.eurostat import export_eurostat
from reporting.exports.figures import Published
from reporting.exports.glotip import export_glotip
from reporting.exports.sdg import export_sdg
from reporting.releases import Release, compare
from reporting.releases import figures as release_figures
from warehouse.protection import read_published

KINDS = ("glotip", "eurostat", "sdg")
POPULATION_FILE = "population.csv"  # in RAPPORTEUR_HOME: the population figures the SDG asset reads


@dataclass
class ExportResult:
    """What an export wrote and what it shows."""

    kind: str
    years: list[int]
    files: list[Path]
    statuses: dict[str, int]
    totals: dict[int, str]
    audit: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "years": self.years,
            "files": [str(p) for p in self.files],
            "cells": self.statuses,
            "total_victims": {str(y): (int(v) if v else None) for y, v in self.totals.items()},
            "audit": self.audit,
        }


def year_range(year: int, to: int | None) -> list[int]:
    last = year if to is None else to
    if last < year:
        raise UnusableInput(f"--to {last} is before --year {year}")
    if last - year > 50:
        raise UnusableInput(f"--year {year} --to {last} spans more than 50 years")
    return list(range(year, last + 1))


def make_export(
    kind: str,
    research_db: Path,
    years: list[int],
    out: Path,
    country: str,
    record: pd.DataFrame,
    k: int,
    population: Path | None = None,
    release: Release | None = None,
) -> ExportResult:
    """Write the `kind` export of `years` into `out` from the published research database.

    The files are written into a hidden folder in `out`, read back and checked against their structure,
    their totals compared with the research database, and the whole export audited with the bureau's
    record of withheld cells; only then are they moved into `out`. On any failure nothing is left in `out`.

    With `release`, the figures are those of that release (what was told to parliament). The attacker's
    audit needs the true values of the withheld cells, which the bureau's record holds for the research
    database now: it runs when the release's figures are still those of the research database; for a release
    revised since, the export rests on its rule alone (a sum shown only when the release's own cells give it).
    """
    if kind not in KINDS:
        raise UnusableInput(f"unknown export {kind[:20]!r}: one of {', '.join(KINDS)}")
    if not Path(research_db).is_file():
        raise UnusableInput(f"no research database at {research_db}: run `rapporteur run` first")
    if kind == "sdg" and population is None:
        raise UnusableInput("the SDG export needs the population figures: --population FILE (docs/exports.md)")
    current = release_figures(Path(research_db))
    pub = Published.from_figures(release_figures(release) if release is not None else current)
    pub.check_years(years)
    out = Path(out)
    building = out / f".{kind}.building"
    if out.exists() and not out.is_dir():
        raise UnusableInput(f"--out {out} is a file: name a folder")
    shutil.rmtree(building, ignore_errors=True)
    try:
        building.mkdir(parents=True)
    except PermissionError:
        raise UnusableInput(f"cannot write into {out}: permission denied; choose another folder with --out") from None
    try:
        if kind == "glotip":
            files = export_glotip(pub, years, building, country)
        elif kind == "eurostat":
            files = export_eurostat(pub, years, building, country)
        else:
            assert population is not None  # checked above, before anything was made
            files = export_sdg(pub, years, building, country, population)
        totals = check_totals(kind, files, pub, years)
        if release is None or not compare(release_figures(release), current):
            with duckdb.connect(str(research_db), read_only=True) as con:
                published = read_published(con)
            audited = audit_export(published, record, k, pub.handed)
        else:
            audited = {"export_sums": None, "skipped": "the release has been revised since: no record of its cells"}
        placed = []
        for path in files:
            os.replace(path, out / path.name)
            placed.append(out / path.name)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    statuses = dict(Counter(f.status for f in pub.handed))
    return ExportResult(kind, years, placed, statuses, totals, audited)
