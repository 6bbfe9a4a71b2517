"""Map a provider's extract onto the standard: trimmed text, standard codes, typed dates and numbers."""

from __future__ import annotations

from schemas.standard import Feed, codelists, mapping

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y"]
# The date that places a row in a reporting period, latest stage first.
EVENT_DATES = {
    "victim-assistance": ["identification_date"],
    "law-enforcement": ["conviction_date", "prosecution_date", "investigation_date"],
}
# The date a person's age is measured at.
AGE_AT = {"victim-assistance": "identification_date", "law-enforcement": "investigation_date"}


def _q(name: str) -> str:
    """Quote a column name taken from the standard (never from user input)."""
    return '"' + name.replace('"', '""') + '"'


def _raw(name: str) -> str:
    return f"nullif(trim({_q(name)}), '')"


def code_lookup(feed: Feed, provider: str) -> dict[str, dict[str, str]]:
    """For each coded column: every accepted spelling (case-folded) -> its standard code."""
    lists = codelists()
    local = mapping(provider).codes
    lookup = {}
    for col in feed.columns.values():
        if col.codelist is None:
            continue
        accepted = {code.casefold(): code for code in lists[col.codelist]}
        accepted.update(local.get(col.name, {}))
        lookup[col.name] = accepted
    return lookup


def standardise_sql(feed: Feed, provider: str, source: str = "extract") -> tuple[str, dict]:
    """SQL (and its parameters) that turns the raw table `source` into the standard's types.

    An unmapped code keeps its raw value so that validation can name it; a date or number that
    does not parse becomes NULL with a `<column>__bad` flag beside it.
    """
    params: dict[str, list[str]] = {}
    select = ["_row"]
    for name, col in feed.columns.items():
        raw = _raw(name)
        if col.type in ("code", "codes", "services"):
            if col.type == "services":
                select.append(f"{raw} AS {_q(name)}")
                continue
            lookup = code_lookup(feed, provider)[name]
            params[f"{name}_k"], params[f"{name}_v"] = list(lookup), list(lookup.values())
            if col.type == "code":
                code_map = f"MAP(${name}_k::VARCHAR[], ${name}_v::VARCHAR[])"
                select.append(f"coalesce(map_extract_value({code_map}, lower(trim({raw}))), trim({raw})) AS {_q(name)}")
            else:
                # Inside a lambda a MAP is built again for every element: a position in the key list is not.
                found = f"list_extract(${name}_v::VARCHAR[], list_position(${name}_k::VARCHAR[], lower(trim(e))))"
                parts = f"list_filter(string_split({raw}, ';'), e -> trim(e) <> '')"
                mapped = f"list_transform({parts}, e -> coalesce({found}, trim(e)))"
                select.append(f"nullif(array_to_string(list_sort(list_distinct({mapped})), ';'), '') AS {_q(name)}")
        elif col.type == "date":
            # A four-digit year (not 0xxx): strptime would read 5/3/15 as the year 15.
            four_digit = f"CASE WHEN regexp_matches({raw}, '(^|\\D)[1-9]\\d{{3}}($|\\D)') THEN {raw} END"
            parsed = f"try_strptime({four_digit}, {DATE_FORMATS!r})::DATE"
            select.append(f"{parsed} AS {_q(name)}")
            select.append(f"({raw} IS NOT NULL AND {parsed} IS NULL) AS {_q(name + '__bad')}")
        elif col.type == "integer":
            parsed = f"try_cast({raw} AS BIGINT)"
            select.append(f"{parsed} AS {_q(name)}")
            select.append(f"({raw} IS NOT NULL AND {parsed} IS NULL) AS {_q(name + '__bad')}")
        else:
            select.append(f"{raw} AS {_q(name)}")
    event = "coalesce(" + ", ".join(_q(c) for c in EVENT_DATES[feed.name]) + ")"
    # Two levels: the inner query types the columns, the outer one derives from typed values.
    sql = (
        f"SELECT *, year({event}) AS reporting_year, quarter({event}) AS reporting_quarter, "
        f"date_sub('year', date_of_birth, {_q(AGE_AT[feed.name])}) AS age_at_event, "
        f"coalesce(date_of_birth > {_q(AGE_AT[feed.name])}, false) AS _birth_after_event, "
        "(provider_record_id IS NOT NULL AND "
        "row_number() OVER (PARTITION BY provider_record_id ORDER BY _row) > 1) AS _duplicate "
        f"FROM (SELECT {', '.join(select)} FROM {source}) ORDER BY _row"
    )
    return sql, params
