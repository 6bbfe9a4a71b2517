"""The research database's tables as documented in research_tables.yaml: its COMMENT statements and the
data dictionary's section are both generated from here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from schemas.standard import HERE, read_yaml

SOURCE = HERE / "research_tables.yaml"
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    unit: str | None = None


@dataclass(frozen=True)
class ResearchTable:
    name: str
    description: str
    counts: str
    suppression: str
    columns: tuple[Column, ...]


@cache
def research_tables() -> tuple[str, tuple[ResearchTable, ...]]:
    """The general note on suppression, and every table in file order."""
    spec = read_yaml(SOURCE)
    tables = []
    for name, t in spec["tables"].items():
        columns = tuple(Column(c, str(v["description"]), v.get("unit")) for c, v in t["columns"].items())
        for n in (name, *(c.name for c in columns)):
            if not NAME.match(n):
                raise ValueError(f"{SOURCE.name}: '{n}' is not a table or column name")
        tables.append(ResearchTable(name, str(t["description"]), str(t["counts"]), str(t["suppression"]), columns))
    return str(spec["suppression"]), tuple(tables)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements() -> list[str]:
    """COMMENT ON statements for every documented table and column (names checked against NAME)."""
    statements = []
    for t in research_tables()[1]:
        text = f"{t.description} Counts: {t.counts}. Suppression: {t.suppression}"
        statements.append(f"COMMENT ON TABLE {t.name} IS {_literal(text)};")
        for c in t.columns:
            text = c.description + (f" Unit: {c.unit}." if c.unit else "")
            statements.append(f"COMMENT ON COLUMN {t.name}.{c.name} IS {_literal(text)};")
    return statements
