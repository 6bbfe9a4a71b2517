"""Validate an extract against the common data set: the same code on the provider's machine and in the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from errors import UnusableInput, redact
from schemas.expectations import compact_frame, concat_compact
from schemas.failure_log import FailureLog
from schemas.layout import conform_layout
from schemas.rules import all_codes, feed_rules, future_flags, pandera_schema
from schemas.standard import Feed, codelists
from schemas.standardise import standardise
from sources.reader import ROW, Extract

BATCH_ROWS = 100_000  # rows validated at a time: memory grows with this, never with the file
PANDERA_ROWS = 25_000  # rows of a batch given to pandera at a time (as fast as a whole batch, far less memory)

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
    """The outcome of validating one extract: counts, one record per failure, and what expectations see.

    `failures` holds every failure, or only the first ones when the validator was given a bound (`FailureLog`):
    `failure_count` and `failures_by_rule` (rule, column, count, first message) always cover them all.
    `valid` holds the valid standardised rows when the caller asked for them as one table (`validate`);
    a streaming caller (`Validator`) has taken them batch by batch instead.
    """

    rows_in: int
    rows_valid: int
    failures: pa_arrow.Table
    notes: list[str] = field(default_factory=list)
    # Every row, standardised, compact, without identifiers (`compact_frame`): what dataset-level expectations see.
    frame: pd.DataFrame | None = field(default=None, repr=False)
    valid: pa_arrow.Table | None = field(default=None, repr=False)
    quoted: tuple[str, ...] = ()  # header names the notes quote from the file: the bureau's copies leave them out
    failure_count: int | None = None
    failures_by_rule: list[tuple[str, str, int, str]] | None = None

    def __post_init__(self) -> None:
        if self.failure_count is None or self.failures_by_rule is None:  # built from a table of every failure
            log = FailureLog()
            log.add(self.failures)
            self.failure_count, self.failures_by_rule = log.total, log.by_rule()

    @property
    def failures_all_held(self) -> bool:
        return self.failures.num_rows == self.failure_count

    @property
    def rows_quarantined(self) -> int:
        return self.rows_in - self.rows_valid


def conform_columns(extract: Extract, feed: Feed, filename: str) -> tuple[pa_arrow.Table, list[str]]:
    """The extract's columns in the feed's order; missing optional columns blank, extra ones dropped."""
    layout = conform_layout(extract.table.column_names, feed, filename)
    return _in_feed_order(extract.table, feed), layout.notes


def _in_feed_order(table: pa_arrow.Table, feed: Feed) -> pa_arrow.Table:
    present = set(table.column_names)
    blank = pa_arrow.array([""] * table.num_rows, pa_arrow.string())
    columns = [table.column(n) if n in present else blank for n in feed.columns]
    return pa_arrow.table(columns + [table.column(ROW)], names=[*feed.columns, ROW])


class SeenIds:
    """The record ids of the batches checked so far, with the row where each first occurs: a repeated id is a
    duplicate wherever its first row was. Held in memory only (record ids never spill to disk)."""

    def __init__(self) -> None:
        self._con = duckdb.connect()
        self._con.execute("SET temp_directory = ''")
        self._con.execute("CREATE TABLE seen (id VARCHAR, first_row BIGINT)")

    def mark(self, batch: pa_arrow.Table) -> pa_arrow.Table:
        """`batch` (`_row`, provider_record_id, `_duplicate`: repeated within the batch), in row order, with
        `_duplicate` also true for an id an earlier batch used, and `_first_row`; its ids are then seen."""
        con = self._con
        # The batch is the small side: the ids seen so far are scanned, never hashed again for each batch.
        marked = con.execute(
            """
            WITH earlier AS (
                SELECT id, first_row FROM seen WHERE id IN (SELECT provider_record_id FROM batch)
            )
            SELECT b._row, b.provider_record_id, b._duplicate OR e.id IS NOT NULL AS _duplicate,
                   coalesce(e.first_row, min(b._row) OVER (PARTITION BY b.provider_record_id)) AS _first_row
            FROM batch b LEFT JOIN earlier e ON b.provider_record_id = e.id ORDER BY b._row
            """
        ).to_arrow_table()
        con.execute("INSERT INTO seen SELECT provider_record_id, _row FROM marked WHERE NOT _duplicate")
        return marked

    def close(self) -> None:
        self._con.close()


class Validator:
    """Validates an extract batch by batch against every rule of a feed; nothing is loaded.

    What spans batches is kept here, never the valid rows: the record ids seen so far (a repeated id is a
    duplicate wherever its first row was), the failures, and the compact frame for the dataset-level
    expectations. Call `check` for each batch in file order, then `result`.
    """

    def __init__(
        self,
        feed: Feed,
        provider: str,
        columns: list[str],
        period: str = "all",
        filename: str = "extract",
        today: dt.date | None = None,
        notes: list[str] | None = None,
        failures: FailureLog | None = None,
    ):
        """`failures` receives the failures as found (default: a log that holds them all)."""
        self.feed, self.provider = feed, provider
        layout = conform_layout(columns, feed, filename)
        self.notes, self.quoted = list(notes or []) + layout.notes, layout.quoted
        self.today = today or dt.date.today()
        self.rules = feed_rules(feed, period, self.today)
        self._schema = pandera_schema(feed, self.rules)
        self._by_check = {r.check_name: r for r in self.rules}
        self._seen = SeenIds()
        self.rows_in = self.rows_valid = 0
        self._failures = failures or FailureLog()
        self._frames: list[pd.DataFrame] = []
        self._result: Validation | None = None

    def check(self, batch: pa_arrow.Table | pa_arrow.RecordBatch) -> pa_arrow.Table:
        """The valid rows of one batch of raw rows (strings, with `_row`), standardised."""
        table = _in_feed_order(pa_arrow.table(batch) if isinstance(batch, pa_arrow.RecordBatch) else batch, self.feed)
        standard = self._with_earlier_duplicates(standardise(table, self.feed, self.provider))
        flagged = future_flags(standard, self.feed, self.today)
        frame = flagged.drop_columns(self.feed.identifiers).to_pandas(date_as_object=False)
        records = self._failed(frame)
        bad_rows = pa_arrow.array(sorted({r[0] for r in records}), pa_arrow.int64())
        valid = standard.filter(pc.invert(pc.is_in(standard[ROW], value_set=bad_rows)))
        columns = zip(*records, strict=True) if records else [[]] * len(FAILURE_SCHEMA)
        self._failures.add(pa_arrow.table([list(c) for c in columns], schema=FAILURE_SCHEMA))
        self._frames.append(compact_frame(frame, self.feed, frame.pop("_first_row")))
        self.rows_in += table.num_rows
        self.rows_valid += valid.num_rows
        return valid.drop_columns(["_first_row"])

    def _with_earlier_duplicates(self, standard: pa_arrow.Table) -> pa_arrow.Table:
        """Mark rows whose record id an earlier batch used; add `_first_row`, where each id first occurs."""
        marked = self._seen.mark(standard.select([ROW, "provider_record_id", "_duplicate"]))
        at = standard.schema.get_field_index("_duplicate")
        return standard.set_column(at, "_duplicate", marked["_duplicate"]).append_column(
            "_first_row", marked["_first_row"]
        )

    def _failed(self, frame: pd.DataFrame) -> list[tuple]:
        """One record per failed rule and row: (row number, column, rule, message, offending code)."""
        failed: list[tuple[int, str]] = []
        checked = frame.drop(columns=["_first_row"])
        # pandera lists each failing row of a check cell by cell: a part of PANDERA_ROWS bounds that list.
        for start in range(0, len(checked), PANDERA_ROWS):
            failed += self._failing_checks(checked.iloc[start : start + PANDERA_ROWS])
        records = []
        for index, check in sorted(failed):
            rule = self._by_check[check]
            message, value = rule.message, None
            if rule.name == "unmapped_code":
                value = _unmapped_part(str(frame.at[index, rule.column]), self.feed, rule.column)[:100]
                message = message.format(provider=self.provider)
            records.append((int(frame.at[index, ROW]), rule.column, rule.name, message, value))
        return records

    def _failing_checks(self, frame: pd.DataFrame) -> list[tuple[int, str]]:
        """(row index, check name) of every failure in `frame`."""
        try:
            self._schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            # Only the check name and row index are read: failure_case may hold cell values.
            cases = exc.failure_cases[["check", "index"]].drop_duplicates()
            if cases["index"].isna().any() or not set(cases["check"]) <= self._by_check.keys():
                # A check that raised is reported without a row (its text, which may quote a cell, is not
                # shown): a bug of ours, never to be skipped as if its rows had passed.
                raise RuntimeError(f"a rule of {self.feed.name} raised an error instead of checking its rows") from None
            return [(int(i), str(c)) for c, i in zip(cases["check"], cases["index"], strict=True)]
        return []

    def result(self, valid: pa_arrow.Table | None = None) -> Validation:
        """Counts, failures and the expectations' frame of every batch checked (`valid`: kept by the caller).

        The first call ends the validation; later calls return the same outcome.
        """
        if self._result is None:
            self._seen.close()
            self._result = _outcome(
                self.rows_in, self.rows_valid, self._failures, self.notes, self._frames, quoted=self.quoted
            )
            self._frames = []
        return replace(self._result, valid=valid)


def validate(
    extract: Extract,
    feed: Feed,
    provider: str,
    period: str = "all",
    filename: str = "extract",
    today: dt.date | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Validation:
    """Standardise `extract` and apply every rule of `feed`, keeping the valid rows as one table."""
    validator = Validator(feed, provider, extract.table.column_names, period, filename, today, extract.notes)
    table = extract.table
    parts = [validator.check(table.slice(i, batch_rows)) for i in range(0, max(table.num_rows, 1), batch_rows)]
    return validator.result(pa_arrow.concat_tables(parts))


def _unmapped_part(value: str, feed: Feed, column: str) -> str:
    """The first element of a (possibly ';'-separated) cell that is not a standard code."""
    codes = codelists()[feed.columns[column].code_list]
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
        frame = frame.copy(deep=False)  # its coded columns are replaced below; the others are shared
        lists = codelists()
        for col in feed.columns.values():
            if col.type in ("code", "codes") and col.name in frame:
                shown = _codes_only(frame[col.name], set(lists[col.code_list]))
                if shown is not None:
                    frame[col.name] = shown
    notes = [redact(n, validation.quoted) for n in validation.notes]
    return replace(validation, failures=failures, frame=frame, notes=notes, quoted=())


def _codes_only(column: pd.Series, codes: set[str]) -> pd.Categorical | None:
    """A compact (categorical) column with every category that is not made of standard codes shown as UNMAPPED;
    None when every category is made of codes (the column is shown as it is, and not copied)."""
    categories = column.cat.categories
    shown = [c if all_codes(str(c), codes) else UNMAPPED for c in categories]
    if shown == list(categories):
        return None
    kept = list(dict.fromkeys(shown))
    position = {c: i for i, c in enumerate(kept)}
    codes_of = column.cat.codes.to_numpy()
    recode = np.array([position[c] for c in shown] + [-1], dtype=codes_of.dtype)  # code -1 (blank) stays -1
    return pd.Categorical.from_codes(recode[codes_of], kept)


PREPARED_MESSAGES = {
    "duplicate_record_id": "provider_record_id repeats an earlier row of this file",
    "unmapped_code": "not a standard code (a prepared extract carries standard codes only)",
    "required": "blank; it is required",
    "outside_period": "the row's reporting date falls outside the submission's period",
}


class PreparedValidator:
    """Checks an extract a provider prepared (validated and pseudonymised on their machine), batch by batch.

    Its layout must be exactly what this version's `prepare` writes (checked up front: UnusableInput); its
    codes must be standard codes, its record ids unique across the file, and its rows inside the submission's
    period (the rule raw extracts follow, from the event months it carries). Rows that fail are quarantined like
    any others. Call `check` for each batch in file order, then `result`.
    """

    def __init__(
        self,
        schema: pa_arrow.Schema,
        expected: pa_arrow.Schema,
        feed: Feed,
        provider: str,
        period: str = "all",
        failures: FailureLog | None = None,
    ):
        for name in expected.names:
            if name not in schema.names:
                raise UnusableInput(f"prepared extract: column {name} is missing; prepare it again with this version")
            if not schema.field(name).type.equals(expected.field(name).type):
                raise UnusableInput(f"prepared extract: column {name} has the wrong type; prepare it again")
        self.feed, self.provider, self.expected = feed, provider, expected
        self._checks, self._params = self._code_checks()
        if period != "all":
            self._checks.append(self._period_check(period))
        self._seen = SeenIds()
        self.rows_in = self.rows_valid = 0
        self._failures = failures or FailureLog()
        self._frames: list[pd.DataFrame] = []
        self._result: Validation | None = None

    def _code_checks(self) -> tuple[list[str], dict[str, object]]:
        """SQL per coded column of `prepared`: rows with a code outside its list, or blank where required."""
        lists = codelists()
        checks: list[str] = []
        params: dict[str, object] = {}
        for col in self.feed.columns.values():
            name = "exploitation_forms" if col.name == "exploitation_form" else col.name
            if col.codelist is None or name not in self.expected.names:
                continue
            kind = self.expected.field(name).type
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
        return checks, params

    def _period_check(self, period: str) -> str:
        """SQL: rows whose reporting date falls outside `period` (a year or a quarter), as `outside_period` does
        for a raw extract; the quarter is that of the event month (the latest stage's, as for raw rows)."""
        year, _, quarter = period.partition("-Q")
        self._params["period_year"] = int(year)
        inside = "reporting_year = $period_year"
        if quarter:
            months = ", ".join(d.removesuffix("_date") + "_month" for d in self.feed.period_dates)
            self._params["period_quarter"] = int(quarter)
            inside += f" AND quarter(coalesce({months})) IS NOT DISTINCT FROM $period_quarter"
        return (
            "SELECT row_number, 'reporting_year', 'outside_period' FROM prepared "
            f"WHERE reporting_year IS NOT NULL AND NOT ({inside})"
        )

    def check(self, batch: pa_arrow.Table | pa_arrow.RecordBatch) -> pa_arrow.Table:
        """The valid rows of one batch, in the expected layout."""
        prepared = pa_arrow.table(batch).select(self.expected.names).sort_by("row_number")
        con = duckdb.connect()
        try:
            ids = con.execute(
                "SELECT row_number AS _row, provider_record_id, provider_record_id IS NOT NULL AND "
                "row_number() OVER (PARTITION BY provider_record_id ORDER BY row_number) > 1 AS _duplicate "
                "FROM prepared ORDER BY row_number"
            ).to_arrow_table()
            marked = self._seen.mark(ids)
            duplicates = "SELECT _row, 'provider_record_id', 'duplicate_record_id' FROM marked WHERE _duplicate"
            failed = con.execute(
                " UNION ALL ".join([duplicates, *self._checks]) + " ORDER BY 1, 2, 3", self._params
            ).fetchall()
        finally:
            con.close()
        self._failures.add(
            pa_arrow.Table.from_pylist(
                [
                    {"row_number": r, "column_name": c, "rule": rule, "message": f"{c}: {PREPARED_MESSAGES[rule]}"}
                    for r, c, rule in failed
                ],
                schema=FAILURE_SCHEMA,
            )
        )
        bad_rows = pa_arrow.array(sorted({r for r, _, _ in failed}), pa_arrow.int64())
        valid = prepared.filter(pc.invert(pc.is_in(prepared["row_number"], value_set=bad_rows)))
        shown = prepared.drop_columns([c for c in prepared.column_names if c.startswith("l1_")])
        for at, column in enumerate(shown.columns):  # a list of codes is seen as its text, as in a raw extract
            if pa_arrow.types.is_list(column.type):
                shown = shown.set_column(at, shown.field(at).name, pc.binary_join(column, ";"))
        self._frames.append(compact_frame(shown.to_pandas(), self.feed, marked["_first_row"].to_pandas()))
        self.rows_in += prepared.num_rows
        self.rows_valid += valid.num_rows
        return valid

    def result(self) -> Validation:
        """Counts, failures and the expectations' frame of every batch checked (the valid rows went to the caller).

        The first call ends the validation; later calls return the same outcome.
        """
        if self._result is None:
            self._seen.close()
            notes = [f"prepared extract from {self.provider}"]
            self._result = _outcome(self.rows_in, self.rows_valid, self._failures, notes, self._frames)
            self._frames = []
        return self._result


def _outcome(
    rows_in: int,
    rows_valid: int,
    failures: FailureLog,
    notes: list[str],
    frames: list,
    quoted: tuple[str, ...] = (),
) -> Validation:
    failures.finish()
    return Validation(
        rows_in,
        rows_valid,
        failures.held(FAILURE_SCHEMA),
        notes,
        concat_compact(frames),
        quoted=quoted,
        failure_count=failures.total,
        failures_by_rule=failures.by_rule(),
    )
