"""The research database and the hidden population as two steps: the build stages the exact overlap of lists
(encrypted), the estimate reads it, publishes into the research database and removes it."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa

from application.home import Home
from privacy.keys import Keyring
from privacy.sealed import open_table, seal_table
from warehouse.research import build_research, hidden_population, publish_hidden_population


def overlap_path(home: Home) -> Path:
    """The exact overlap of lists (counts before suppression), staged encrypted between the two steps."""
    return home.staging / "provider_overlap.sealed"


def rebuild_research_database(home: Home, keyring: Keyring, log: logging.Logger | None = None) -> dict[str, int]:
    """Rebuild the research database from both repositories and stage the overlap; return rows per table."""
    settings = home.settings
    counts, overlap = build_research(
        home.warehouse, keyring.key("database"), settings.disclosure_k, settings.baseline_year, log, estimate=False
    )
    seal_table(pa.Table.from_pandas(overlap, preserve_index=False), overlap_path(home), keyring.key("staging"))
    return counts


def estimate_hidden_population(home: Home, keyring: Keyring) -> tuple[int, pd.DataFrame]:
    """Estimate the hidden population from the staged overlap and publish it; the rows written and the estimates.

    The staged overlap is removed once the estimate is published."""
    staged = overlap_path(home)
    overlap = open_table(staged, keyring.key("staging")).to_pandas()
    estimates = hidden_population(overlap, home.settings.disclosure_k)
    rows = publish_hidden_population(home.warehouse, estimates)
    staged.unlink()
    return rows, estimates
