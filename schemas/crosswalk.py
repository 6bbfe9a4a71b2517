"""The crosswalk from the common data set to IC-TIP and the international formats (schemas/crosswalks/ictip.yaml)."""

from __future__ import annotations

import functools

from schemas.standard import HERE, UNKNOWN_COUNTRY, codelists, read_yaml

CROSSWALK_FILE = HERE / "crosswalks" / "ictip.yaml"
FORMATS = ("ictip", "glotip", "eurostat", "sdg")
# The code lists the exports touch: each of their codes needs an entry (citizenship goes by group).
TOUCHED = ("sex", "age_group", "exploitation_form", "stage", "offence")
EU_GROUP = "EU27_2020"


@functools.cache
def crosswalk() -> dict:
    """The whole crosswalk file."""
    return read_yaml(CROSSWALK_FILE)


def crosswalk_version() -> str:
    return str(crosswalk()["version"])


def target(codelist: str, code: str, fmt: str) -> str | None:
    """The code of `fmt` a national code maps to; None when the format counts it in the total only."""
    return crosswalk()["codelists"][codelist][code][fmt]


def members(codelist: str, fmt: str) -> dict[str, list[str]]:
    """Per code of `fmt`: the national codes it gathers (in code-list order)."""
    out: dict[str, list[str]] = {}
    for code, entry in crosswalk()["codelists"][codelist].items():
        if entry[fmt] is not None:
            out.setdefault(str(entry[fmt]), []).append(str(code))
    return out


@functools.cache
def country_groups() -> dict[str, frozenset[str]]:
    """The groups of countries.yaml (EU27_2020 ...), as sets of ISO alpha-3 codes."""
    data = read_yaml(HERE / "countries.yaml")
    return {name: frozenset(spec["codes"]) for name, spec in (data.get("groups") or {}).items()}


def citizenship_group(country: str, reporting_country: str) -> str:
    """own, eu, non_eu or unknown: the crosswalk's citizenship group of an ISO alpha-3 code."""
    if country == UNKNOWN_COUNTRY:
        return "unknown"
    if country == reporting_country:
        return "own"
    return "eu" if country in country_groups()[EU_GROUP] else "non_eu"


def citizenship_target(group: str, fmt: str) -> str | None:
    return crosswalk()["citizenship"][group][fmt]


def missing_entries() -> list[str]:
    """`codelist:code` of every code of a touched code list without a complete crosswalk entry, and stale entries."""
    lists, entries = codelists(), crosswalk()["codelists"]
    problems = []
    for name in TOUCHED:
        mapped = entries.get(name) or {}
        for code in lists[name]:
            entry = mapped.get(code)
            if not isinstance(entry, dict) or any(fmt not in entry for fmt in FORMATS):
                problems.append(f"{name}:{code}")
        problems += [f"{name}:{code} (not in the code list)" for code in mapped if code not in lists[name]]
    groups = crosswalk()["citizenship"]
    problems += [f"citizenship:{g}" for g in ("own", "eu", "non_eu", "unknown") if g not in groups]
    return problems
