"""Validate an extract against the common data set: the same code on the provider's machine and in the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from schemas.rules import all_codes, feed_rules, pandera_schema, per_distinct
from schemas.standard import Feed, codelists
from schemas.standardise import standardise_sql
from sources.errors import UnusableInput
from sources.reader import ROW, Extract

FAILURE_SCHEMA = pa_arrow.schema(
    [
        ("row_number", pa_arrow.int64()),
        ("column_name", pa_arrow.string()),
        ("rule", pa_arrow.string()),
        ("message", pa_arrow.string()),
        ("value", pa_arrow.string()),
    ]
)
# `value` is the offending code for unmapped_code, shown to the provider by `rapporteur validate` on
# their own machine. A provider may type a name into a code column, so the pipeline drops `value`
# before anything is stored (see `stored_failures`) and messages never quote a cell.


@dataclass
class Validation:
    """The outcome of validating one extract: valid standardised rows and one record per failure."""

    rows_in: int
    valid: pa_arrow.Table
    failures: pa_arrow.Table
    notes: list[str] = field(default_factory=list)
    # Every row, standardised, without identifier columns: what dataset-level expectations see.
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def rows_valid(self) -> int:
        return self.valid.num_rows

    @property
    def rows_quarantined(self) -> int:
        return self.rows_in - self.valid.num_rows


def conform_columns(extract: Extract, feed: Feed, filename: str) -> tuple[pa_arrow.Table, list[str]]:
    """The extract's columns in the feed's order; missing optional columns blank, extra ones dropped."""
    table, present = extract.table, set(extract.table.column_names)
    missing = [c.name for c in feed.columns.values() if c.required and c.name not in present]
    if missing:
        raise UnusableInput(
            f"{filename}: required column(s) missing for feed {feed.name}: {', '.join(missing)}; "
            "see the data dictionary"
        )
    notes = []
    extra = sorted(present - set(feed.columns) - {ROW})
    if extra:
        # Unknown columns may be free text about a person: they are dropped, never stored.
        # Listed by position, not name: in a file without a header the names are a row of data.
        positions = ", ".join(str(i) for i, n in enumerate(table.column_names, start=1) if n in extra)
        notes.append(f"dropped {len(extra)} column(s) not in the standard (column {positions})")
    blank = pa_arrow.array([""] * table.num_rows, pa_arrow.string())
    columns = [table.column(n) if n in present else blank for n in feed.columns]
    return pa_arrow.table(columns + [table.column(ROW)], names=[*feed.columns, ROW]), notes


def validate(
    extract: Extract,
    feed: Feed,
    provider: str,
    period: str = "all",
    filename: str = "extract",
    today: dt.date | None = None,
) -> Validation:
    """Standardise `extract` and apply every rule of `feed`; nothing is loaded."""
    table, notes = conform_columns(extract, feed, filename)
    con = duckdb.connect()
    con.register("extract", table)
    sql, params = standardise_sql(feed, provider)
    standard = con.execute(sql, params).to_arrow_table()
    rules = feed_rules(feed, period, today)
    frame = standard.drop_columns(feed.identifiers).to_pandas(date_as_object=False)
    failed: list[tuple[int, str]] = []
    try:
        pandera_schema(feed, rules).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        # Only the check name and row index are read: failure_case may hold cell values.
        cases = exc.failure_cases[["check", "index"]].dropna().drop_duplicates()
        failed = [(int(i), str(c)) for c, i in zip(cases["check"], cases["index"], strict=True)]
    by_check = {r.check_name: r for r in rules}
    records = []
    for index, check in sorted(failed):
        rule = by_check.get(check)
        if rule is None:  # pandera reports an exception inside a check under its own name
            continue
        message, value = rule.message, None
        if rule.name == "unmapped_code":
            value = _unmapped_part(str(frame.at[index, rule.column]), feed, rule.column)[:100]
            message = message.format(value="the value", provider=provider)
        records.append((int(frame.at[index, ROW]), rule.column, rule.name, message, value))
    failures = pa_arrow.Table.from_pylist(
        [dict(zip(FAILURE_SCHEMA.names, r, strict=True)) for r in records], schema=FAILURE_SCHEMA
    )
    bad_rows = pa_arrow.array(sorted({r[0] for r in records}), pa_arrow.int64())
    valid = standard.filter(pc.invert(pc.is_in(standard[ROW], value_set=bad_rows)))
    con.close()
    return Validation(table.num_rows, valid, failures, extract.notes + notes, frame)


def _unmapped_part(value: str, feed: Feed, column: str) -> str:
    """The first element of a (possibly ';'-separated) cell that is not a standard code."""
    codes = codelists()[feed.columns[column].codelist]
    return next((v for v in value.split(";") if v not in codes), value)


def stored_failures(failures: pa_arrow.Table) -> pa_arrow.Table:
    """The failures as the pipeline keeps them: without the cell values."""
    return failures.drop_columns(["value"])


UNMAPPED = "(not a code)"


def without_values(validation: Validation, feed: Feed) -> Validation:
    """The same outcome with found values blanked, in the failures and in the frame that expectations and
    Data Docs see: what the bureau's own reports may show. (A provider may type a name into a code column.)"""
    blank = pa_arrow.nulls(validation.failures.num_rows, pa_arrow.string())
    failures = validation.failures.set_column(validation.failures.schema.get_field_index("value"), "value", blank)
    frame = validation.frame
    if frame is not None:
        frame = frame.copy()
        lists = codelists()
        for col in feed.columns.values():
            if col.type in ("code", "codes") and col.name in frame:
                codes = set(lists[col.codelist])
                text = frame[col.name].dropna().astype(str)  # a prepared extract holds lists here
                ok = per_distinct(text, lambda v, c=codes: all_codes(v, c)).reindex(frame.index, fill_value=True)
                column = frame[col.name]
                if not isinstance(column.dtype, pd.StringDtype):  # lists (a prepared extract) or mixed values
                    column = column.astype(object)
                frame[col.name] = column.where(ok, UNMAPPED)
    return Validation(validation.rows_in, validation.valid, failures, validation.notes, frame)


def validate_prepared(table: pa_arrow.Table, expected: pa_arrow.Schema, feed: Feed, provider: str) -> Validation:
    """Check an extract a provider prepared (already validated and pseudonymised on their machine).

    Its layout must be exactly what this version's `prepare` writes; its codes must be standard codes
    and its record ids unique. Rows that fail are quarantined like any others.
    """
    for name in expected.names:
        if name not in table.column_names:
            raise UnusableInput(f"prepared extract: column {name} is missing; prepare it again with this version")
        if not table.schema.field(name).type.equals(expected.field(name).type):
            raise UnusableInput(f"prepared extract: column {name} has the wrong type; prepare it again")
    table = table.select(expected.names)
    lists = codelists()
    con = duckdb.connect()
    con.register("prepared", table)
    checks = [
        "SELECT row_number, 'provider_record_id' AS col, 'duplicate_record_id' AS rule FROM "
        "(SELECT row_number, row_number() OVER (PARTITION BY provider_record_id ORDER BY row_number) AS n "
        "FROM prepared) WHERE n > 1"
    ]
    params: dict[str, list[str]] = {}
    for col in feed.columns.values():
        name = "exploitation_forms" if col.name == "exploitation_form" else col.name
        if col.codelist is None or name not in table.column_names:
            continue
        kind = table.schema.field(name).type
        is_list = pa_arrow.types.is_list(kind)
        if not (is_list or pa_arrow.types.is_string(kind)):
            continue  # a derived column of the same name (is_child: from the age), not the provider's code
        params[name] = list(lists[col.codelist])
        bad = (
            f"NOT list_has_all(${name}::VARCHAR[], {name})"
            if is_list
            else f"{name} NOT IN (SELECT unnest(${name}::VARCHAR[]))"
        )
        checks.append(f"SELECT row_number, '{col.name}', 'unmapped_code' FROM prepared WHERE {bad}")
        if col.required:
            checks.append(f"SELECT row_number, '{col.name}', 'required' FROM prepared WHERE {name} IS NULL")
    failed = con.execute(" UNION ALL ".join(checks) + " ORDER BY 1, 2, 3", params).fetchall()
    con.close()
    messages = {
        "duplicate_record_id": "provider_record_id repeats an earlier row of this file",
        "unmapped_code": "not a standard code (a prepared extract carries standard codes only)",
        "required": "blank; it is required",
    }
    failures = pa_arrow.Table.from_pylist(
        [
            {"row_number": r, "column_name": c, "rule": rule, "message": f"{c}: {messages[rule]}", "value": None}
            for r, c, rule in failed
        ],
        schema=FAILURE_SCHEMA,
    )
    bad_rows = pa_arrow.array(sorted({r for r, _, _ in failed}), pa_arrow.int64())
    valid = table.filter(pc.invert(pc.is_in(table["row_number"], value_set=bad_rows)))
    frame = table.drop_columns([c for c in table.column_names if c.startswith("l1_")]).to_pandas()
    return Validation(table.num_rows, valid, failures, [f"prepared extract from {provider}"], frame)
