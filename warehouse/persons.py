"""What the stored linkage keeps per kind of person: record attributes, person-year rows and their profiles.

A person-year row resolves a person's records of one reporting year into one set of values (the most frequent
known value; ties go to the first in code order, so the same records always give the same row). A profile is
a distinct person-year row without its person key, with the number of person-years that have it: the
research tables are sums over profiles, so a rebuild reads a few thousand profiles instead of every record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of linked person: where its records come from and how they resolve into person-years."""

    attributes: str  # record columns kept beside the linkage columns (and sex), as read from the repository
    person_columns: tuple[str, ...]  # the columns of a profile
    persons_sql: str  # person-year rows of the records in {records} (with person_key)


VICTIM = Kind(
    attributes="reporting_year, age_group, citizenship, exploitation_forms, {transnational}, {identified_by}, "
    "{source} AS source, provider",
    person_columns=(
        "reporting_year",
        "sex",
        "age_group",
        "citizenship",
        "is_transnational",
        "identified_by",
        "exploitation_forms",
        "lists",
    ),
    persons_sql="""
    SELECT person_key, reporting_year,
           coalesce(mode(sex ORDER BY sex) FILTER (WHERE sex <> 'unknown'), 'unknown') AS sex,
           coalesce(mode(age_group ORDER BY age_group) FILTER (WHERE age_group <> 'unknown'), 'unknown') AS age_group,
           coalesce(mode(citizenship ORDER BY citizenship) FILTER (WHERE citizenship <> 'XXX'), 'XXX') AS citizenship,
           CASE WHEN bool_or(is_transnational) THEN 'transnational'
                WHEN bool_and(NOT is_transnational) THEN 'internal' ELSE 'unknown' END AS is_transnational,
           coalesce(mode(identified_by ORDER BY identified_by) FILTER (WHERE identified_by <> 'unknown'), 'unknown')
               AS identified_by,
           list_sort(list_distinct(flatten(list(exploitation_forms)))) AS exploitation_forms,
           list_sort(list_distinct(list(CASE WHEN source = 'law-enforcement' THEN 'law-enforcement'
                                             ELSE provider END))) AS lists
    FROM {records}
    GROUP BY person_key, reporting_year
    """,
)
SUSPECT = Kind(
    attributes="reporting_year, stage, offence, sentence_months",
    person_columns=("reporting_year", "stage_rank", "conviction_offence", "sentence_months"),
    persons_sql="""
    SELECT person_key, reporting_year,
           max(CASE stage WHEN 'convicted' THEN 3 WHEN 'prosecuted' THEN 2 ELSE 1 END) AS stage_rank,
           coalesce(mode(offence ORDER BY offence) FILTER (WHERE stage = 'convicted'), 'none') AS conviction_offence,
           max(sentence_months) AS sentence_months
    FROM {records}
    GROUP BY person_key, reporting_year
    """,
)


def victim_attributes(feed_alias: str) -> str:
    """The victim attributes of a record of the repository attached as `feed_alias` (va or le)."""
    if feed_alias == "va":
        return VICTIM.attributes.format(
            transnational="is_transnational", identified_by="identified_by", source="'victim-assistance'"
        )
    return VICTIM.attributes.format(
        transnational="NULL::BOOLEAN AS is_transnational",
        identified_by="NULL::VARCHAR AS identified_by",
        source="'law-enforcement'",
    )
