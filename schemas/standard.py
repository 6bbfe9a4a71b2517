"""The common data set as Python objects, loaded once from the YAML files beside this module."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from errors import UnusableInput

HERE = Path(__file__).parent
UNKNOWN_COUNTRY = "XXX"
# Anchored at the true end (\Z, not $, which also matches before a final newline) and ASCII digits only
# (\d also matches other scripts' digits): these ids become folder names. Use `.fullmatch`.
PROVIDER_ID = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
PERIOD = re.compile(r"\A(?:all|[0-9]{4}|[0-9]{4}-Q[1-4])\Z")


@dataclass(frozen=True)
class Column:
    """One column of a feed's extract."""

    name: str
    type: str
    description: str
    codelist: str | None = None
    required: bool = False
    identifier: bool = False

    @property
    def code_list(self) -> str:
        """The code list of a coded column (`code` or `codes`)."""
        assert self.codelist is not None, f"{self.name} is not a coded column"
        return self.codelist


@dataclass(frozen=True)
class Feed:
    """One provider feed, as `feeds.yaml` registers it: its columns and where and how it is stored."""

    name: str
    description: str
    repository: str  # the stem of its repository file (`victims.duckdb`)
    table: str  # its name as an SQL and asset identifier
    label: str  # its repository in words
    event_date: str  # the date of the event a record reports: ages are measured at it
    period_dates: tuple[str, ...]  # the dates that place a row in a reporting period, latest stage first
    role: str | None  # the column saying victim or suspect; None: every record is a victim
    columns: dict[str, Column]

    @property
    def has_cases(self) -> bool:
        """Whether records group into cases (`case_id`)."""
        return "case_id" in self.columns

    @property
    def identifiers(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.identifier]


@dataclass(frozen=True)
class Mapping:
    """A provider's local codes for each coded column, keyed by the case-folded local code."""

    provider: str
    feed: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)


# libyaml's parser where PyYAML was built with it (its wheels are): the same safe loading, several times
# faster than the pure-Python parser; every command reads the standard's YAML files as it starts.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    """A YAML file parsed safely (plain data only), with libyaml's parser when PyYAML has it."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)


def _load(name: str) -> dict:
    return read_yaml(HERE / name)


# The feeds, in alphabetical order: the one list of them (schemas/feeds.yaml registers each).
FEEDS: tuple[str, ...] = tuple(sorted(_load("feeds.yaml")["feeds"]))


def check_submission_args(feed: str, provider: str, period: str) -> None:
    """Refuse a feed, provider id or period that is not of the documented form."""
    if feed not in FEEDS:
        raise UnusableInput(f"unknown feed '{feed[:40]}': use one of {', '.join(FEEDS)}")
    if not PROVIDER_ID.fullmatch(provider):
        raise UnusableInput("provider id must be lowercase letters, digits and hyphens (e.g. ngo-harbour)")
    if not PERIOD.fullmatch(period):
        raise UnusableInput("period must be 'all', a year (2024) or a quarter (2024-Q1)")


@cache
def codelists() -> dict[str, dict[str, str]]:
    """Every code list, code -> definition; `country` is ISO 3166-1 alpha-3."""
    lists = {k: {str(c): d for c, d in v.items()} for k, v in _load("codelists.yaml")["codelists"].items()}
    lists["country"] = {str(c): d for c, d in _load("countries.yaml")["codes"].items()}
    return lists


def codelist_version() -> str:
    return str(_load("codelists.yaml")["version"])


@cache
def feed(name: str) -> Feed:
    """The feed called `name` (`law-enforcement` or `victim-assistance`)."""
    spec = _load("feeds.yaml")["feeds"].get(name)
    if spec is None:
        raise KeyError(name)
    columns = {n: Column(name=n, **c) for n, c in spec["columns"].items()}
    return Feed(
        name,
        spec["description"],
        spec["repository"],
        spec["table"],
        spec["label"],
        spec["event_date"],
        tuple(spec["period_dates"]),
        spec.get("role"),
        columns,
    )


@cache
def mapping(provider: str) -> Mapping:
    """The provider's code mapping; an empty one when the provider sends standard codes."""
    path = HERE / "mappings" / f"{provider}.yaml"
    if not PROVIDER_ID.fullmatch(provider) or not path.exists():
        return Mapping(provider, "")
    spec = read_yaml(path)
    codes = {
        col: {str(k).strip().casefold(): str(v) for k, v in (m or {}).items()}
        for col, m in (spec.get("codes") or {}).items()
    }
    return Mapping(spec["provider"], spec["feed"], codes)


@cache
def coverage() -> dict[str, dict[str, dict]]:
    """Per column, the codes national law covered only from a year on: {column: {code: {covered_from, note}}}."""
    path = HERE / "coverage.yaml"
    return _load("coverage.yaml")["coverage"] if path.exists() else {}
