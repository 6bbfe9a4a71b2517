"""The common data set as Python objects, loaded once from the YAML files beside this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from sources.inbox import FEEDS, PROVIDER_ID  # noqa: F401  (re-exported: one definition)

HERE = Path(__file__).parent
UNKNOWN_COUNTRY = "XXX"


@dataclass(frozen=True)
class Column:
    """One column of a feed's extract."""

    name: str
    type: str
    description: str
    codelist: str | None = None
    required: bool = False
    identifier: bool = False


@dataclass(frozen=True)
class Feed:
    """One provider feed: its columns and the repository it loads into."""

    name: str
    description: str
    repository: str
    columns: dict[str, Column]

    @property
    def table(self) -> str:
        """The feed's name as an SQL and asset identifier."""
        return self.name.replace("-", "_")

    @property
    def identifiers(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.identifier]


@dataclass(frozen=True)
class Mapping:
    """A provider's local codes for each coded column, keyed by the case-folded local code."""

    provider: str
    feed: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)


def _load(name: str) -> dict:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


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
    return Feed(name, spec["description"], spec["repository"], columns)


@cache
def mapping(provider: str) -> Mapping:
    """The provider's code mapping; an empty one when the provider sends standard codes."""
    path = HERE / "mappings" / f"{provider}.yaml"
    if not PROVIDER_ID.fullmatch(provider) or not path.exists():
        return Mapping(provider, "")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
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
