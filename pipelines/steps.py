"""The steps of one submission (validate, pseudonymise, load), free of Dagster: the assets and the CLI share them.

Between steps, rows are staged encrypted (AES-GCM under the keyring's staging key): those that still
hold direct identifiers above all, but also the pseudonymised rows and the failures.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.home import Home
from privacy.keys import Keyring, fingerprint
from privacy.pseudonymise import first_level, first_level_keys, pseudonymise, second_level
from privacy.sealed import open_table, seal_table
from schemas.expectations import ExpectationReport, run_expectations
from schemas.standard import codelist_version, feed
from schemas.standardise import standardise_sql
from schemas.validation import Validation, stored_failures, validate, validate_prepared, without_values
from schemas.validation_report import write_validation_report
from sources.errors import UnusableInput
from sources.inbox import Inbox, Submission
from sources.reader import PREPARED_MARK, ROW, read_extract, read_prepared
from warehouse.repository import LoadResult, load_submission

log = logging.getLogger("rapporteur")


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission: the `--json` output of ingest."""

    submission_id: str
    feed: str
    provider: str
    period: str
    status: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str | None = None
    warnings: tuple[str, ...] = ()  # dataset-level expectations that failed (they warn, never block)

    def as_dict(self) -> dict:
        return asdict(self)


def validate_file(
    source: Path | bytes,
    feed_name: str,
    provider: str,
    period: str = "all",
    name: str | None = None,
    sheet: str | None = None,
) -> Validation:
    """Read and validate one file (a path, or its bytes) against the feed's rules (raises UnusableInput).

    `name` labels messages; `sheet` names an XLSX sheet (default: the first).
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "extract")
    return validate(read_extract(source, sheet=sheet, name=name), feed(feed_name), provider, period, filename=name)


@cache
def prepared_schema(feed_name: str) -> pa.Schema:
    """The exact layout `rapporteur prepare` writes for a feed (first-level pseudonymised rows)."""
    spec = feed(feed_name)
    empty = pa.table({c: pa.array([], pa.string()) for c in spec.columns} | {ROW: pa.array([], pa.int64())})
    con = duckdb.connect()
    con.register("extract", empty)
    sql, params = standardise_sql(spec, "none")
    standard = con.execute(sql, params).to_arrow_table()
    con.close()
    return first_level(standard, feed_name, {"victim": bytes(32), "suspect": bytes(32)}).schema


def prepare_file(
    source: Path, feed_name: str, provider: str, period: str, keys: dict[str, bytes]
) -> tuple[Validation, pa.Table]:
    """Validate an extract and pseudonymise its valid rows at the first level, marked with the key fingerprints."""
    result = validate_file(source, feed_name, provider, period)
    prepared = first_level(result.valid, feed_name, keys)
    mark = json.dumps({role: fingerprint(key) for role, key in keys.items()}).encode()
    return result, prepared.replace_schema_metadata({PREPARED_MARK: mark})


def _validate_submission(inbox: Inbox, sub: Submission, name: str, keyring: Keyring) -> tuple[Validation, bool]:
    """Validate a sealed submission from its plaintext in memory (True: a prepared extract); reject it
    whole when unusable."""
    try:
        data = inbox.read(sub)
        prepared = read_prepared(data)
        if prepared is None:
            return validate_file(data, sub.feed, sub.provider, sub.period, name=name), False
        table, mark = prepared
        held = {role: fingerprint(key) for role, key in first_level_keys(keyring).items()}
        if mark != held:
            raise UnusableInput(
                f"{name}: prepared with a key the bureau does not hold (fingerprint "
                f"{str(mark.get('victim', '?'))[:16]}); ask the bureau for its current key file"
            )
        return validate_prepared(table, prepared_schema(sub.feed), feed(sub.feed), sub.provider), True
    except UnusableInput as exc:
        inbox.reject(sub, exc.redacted())
        log.warning("submission %s rejected: %s", sub.submission_id, exc.redacted())
        raise


def check_dataset(
    result: Validation,
    feed_name: str,
    provider: str,
    previous_row_counts: list[int],
    report_dir: Path | None,
    label: str,
    show_values: bool,
) -> ExpectationReport:
    """Run the feed's expectations; with `report_dir`, write Data Docs and the HTML report there.

    `show_values` is for the provider's own machine only: the bureau's reports never show a cell.
    """
    shown = result if show_values else without_values(result, feed(feed_name))
    docs = report_dir / "data-docs" if report_dir else None
    report = run_expectations(shown.frame, feed(feed_name), previous_row_counts, docs_dir=docs, run_name=label)
    if report_dir is not None:
        write_validation_report(report_dir, label, feed_name, provider, shown, report)
    return report


def _expect(home: Home, inbox: Inbox, sub: Submission, result: Validation) -> tuple[str, ...]:
    previous = inbox.previous_row_counts(sub.feed, sub.provider, sub.submission_id)
    report = check_dataset(
        result,
        sub.feed,
        sub.provider,
        previous,
        home.reports / "validation" / sub.submission_id,
        f"submission {sub.submission_id}",
        show_values=False,
    )
    return tuple(f"{w.name}: {w.observed} (expected {w.expected})" for w in report.warnings)


def _staging(home: Home, sub: Submission) -> Path:
    folder = home.staging / sub.submission_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage_validated(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Validate a received submission; stage its valid rows (encrypted) and its failures."""
    try:
        result, prepared = _validate_submission(inbox, sub, f"submission {sub.submission_id}", keyring)
    except UnusableInput as exc:
        return _outcome(sub, "rejected", message=exc.redacted())
    warnings = _expect(home, inbox, sub, result)
    folder, key = _staging(home, sub), keyring.key("staging")
    seal_table(result.valid, folder / ("prepared.sealed" if prepared else "validated.sealed"), key)
    seal_table(stored_failures(result.failures), folder / "failures.sealed", key)
    inbox.set_status(sub.submission_id, "validated", rows_in=result.rows_in, rows_quarantined=result.rows_quarantined)
    return _outcome(sub, "validated", result.rows_in, 0, result.rows_quarantined, warnings=warnings)


def stage_pseudonymised(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Pseudonymise a validated submission's staged rows; the identifying stage is deleted."""
    folder, key = _staging(home, sub), keyring.key("staging")
    staged = folder / "prepared.sealed"
    if staged.exists():  # prepared by the provider: only the bureau's level is left to do
        valid = open_table(staged, key)
        rows = second_level(valid, sub.feed, sub.provider, keyring)
    else:
        staged = folder / "validated.sealed"
        valid = open_table(staged, key)
        rows = pseudonymise(valid, sub.feed, sub.provider, keyring)
    seal_table(rows, folder / "pseudonymised.sealed", key)
    staged.unlink()
    inbox.set_status(sub.submission_id, "pseudonymised")
    return _outcome(sub, "pseudonymised", valid.num_rows)


def load_staged(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Load a pseudonymised submission into its feed's repository, then clear its staging."""
    folder, key = _staging(home, sub), keyring.key("staging")
    rows = open_table(folder / "pseudonymised.sealed", key)
    failures = open_table(folder / "failures.sealed", key)
    quarantined = len(set(failures.column("row_number").to_pylist()))
    result = _load(home, sub, rows, failures, rows.num_rows + quarantined, keyring)
    shutil.rmtree(folder)
    return _finish(inbox, sub, result)


def ingest_file(
    home: Home, inbox: Inbox, path: Path, feed_name: str, provider: str, period: str, keyring: Keyring
) -> Outcome:
    """Place one file in the inbox and take it through every step in memory (nothing staged)."""
    sub, new = inbox.place(path, feed_name, provider, period)
    if not new and sub.status in ("loaded", "rejected"):
        return _outcome(sub, "duplicate", message=f"already received as submission {sub.submission_id}")
    label = f"submission {sub.submission_id}"
    try:
        result, prepared = _validate_submission(inbox, sub, label, keyring)
    except UnusableInput as exc:  # the ledger keeps the label; the user's terminal gets their file's name
        raise UnusableInput(str(exc).replace(label, Path(path).name), exc.quoted) from None
    warnings = _expect(home, inbox, sub, result)
    if prepared:
        rows = second_level(result.valid, sub.feed, sub.provider, keyring)
    else:
        rows = pseudonymise(result.valid, sub.feed, sub.provider, keyring)
    loaded = _load(home, sub, rows, stored_failures(result.failures), result.rows_in, keyring)
    shutil.rmtree(home.staging / sub.submission_id, ignore_errors=True)
    return replace(_finish(inbox, sub, loaded), warnings=warnings)


def _load(
    home: Home, sub: Submission, rows: pa.Table, failures: pa.Table, rows_in: int, keyring: Keyring
) -> LoadResult:
    return load_submission(
        home.warehouse,
        submission_id=sub.submission_id,
        feed=sub.feed,
        provider=sub.provider,
        period=sub.period,
        content_sha256=sub.content_sha256,
        received_at=sub.received_at,
        rows_in=rows_in,
        rows=rows,
        failures=failures,
        key_version=keyring.current,
        codelist_version=codelist_version(),
        db_key=keyring.key("database"),
        escrow_key=keyring.key("escrow"),
    )


def _finish(inbox: Inbox, sub: Submission, result: LoadResult) -> Outcome:
    inbox.set_status(
        sub.submission_id,
        "loaded",
        rows_in=result.rows_in,
        rows_loaded=result.rows_loaded,
        rows_quarantined=result.rows_quarantined,
    )
    for old in result.superseded:
        log.info("submission %s supersedes %s", sub.submission_id, old)
    return _outcome(sub, "loaded", result.rows_in, result.rows_loaded, result.rows_quarantined)


def _outcome(
    sub: Submission,
    status: str,
    rows_in: int = 0,
    loaded: int = 0,
    quarantined: int = 0,
    message: str | None = None,
    warnings: tuple[str, ...] = (),
) -> Outcome:
    return Outcome(
        sub.submission_id, sub.feed, sub.provider, sub.period, status, rows_in, loaded, quarantined, message, warnings
    )
