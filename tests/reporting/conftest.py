"""Fixtures for the report tests: one research database built by the main job, shared by the session."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import installation_after_run


@pytest.fixture(scope="session")
def research_db(tmp_path_factory, sample_dir) -> Path:
    """research.duckdb after one run of the main job over the generated sample."""
    with installation_after_run(tmp_path_factory.mktemp("reporting") / "home", sample_dir) as home:
        yield home.warehouse / "research.duckdb"


@pytest.fixture(scope="session")
def report_year(research_db) -> int:
    """The latest year with a published total of unique victims."""
    with duckdb.connect(str(research_db), read_only=True) as con:
        return con.execute(
            "SELECT max(period) FROM indicators WHERE indicator = 'unique_victims' AND dimension = 'total'"
        ).fetchone()[0]
