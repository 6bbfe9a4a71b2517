"""Map a provider's extract onto the standard: trimmed text, standard codes, typed dates and numbers."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from schemas.standard import Feed, codelists, mapping

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y"]


def _q(name: str) -> str:
    """Quote a column name taken from the standard (never from user input)."""
    return '"' + name.replace('"', '""') + '"'


# What DuckDB's trim() removes (the Unicode space separators, not tabs or line breaks): cells are trimmed
# the same way as before this was done in Arrow, so record ids and tokens do not change.
SPACES = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


def trim_cells(table: pa.Table) -> pa.Table:
    """Every text column trimmed of spaces (in Arrow: several times faster than DuckDB's trim)."""
    columns = [pc.utf8_trim(c, SPACES) if pa.types.is_string(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def standardise(table: pa.Table, feed: Feed, provider: str) -> pa.Table:
    """The raw rows of `table` (strings, with `_row`) in the standard's types (see `standardise_sql`)."""
    con = duckdb.connect()
    try:
        con.register("extract", trim_cells(table))
        sql, params = standardise_sql(feed, provider)
        return con.execute(sql, params).to_arrow_table()
    finally:
        con.close()


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
    """SQL (and its parameters) that turns the raw table `source` (cells trimmed: `trim_cells`) into the
    standard's types.

    An unmapped code keeps its raw value so that validation can name it; a date or number that
    does not parse becomes NULL with a `<column>__bad` flag beside it. A coded or date column is a
    function of its cell alone and has few distinct values however many rows it has (a few hundred
    codes, some thousands of dates): it is standardised once per distinct value and joined back.
    """
    params: dict[str, list[str]] = {}
    trimmed = ", ".join(f"nullif({_q(name)}, '') AS {_q(name)}" for name in feed.columns)
    select, lookups, joins = ["t._row"], [], []
    for i, (name, col) in enumerate(feed.columns.items()):
        cell = f"t.{_q(name)}"
        if col.type in ("code", "codes"):
            value = _code_sql(feed, provider, name, col.type, params)
        elif col.type == "date":
            value = _date_sql("v")
        elif col.type == "integer":
            parsed = f"try_cast({cell} AS BIGINT)"
            select += [f"{parsed} AS {_q(name)}", f"({cell} IS NOT NULL AND {parsed} IS NULL) AS {_q(name + '__bad')}"]
            continue
        else:  # text and services: as given (trimmed)
            select.append(f"{cell} AS {_q(name)}")
            continue
        lookups.append(
            f"m{i} AS (SELECT v, {value} AS s FROM (SELECT DISTINCT {_q(name)} AS v FROM trimmed WHERE v IS NOT NULL))"
        )
        joins.append(f"LEFT JOIN m{i} ON {cell} = m{i}.v")
        select.append(f"m{i}.s AS {_q(name)}")
        if col.type == "date":
            select.append(f"({cell} IS NOT NULL AND m{i}.s IS NULL) AS {_q(name + '__bad')}")
    event = "coalesce(" + ", ".join(_q(c) for c in feed.period_dates) + ")"
    # Two levels: the inner query types the columns, the outer one derives from typed values.
    sql = (
        f"WITH trimmed AS (SELECT _row, {trimmed} FROM {source}), {', '.join(lookups)} "
        f"SELECT *, year({event}) AS reporting_year, quarter({event}) AS reporting_quarter, "
        f"date_sub('year', date_of_birth, {_q(feed.event_date)}) AS age_at_event, "
        f"coalesce(date_of_birth > {_q(feed.event_date)}, false) AS _birth_after_event, "
        "(provider_record_id IS NOT NULL AND "
        "row_number() OVER (PARTITION BY provider_record_id ORDER BY _row) > 1) AS _duplicate "
        f"FROM (SELECT {', '.join(select)} FROM trimmed t {' '.join(joins)}) ORDER BY _row"
    )
    return sql, params


def _code_sql(feed: Feed, provider: str, name: str, kind: str, params: dict) -> str:
    """The standard code(s) of the distinct trimmed value `v` of a coded column (the raw value when unmapped)."""
    lookup = code_lookup(feed, provider)[name]
    params[f"{name}_k"], params[f"{name}_v"] = list(lookup), list(lookup.values())

    def found(code: str) -> str:
        return f"list_extract(${name}_v::VARCHAR[], list_position(${name}_k::VARCHAR[], lower(trim({code}))))"

    if kind == "code":
        return f"coalesce({found('v')}, v)"
    parts = "list_filter(string_split(v, ';'), e -> trim(e) <> '')"
    mapped = f"list_transform({parts}, e -> coalesce({found('e')}, trim(e)))"
    return f"nullif(array_to_string(list_sort(list_distinct({mapped})), ';'), '')"


def _date_sql(value: str) -> str:
    """The DATE of a distinct trimmed value, NULL when it does not parse in an accepted format."""
    # A four-digit year (not 0xxx): strptime would read 5/3/15 as the year 15.
    four_digit = f"CASE WHEN regexp_matches({value}, '(^|\\D)[1-9]\\d{{3}}($|\\D)') THEN {value} END"
    return f"try_strptime({four_digit}, {DATE_FORMATS!r})::DATE"
