"""SDG indicator 16.2.2 as SDMX-CSV: detected victims, number and per 100,000 population, by sex, age and form.

Each disaggregation is reported on its own (sex with all ages and forms, age with both sexes, form of
exploitation with everyone), as the SDG database reports them; a rate is shown only where its count is.
"""

from __future__ import annotations

from pathlib import Path

from reporting.exports.figures import CONFIDENTIAL, NOT_AVAILABLE, NOT_COVERED, PUBLISHED, Figure, Published
from reporting.exports.population import read_population
from reporting.exports.sdmx_csv import Observation, check_flow, read_flow, write_flow
from reporting.exports.structures import SDG_FILE, SDG_FLOW, SDG_TOTAL, load_structure, sdg_codes
from schemas.crosswalk import crosswalk

STATUS = {  # figure status -> (OBS_STATUS, CONF_STATUS), SDMX's code lists
    PUBLISHED: ("A", "F"),
    CONFIDENTIAL: ("O", "C"),
    NOT_AVAILABLE: ("L", "F"),
    NOT_COVERED: ("M", "F"),
}
POPULATION_GROUP = {  # the population a rate divides by: (sex, age) of the population file
    "SEX": {"FEMALE": ("female", "total"), "MALE": ("male", "total")},
    "AGE": {"Y_LT18": ("total", "under_18"), "Y_GE18": ("total", "18_plus")},
}
RATE_PER = 100_000


def cells(pub: Published, year: int, country: str) -> list[tuple[dict[str, str], Figure, tuple[str, str]]]:
    """(key without SERIES, count, population group) of every disaggregation of a year."""
    codes = sdg_codes()
    total = {"SEX": SDG_TOTAL, "AGE": SDG_TOTAL, "EXPLOITATION": SDG_TOTAL}
    out = [(total, pub.total(year), ("total", "total"))]
    for dim, codelist in (("SEX", "sex"), ("AGE", "age_group"), ("EXPLOITATION", "exploitation_form")):
        for code in codes[dim][1:]:
            group = POPULATION_GROUP.get(dim, {}).get(code, ("total", "total"))
            out.append(({**total, dim: code}, pub.by_target(year, codelist, "sdg", code, country), group))
    return out


def observations(pub: Published, years: list[int], country: str, population: dict) -> list[Observation]:
    area = str(crosswalk()["reporting_area"][country]["sdg"])
    out = []
    for year in years:
        for key, fig, group in cells(pub, year, country):
            obs, conf = STATUS[fig.status]
            base = {"FREQ": "A", **key, "REF_AREA": area}
            out.append(
                Observation(
                    {**base, "SERIES": "VC_HTF_DETV"},
                    year,
                    fig.value,
                    {"UNIT_MEASURE": "NUMBER", "OBS_STATUS": obs, "CONF_STATUS": conf},
                )
            )
            rate = None if fig.value is None else round(RATE_PER * fig.value / population[(year, *group)], 2)
            out.append(
                Observation(
                    {**base, "SERIES": "VC_HTF_DETV_RATE"},
                    year,
                    rate,
                    {"UNIT_MEASURE": "PER_100000_POP", "OBS_STATUS": obs, "CONF_STATUS": conf},
                )
            )
    return out


def export_sdg(pub: Published, years: list[int], out: Path, country: str, population_file: Path) -> list[Path]:
    """sdg_16_2_2.csv, read back and checked against the shipped structure."""
    from reporting.exports.eurostat import area

    area(country)  # one line when the country has no area code
    population = read_population(population_file, years)
    msg = load_structure(SDG_FILE)
    path = write_flow(msg, SDG_FLOW.id, observations(pub, years, country, population), out / "sdg_16_2_2.csv")
    check_flow(read_flow(path, msg, SDG_FLOW.id), msg, SDG_FLOW.id, "OBS_STATUS:A", grid=False)
    return [path]
