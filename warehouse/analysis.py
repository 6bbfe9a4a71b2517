"""The bureau's analysis step: link persons across providers and repositories, then aggregate.

Linkage runs here, on keyed tokens, in an in-memory DuckDB that never spills to disk; only the
aggregates leave it for the research database (no token, no person key).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from privacy.linkage import link_records
from warehouse.duck import encrypted

LINK_COLUMNS = "record_key, document_token, name_dob_token, skeleton_token, event_token, sex"
VICTIM_RECORDS = """
    SELECT 'va|' || submission_id || '|' || row_number AS record_key, 'victim-assistance' AS source, provider,
           document_token, name_dob_token, skeleton_token, event_token, reporting_year, sex, age_group, citizenship,
           exploitation_forms, is_transnational, identified_by
    FROM va.current_victim_assistance
    UNION ALL BY NAME
    SELECT 'le|' || submission_id || '|' || row_number AS record_key, 'law-enforcement' AS source, provider,
           document_token, name_dob_token, skeleton_token, event_token, reporting_year, sex, age_group, citizenship,
           exploitation_forms, NULL::BOOLEAN AS is_transnational, NULL::VARCHAR AS identified_by
    FROM le.current_law_enforcement WHERE person_role = 'victim'
"""
# One row per person and reporting year; conflicting records resolve to the most frequent known value.
VICTIM_PERSONS = """
    SELECT l.person_key, r.reporting_year,
           coalesce(mode(r.sex) FILTER (WHERE r.sex <> 'unknown'), 'unknown') AS sex,
           coalesce(mode(r.age_group) FILTER (WHERE r.age_group <> 'unknown'), 'unknown') AS age_group,
           coalesce(mode(r.citizenship) FILTER (WHERE r.citizenship <> 'XXX'), 'XXX') AS citizenship,
           CASE WHEN bool_or(r.is_transnational) THEN 'transnational'
                WHEN bool_and(NOT r.is_transnational) THEN 'internal' ELSE 'unknown' END AS is_transnational,
           coalesce(mode(r.identified_by) FILTER (WHERE r.identified_by <> 'unknown'), 'unknown') AS identified_by,
           list_distinct(flatten(list(r.exploitation_forms))) AS exploitation_forms,
           list_sort(list_distinct(list(CASE WHEN r.source = 'law-enforcement' THEN 'law-enforcement'
                                             ELSE r.provider END))) AS lists
    FROM victim_records r JOIN victim_links l USING (record_key)
    GROUP BY l.person_key, r.reporting_year
"""
SUSPECT_PERSONS = """
    SELECT l.person_key, r.reporting_year,
           max(CASE r.stage WHEN 'convicted' THEN 3 WHEN 'prosecuted' THEN 2 ELSE 1 END) AS stage_rank,
           coalesce(mode(r.offence) FILTER (WHERE r.stage = 'convicted'), 'none') AS conviction_offence,
           max(r.sentence_months) AS sentence_months
    FROM suspect_records r JOIN suspect_links l USING (record_key)
    GROUP BY l.person_key, r.reporting_year
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


def analyse(repositories: dict[str, Path], db_key: bytes) -> dict[str, pd.DataFrame]:
    """Person-level counts (long format), sentences and provider overlaps from the two repositories."""
    con = duckdb.connect()
    con.execute("SET temp_directory = ''")  # never spill tokens to disk
    try:
        for alias, path in repositories.items():
            encrypted(path, db_key, alias=alias, read_only=True, con=con)
        con.execute(f"CREATE TABLE victim_records AS {VICTIM_RECORDS}")
        _link(con, "victim_records", "victim_links")
        con.execute(f"CREATE TABLE victim_persons AS {VICTIM_PERSONS}")
        con.execute(
            "CREATE TABLE suspect_records AS SELECT 'le|' || submission_id || '|' || row_number AS record_key, * "
            "FROM le.current_law_enforcement WHERE person_role = 'suspect'"
        )
        _link(con, "suspect_records", "suspect_links")
        con.execute(f"CREATE TABLE suspect_persons AS {SUSPECT_PERSONS}")
        return {
            "counts": _counts(con),
            "sentences": con.execute(
                "SELECT reporting_year AS period, count(*) AS convicted_with_sentence, "
                "median(sentence_months) AS median_months, quantile_cont(sentence_months, 0.25) AS p25_months, "
                "quantile_cont(sentence_months, 0.75) AS p75_months FROM suspect_persons "
                "WHERE stage_rank = 3 AND sentence_months IS NOT NULL GROUP BY ALL ORDER BY ALL"
            ).df(),
            "provider_overlap": con.execute(
                "SELECT reporting_year AS period, array_to_string(lists, ' + ') AS lists, len(lists) AS n_lists, "
                "count(*) AS persons FROM victim_persons GROUP BY ALL ORDER BY ALL"
            ).df(),
        }
    finally:
        con.close()


def _link(con: duckdb.DuckDBPyConnection, records: str, links: str) -> None:
    table = link_records(con, f"SELECT {LINK_COLUMNS} FROM {records}")
    con.register(f"{links}_arrow", table)
    con.execute(f"CREATE TABLE {links} AS SELECT * FROM {links}_arrow")
    con.unregister(f"{links}_arrow")


def _counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Long format (indicator, period, dimension, category, value) of every person and record count."""
    parts = [
        f"SELECT 'unique_victims' AS indicator, reporting_year AS period, '{dim}' AS dimension, "
        f"CAST({expr} AS VARCHAR) AS category FROM victim_persons"
        for dim, expr in VICTIM_DIMENSIONS.items()
    ]
    parts.append(
        "SELECT 'victim_records' AS indicator, reporting_year AS period, 'provider' AS dimension, "
        "source || ': ' || provider AS category FROM victim_records"
    )
    for dim, position in (("service", 1), ("service_provider", 2)):
        parts.append(
            f"SELECT 'services_received', reporting_year, '{dim}', string_split(s, ':')[{position}] FROM "
            "(SELECT reporting_year, unnest(services) AS s FROM va.current_victim_assistance)"
        )
    for stage, rank in STAGES.items():
        parts.append(
            f"SELECT 'suspects', reporting_year, 'stage', '{stage}' FROM suspect_persons WHERE stage_rank >= {rank}"
        )
    parts.append(
        "SELECT 'convicted_suspects', reporting_year, 'offence', conviction_offence FROM suspect_persons "
        "WHERE stage_rank = 3"
    )
    union = " UNION ALL ".join(parts)
    return con.execute(
        f"SELECT indicator, period, dimension, category, count(*) AS value FROM ({union}) GROUP BY ALL ORDER BY ALL"
    ).df()
