"""The README's researcher examples run on a real research database, and none quietly undercounts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import duckdb

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples() -> list[str]:
    """The SQL of every `rapporteur sql ... -c "..."` line in the README."""
    found = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("rapporteur sql") and " -c " in line:
            args = shlex.split(line)
            found.append(args[args.index("-c") + 1])
    return found


def test_the_readme_shows_researcher_examples():
    assert len(_examples()) >= 4


def test_every_readme_example_runs_on_the_research_database(research_db):
    with duckdb.connect(str(research_db), read_only=True) as con:
        for sql in _examples():
            assert con.execute(sql).fetchall(), sql


def test_no_readme_example_sums_counts_without_counting_the_suppressed_cells():
    """A sum over a column with suppressed (NULL) cells is a lower bound: an example that sums a count must
    show the hidden cells beside it, and the furthest-stage table is never summed as if it were the funnel."""
    for sql in _examples():
        if re.search(r"\bsum\s*\(", sql, re.IGNORECASE):
            assert re.search(r"FILTER\s*\(\s*WHERE\s+suppressed\s*\)", sql, re.IGNORECASE), sql
        assert not re.search(r"sum\s*\(\s*suspect_records", sql, re.IGNORECASE), sql
