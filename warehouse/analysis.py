"""The bureau's analysis step: link persons across providers and repositories, then aggregate.

Linkage runs here, on keyed tokens: the stored linkage (warehouse/linkage_store.py, an encrypted file) is
brought in step with the repositories, linking only what changed since the last run. Aggregation runs in an
in-memory DuckDB with a memory limit that never spills to disk; only the aggregates leave it for the research
database (no token, no person key).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from warehouse.duck import encrypted
from warehouse.linkage_store import sync_linkage

# The in-memory analysis database never spills (temp_directory ''), so this is its ceiling, not a target.
MEMORY_LIMIT = "2GB"
# Victim records of both repositories, for the records-per-provider count.
VICTIM_RECORDS = """
    SELECT 'victim-assistance' AS source, provider, reporting_year FROM va.current_victim_assistance
    UNION ALL
    SELECT 'law-enforcement' AS source, provider, reporting_year FROM le.current_law_enforcement
    WHERE person_role = 'victim'
"""
VICTIM_DIMENSIONS = {
    "total": "'all'",
    "sex": "sex",
    "age_group": "age_group",
    "citizenship": "citizenship",
    "exploitation_form": "unnest(exploitation_forms)",
    "internal_or_transnational": "is_transnational",
    "identifying_agency": "identified_by",
}
UNKNOWN = {
    "sex": "unknown",
    "age_group": "unknown",
    "citizenship": "XXX",
    "internal_or_transnational": "unknown",
    "identifying_agency": "unknown",
}
STAGES = {"investigated": 1, "prosecuted": 2, "convicted": 3}


def analyse(repositories: dict[str, Path], db_key: bytes, linkage: Path) -> dict[str, pd.DataFrame]:
    """Person-level counts (long format), sentences and provider overlaps from the two repositories.

    `linkage` is the stored linkage file, synced first (created on the first run). Person counts are sums
    over its profiles (warehouse/persons.py); record counts come from the repositories' current views.
    """
    con = duckdb.connect()
    con.execute("SET temp_directory = ''")  # never spill tokens or records to disk
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    try:
        for alias, path in repositories.items():
            encrypted(path, db_key, alias=alias, read_only=True, con=con)
        encrypted(linkage, db_key, alias="ls", con=con)
        sync_linkage(con, "ls")
        con.execute("DETACH ls")  # re-attached read-only: the aggregation below never writes the store
        encrypted(linkage, db_key, alias="ls", read_only=True, con=con)
        con.execute(f"CREATE TEMP VIEW victim_records AS {VICTIM_RECORDS}")
        return {
            "counts": _counts(con),
            "sentences": con.execute(
                "SELECT reporting_year AS period, count(*) AS convicted_with_sentence, "
                "median(sentence_months) AS median_months, quantile_cont(sentence_months, 0.25) AS p25_months, "
                "quantile_cont(sentence_months, 0.75) AS p75_months FROM ls.suspect_profiles, range(persons) "
                "WHERE stage_rank = 3 AND sentence_months IS NOT NULL GROUP BY ALL ORDER BY ALL"
            ).df(),
            "provider_overlap": con.execute(
                "SELECT reporting_year AS period, array_to_string(lists, ' + ') AS lists, len(lists) AS n_lists, "
                "sum(persons)::BIGINT AS persons FROM ls.victim_profiles GROUP BY ALL ORDER BY ALL"
            ).df(),
        }
    finally:
        con.close()


def _counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Long format (indicator, period, dimension, category, value) of every person and record count.

    Each part gives its rows a weight `n`: the persons of a profile, or 1 for a record.
    """
    parts = [
        f"SELECT 'unique_victims' AS indicator, reporting_year AS period, '{dim}' AS dimension, "
        f"CAST({expr} AS VARCHAR) AS category, persons AS n FROM ls.victim_profiles"
        for dim, expr in VICTIM_DIMENSIONS.items()
    ]
    parts.append(
        "SELECT 'victim_records' AS indicator, reporting_year AS period, 'provider' AS dimension, "
        "source || ': ' || provider AS category, 1 FROM victim_records"
    )
    for dim, position in (("service", 1), ("service_provider", 2)):
        parts.append(
            f"SELECT 'services_received', reporting_year, '{dim}', string_split(s, ':')[{position}], 1 FROM "
            "(SELECT reporting_year, unnest(services) AS s FROM va.current_victim_assistance)"
        )
    for stage, rank in STAGES.items():
        parts.append(
            f"SELECT 'suspects', reporting_year, 'stage', '{stage}', persons FROM ls.suspect_profiles "
            f"WHERE stage_rank >= {rank}"
        )
    parts.append(
        "SELECT 'convicted_suspects', reporting_year, 'offence', conviction_offence, persons FROM ls.suspect_profiles "
        "WHERE stage_rank = 3"
    )
    union = " UNION ALL ".join(parts)
    return con.execute(
        f"SELECT indicator, period, dimension, category, sum(n)::BIGINT AS value FROM ({union}) "
        "GROUP BY ALL ORDER BY ALL"
    ).df()
