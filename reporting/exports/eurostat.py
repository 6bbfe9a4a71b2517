"""Eurostat's trafficking data collection (crim_thb) as SDMX-CSV, one file per dataflow, with its flags."""

from __future__ import annotations

import itertools
from pathlib import Path

from reporting.exports.figures import CONFIDENTIAL, NOT_AVAILABLE, NOT_COVERED, Figure, Published
from reporting.exports.sdmx_csv import Observation, check_flow, read_flow, write_flow
from reporting.exports.structures import (
    EUROSTAT_FILE,
    EUROSTAT_FLOWS,
    FLAG_ATTRIBUTE,
    eurostat_codes,
    load_structure,
)

FLAGS = {CONFIDENTIAL: "c", NOT_COVERED: "z", NOT_AVAILABLE: "na"}
# The dimension of each flow that breaks the victims (or persons) down, and the crosswalk's code list for it.
BREAKDOWN = {"AGE": "age_group", "CITIZEN": "citizenship", "EXPL": "exploitation_form", "LEG_STAT": "stage"}
TOTALS = {"T", "TOTAL"}


def figure(pub: Published, year: int, key: dict[str, str], country: str) -> Figure:
    """One cell of a crim_thb flow: a one-way margin of the research database, or not available."""
    sex = key["SEX"]
    (dim,) = [d for d in key if d in BREAKDOWN]
    other = key[dim]
    if dim == "LEG_STAT":  # persons by stage; the sex of suspects is not published
        return pub.by_target(year, "stage", "eurostat", other, country) if sex == "T" else pub.unavailable()
    if sex == "T" and other in TOTALS:
        return pub.total(year)
    if other in TOTALS:
        return pub.by_target(year, "sex", "eurostat", sex, country)
    if sex == "T":
        return pub.by_target(year, BREAKDOWN[dim], "eurostat", other, country)
    return pub.unavailable()  # a cross-tabulation the research database does not publish


def observations(pub: Published, flow_id: str, years: list[int], country: str) -> list[Observation]:
    codes = eurostat_codes()
    geo = area(country)
    (flow,) = [f for f in EUROSTAT_FLOWS if f.id == flow_id]
    out = []
    for year in years:
        for combo in itertools.product(*(codes[d] for d in flow.dimensions)):
            key = dict(zip(flow.dimensions, combo, strict=True))
            fig = figure(pub, year, key, country)
            out.append(Observation({**key, "GEO": geo}, year, fig.value, {FLAG_ATTRIBUTE: FLAGS.get(fig.status, "")}))
    return out


def area(country: str) -> str:
    from errors import UnusableInput
    from schemas.crosswalk import crosswalk

    entry = crosswalk()["reporting_area"].get(country)
    if entry is None:
        raise UnusableInput(
            f"RAPPORTEUR_COUNTRY={country[:3]} has no Eurostat or SDG area code in "
            "schemas/crosswalks/ictip.yaml (reporting_area): add it there"
        )
    return str(entry["eurostat"])


def export_eurostat(pub: Published, years: list[int], out: Path, country: str) -> list[Path]:
    """One SDMX-CSV file per crim_thb dataflow, each read back and checked against the shipped structure."""
    msg = load_structure(EUROSTAT_FILE)
    paths = []
    for flow in EUROSTAT_FLOWS:
        path = write_flow(msg, flow.id, observations(pub, flow.id, years, country), out / f"{flow.id.lower()}.csv")
        check_flow(read_flow(path, msg, flow.id), msg, flow.id, f"{FLAG_ATTRIBUTE}:", grid=True)
        paths.append(path)
    return paths
