"""A differentially private public release: noisy indicator tables or synthetic records, under the budget ledger.

The person-year rows come from the stored linkage (`linkage.duckdb`, encrypted, opened read-only: it is as
the last research build left it). They are clipped per person (privacy/dp_contributions.py), measured with
OpenDP (privacy/dp_tables.py, privacy/dp_synthetic.py) and written to `releases/dp/<year>-dp<N>/` or
`<year>-synth<N>/` of the installation: codes, counts and bounds only, never a person key or a token. The
ledger (privacy/dp_budget.py) refuses a release over the year's budget before anything is measured, and
records what was spent once the release is in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from errors import UnusableInput
from privacy.dp_budget import BudgetLedger, check_privacy_parameter
from privacy.dp_contributions import clip_forms, clip_years
from privacy.dp_synthetic import domains, fit, records, sample, utility
from privacy.dp_tables import (
    Measured,
    consistent,
    histogram,
    long_format,
    measure,
    measurements,
    sensitivity,
    split_epsilon,
    suspect_tables,
    victim_tables,
)
from schemas.standard import codelist_version, codelists
from warehouse.duck import encrypted
from warehouse.linkage_store import linkage_path

DP_FOLDER = "dp"
RELEASE_NAME = re.compile(r"(?P<year>\d{4})-(?P<kind>dp|synth)(?P<n>[1-9]\d*)\Z")
MAX_YEARS = 1
MAX_FORMS = 2
VICTIM_COLUMNS = (
    "person_key, reporting_year, sex, age_group, citizenship, is_transnational, identified_by, exploitation_forms"
)
SUSPECT_COLUMNS = "person_key, reporting_year, stage_rank, conviction_offence"


@dataclass(frozen=True)
class Clipping:
    """What the bureau sets for a release: its years and the contribution bounds."""

    year: int
    first_year: int
    max_years: int = MAX_YEARS
    max_forms: int = MAX_FORMS

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.year + 1))

    def check(self) -> Clipping:
        if not 1900 < self.first_year <= self.year < 2200:
            raise UnusableInput(f"the release's years must run forwards, not {self.first_year} to {self.year}")
        if self.max_years < 1 or self.max_forms < 1:
            raise UnusableInput("--max-years and --max-forms must be at least 1")
        return self


def code_lists() -> dict[str, tuple[str, ...]]:
    """The code lists the release's cells run over (fixed by the standard, never taken from the data)."""
    return {name: tuple(sorted(codes)) for name, codes in codelists().items()}


def read_persons(warehouse_dir: Path, db_key: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Victim and suspect person-year rows of the stored linkage (with person keys: never leaves this module's
    callers on the bureau's side)."""
    path = linkage_path(warehouse_dir)
    if not path.exists():
        raise UnusableInput("no stored linkage yet: run the main job (`rapporteur run`) before a release")
    con = encrypted(path, db_key, alias="ls", read_only=True)
    try:
        victims = con.execute(f"SELECT {VICTIM_COLUMNS} FROM ls.victim_persons").df()
        suspects = con.execute(f"SELECT {SUSPECT_COLUMNS} FROM ls.suspect_persons").df()
    finally:
        con.close()
    return victims, suspects


def clipped(victims: pd.DataFrame, suspects: pd.DataFrame, clip: Clipping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person cut to the release's years, `max_years` of them and `max_forms` forms per year."""
    return (
        clip_forms(clip_years(victims, clip.years, clip.max_years), clip.max_forms),
        clip_years(suspects, clip.years, clip.max_years),
    )


def measure_tables(victims: pd.DataFrame, suspects: pd.DataFrame, clip: Clipping, epsilon: float):
    """The measured tables of a release (noisy, with the clipped truth) and its consistent cells."""
    codes = code_lists()
    specs = victim_tables(codes) + suspect_tables(codes)
    measured = []
    for table, eps in zip(specs, split_epsilon(specs, epsilon), strict=True):
        rows = suspects if table.indicator != "unique_victims" else victims
        measured.append(
            measure(table, histogram(table, rows, clip.years), eps, sensitivity(table, clip.max_years, clip.max_forms))
        )
    return measured, consistent(measured)


def true_tables(victims: pd.DataFrame, suspects: pd.DataFrame, clip: Clipping) -> pd.DataFrame:
    """The true counts of the release's cells without clipping (the bureau's side: benchmarks and tests).

    The exact cells go through the same derivation as the noisy ones (on exact counts it changes nothing).
    """
    unclipped = Clipping(clip.year, clip.first_year, max_years=len(clip.years), max_forms=10**6)
    v, s = clipped(victims, suspects, unclipped)
    codes = code_lists()
    exact = []
    for table in victim_tables(codes) + suspect_tables(codes):
        grid = histogram(table, s if table.indicator != "unique_victims" else v, clip.years)
        exact.append(Measured(table, 0, 0.0, 1.0, 0, grid, grid))
    return long_format(consistent(exact), clip.years).drop(columns=["bound_95", "epsilon"])


def make_dp_release(
    releases_dir: Path, warehouse_dir: Path, db_key: bytes, clip: Clipping, epsilon: float
) -> tuple[Path, dict]:
    """Measure, post-process and write a release of DP tables; the ledger refuses it over the year's budget."""
    clip.check()
    check_privacy_parameter("epsilon", epsilon, upper=100)
    ledger = BudgetLedger(Path(releases_dir) / DP_FOLDER)
    ledger.check(clip.year, epsilon, 0.0)
    victims, suspects = clipped(*read_persons(warehouse_dir, db_key), clip)
    measured, tables = measure_tables(victims, suspects, clip, epsilon)
    spent = float(sum(m.epsilon for m in measured))
    manifest = {
        "kind": "dp-tables",
        **_common(clip, spent),
        "tables": [
            {
                "indicator": m.table.indicator,
                "dimension": m.table.dimension,
                "cells": int(m.noisy.size),
                "sensitivity": m.sensitivity,
                "epsilon": m.epsilon,
                "scale": m.scale,
                "bound_95": m.bound,
            }
            for m in measured
        ],
    }
    files = {"tables.csv": long_format(tables, clip.years), "measurements.csv": measurements(measured, clip.years)}
    path = _write(Path(releases_dir) / DP_FOLDER, clip.year, "dp", files, manifest)
    _record(ledger, clip.year, path, spent, {"content": "dp-tables", "years": clip.years})
    return path, manifest


def make_synthetic_release(
    releases_dir: Path, reports_dir: Path, warehouse_dir: Path, db_key: bytes, clip: Clipping, epsilon: float
) -> tuple[Path, dict, Path]:
    """DP synthetic victim records under the same ledger; the utility report goes to the bureau's reports
    (it compares with the true tables, so it is not part of the public release)."""
    clip.check()
    check_privacy_parameter("epsilon", epsilon, upper=100)
    ledger = BudgetLedger(Path(releases_dir) / DP_FOLDER)
    ledger.check(clip.year, epsilon, 0.0)
    victims, _ = read_persons(warehouse_dir, db_key)
    domain = domains(code_lists(), clip.years)
    model = fit(records(clip_years(victims, clip.years, clip.max_years)), domain, epsilon, clip.max_years)
    synthetic = sample(model)
    truth = records(clip_years(victims, clip.years, len(clip.years)))
    manifest = {
        "kind": "dp-synthetic",
        **_common(clip, model.epsilon),
        "synthesizer": "noisy two-way marginals on a fixed tree, then sampling (privacy/dp_synthetic.py)",
        "tree": [f"{p} -> {c}" for p, c in model.edges],
        "rows": len(synthetic),
        "tables": [
            {
                "pair": m.table.dimension,
                "cells": int(m.noisy.size),
                "sensitivity": m.sensitivity,
                "epsilon": m.epsilon,
                "scale": m.scale,
                "bound_95": m.bound,
            }
            for m in model.edges.values()
        ],
    }
    path = _write(Path(releases_dir) / DP_FOLDER, clip.year, "synth", {"victims.csv": synthetic}, manifest)
    _record(ledger, clip.year, path, model.epsilon, {"content": "dp-synthetic", "years": clip.years})
    report = Path(reports_dir) / DP_FOLDER / f"{path.name}-utility.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.parent.chmod(0o700)
    report.write_text(json.dumps({"release": path.name, **utility(synthetic, truth, domain)}, indent=2) + "\n")
    return path, manifest, report


def _record(ledger: BudgetLedger, year: int, path: Path, epsilon: float, what: dict) -> None:
    """Record the release's spending; when another release took the rest meanwhile, withdraw this one."""
    try:
        ledger.spend(year, path.name, epsilon, 0.0, what)
    except BaseException:
        shutil.rmtree(path)  # its files are read-only, its folder is not: it can go
        raise


def _common(clip: Clipping, spent: float) -> dict:
    return {
        "year": clip.year,
        "years": clip.years,
        "epsilon": spent,
        "delta": 0.0,
        "mechanism": "discrete Laplace (OpenDP 0.16.0, pure epsilon-DP)",
        "contribution": {"max_years_per_person": clip.max_years, "max_exploitation_forms": clip.max_forms},
        "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "codelist_version": codelist_version(),
    }


def _write(folder: Path, year: int, kind: str, files: dict[str, pd.DataFrame], manifest: dict) -> Path:
    """The release's files written beside their place, renamed into it and made read-only."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [
        int(m["n"])
        for p in folder.iterdir()
        if (m := RELEASE_NAME.match(p.name)) and m["kind"] == kind and int(m["year"]) == year
    ]
    name = f"{year}-{kind}{max(taken, default=0) + 1}"
    building = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder))
    try:
        for file, frame in files.items():
            frame.to_csv(building / file, index=False)
        (building / "manifest.json").write_text(json.dumps({"name": name, **manifest}, indent=2) + "\n")
        for f in building.iterdir():
            f.chmod(0o444)
        building.chmod(0o755)
        os.rename(building, folder / name)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return folder / name


def dp_releases(releases_dir: Path) -> list[dict]:
    """The manifests of every DP release of the installation, oldest first."""
    folder = Path(releases_dir) / DP_FOLDER
    if not folder.is_dir():
        return []
    found = sorted(
        (int(m["year"]), m["kind"], int(m["n"]), p) for p in folder.iterdir() if (m := RELEASE_NAME.match(p.name))
    )
    return [json.loads((p / "manifest.json").read_text()) for *_, p in found]


def dp_release_folder(releases_dir: Path, name: str) -> Path:
    """The folder of the DP tables release called `name` (e.g. 2025-dp1); one line when there is none."""
    folder = Path(releases_dir) / DP_FOLDER / name
    match = RELEASE_NAME.match(name)
    if not match or match["kind"] != "dp" or not (folder / "tables.csv").is_file():
        known = ", ".join(m["name"] for m in dp_releases(releases_dir) if m["kind"] == "dp-tables") or "none yet"
        raise UnusableInput(f"no DP tables release called {name[:20]!r} (releases: {known})")
    return folder
