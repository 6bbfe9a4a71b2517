"""The steps of one submission (validate, pseudonymise, load), free of Dagster: the assets and the CLI share them.

Between steps, rows are staged encrypted (AES-GCM under the keyring's staging key): those that still
hold direct identifiers above all, but also the pseudonymised rows and the failures.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from functools import cache
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from application.home import Home
from errors import UnusableInput
from intake.inbox import Inbox, Submission
from privacy.keys import Keyring, fingerprint
from privacy.pseudonymise import first_level, first_level_keys, pseudonymise, second_level
from privacy.sealed import open_batches, open_table, seal_batches, seal_table
from schemas.expectations import ExpectationReport, run_expectations
from schemas.failure_log import FailureLog
from schemas.memory import release_memory
from schemas.providers import check_provider
from schemas.standard import codelist_version, feed
from schemas.standardise import standardise
from schemas.validation import BATCH_ROWS, PreparedValidator, Validation, Validator, stored_failures, without_values
from schemas.validation_report import write_validation_report
from sources.reader import (
    PREPARED_MARK,
    PREPARED_PERIOD,
    ROW,
    open_extract,
    open_prepared,
    prepared_batches,
    prepared_period,
)
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


def _start_validation(
    source: Path | bytes | BinaryIO,
    feed_name: str,
    provider: str,
    period: str,
    name: str,
    sheet: str | None = None,
    failures: FailureLog | None = None,
) -> tuple[Validator, Iterator[pa.Table]]:
    """A validator for an extract and its valid rows, batch by batch as read (raises UnusableInput, up front
    or while iterating); `failures` receives the failures (default: held, every one)."""
    spec = feed(feed_name)
    required = [c.name for c in spec.columns.values() if c.required]
    stream = open_extract(source, sheet=sheet, name=name, batch_rows=BATCH_ROWS, expected=required)
    try:  # after the file's own problems, which the provider can fix alone
        check_provider(feed_name, provider)
    except UnusableInput:
        stream.close()
        raise
    validator = Validator(spec, provider, stream.columns, period, filename=name, notes=stream.notes, failures=failures)
    return validator, map(validator.check, stream.batches())


def validate_file(
    source: Path | bytes,
    feed_name: str,
    provider: str,
    period: str = "all",
    name: str | None = None,
    sheet: str | None = None,
    keep_valid: bool = True,
    failures: FailureLog | None = None,
) -> Validation:
    """Read and validate one file (a path, or its bytes) against the feed's rules (raises UnusableInput).

    `name` labels messages; `sheet` names an XLSX sheet (default: the one whose header is the feed's). Without
    `keep_valid` the valid rows are only counted, so memory does not grow with the file; with a bounded
    `failures` log neither do the failures.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "extract")
    validator, batches = _start_validation(source, feed_name, provider, period, name, sheet, failures)
    if keep_valid:
        return validator.result(pa.concat_tables(batches))
    for _ in batches:  # counted by the validator, then dropped
        pass
    return validator.result()


@cache
def prepared_schema(feed_name: str) -> pa.Schema:
    """The exact layout `rapporteur prepare` writes for a feed (first-level pseudonymised rows)."""
    spec = feed(feed_name)
    empty = pa.table({c: pa.array([], pa.string()) for c in spec.columns} | {ROW: pa.array([], pa.int64())})
    standard = standardise(empty, spec, "none")
    return first_level(standard, feed_name, {"victim": bytes(32), "suspect": bytes(32)}).schema


def start_prepared(
    parquet: pq.ParquetFile,
    feed_name: str,
    provider: str,
    name: str,
    period: str = "all",
    batch_rows: int = BATCH_ROWS,
    failures: FailureLog | None = None,
) -> tuple[PreparedValidator, Iterator[pa.Table]]:
    """A validator for an opened prepared extract submitted for `period` and its valid rows, batch by batch as
    read (raises UnusableInput, up front for its layout or its period, or while iterating).

    The period rule is that of a raw extract: rows outside the submission's period are quarantined. A file
    prepared for one period (`prepare --period`) and submitted for another is refused whole.
    """
    try:
        check_provider(feed_name, provider)
        made_for = prepared_period(parquet)
        if made_for not in ("all", period):
            raise UnusableInput(
                f"{name}: prepared for period {made_for} but submitted for {period}; "
                f"submit it for {made_for}, or prepare it again with --period {period}"
            )
        spec = feed(feed_name)
        expected = prepared_schema(feed_name)
        validator = PreparedValidator(parquet.schema_arrow, expected, spec, provider, period, failures)
    except UnusableInput:
        parquet.close()
        raise
    return validator, map(validator.check, prepared_batches(parquet, name, batch_rows))


def prepare_file(
    source: Path,
    feed_name: str,
    provider: str,
    period: str,
    keys: dict[str, bytes],
    out: Path,
    sheet: str | None = None,
) -> tuple[Validation, int]:
    """Validate an extract and write its valid rows to `out`, pseudonymised at the first level and marked with
    the key fingerprints, batch by batch; returns the validation and the number of rows written.

    The file appears at `out` only when complete (it is written beside it first).
    """
    validator, batches = _start_validation(source, feed_name, provider, period, Path(source).name, sheet)
    mark = json.dumps({role: fingerprint(key) for role, key in keys.items()}).encode()
    schema = prepared_schema(feed_name).with_metadata({PREPARED_MARK: mark, PREPARED_PERIOD: period.encode()})
    partial, rows = out.with_name(f".{out.name}.partial"), 0
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            for batch in batches:
                prepared = first_level(batch, feed_name, keys).cast(schema)
                writer.write_table(prepared)
                rows += prepared.num_rows
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return validator.result(), rows


@dataclass
class Checked:
    """A submission being validated: its valid rows batch by batch (a stream), then the outcome."""

    batches: Iterator[pa.Table]
    outcome: Callable[[], Validation]
    prepared: bool  # a provider's prepared extract: only the bureau's level of pseudonymisation is left


def _check_submission(inbox: Inbox, sub: Submission, name: str, keyring: Keyring) -> Checked:
    """Start validating a sealed submission from its plaintext, decrypted as read; reject it whole when
    unusable, whether that is found up front (raised here) or while reading (raised by the batches)."""
    source = inbox.open(sub)
    try:
        prepared = open_prepared(source, name)
        if prepared is None:
            validator, batches = _start_validation(source, sub.feed, sub.provider, sub.period, name, sub.sheet)
            return Checked(_closing(source, _rejecting(inbox, sub, batches)), validator.result, False)
        parquet, mark = prepared
        held = {role: fingerprint(key) for role, key in first_level_keys(keyring).items()}
        if mark != held:
            parquet.close()
            raise UnusableInput(
                f"{name}: prepared with a key the bureau does not hold (fingerprint "
                f"{str(mark.get('victim', '?'))[:16]}); ask the bureau for its current key file"
            )
        prepared_validator, batches = start_prepared(parquet, sub.feed, sub.provider, name, sub.period)
        return Checked(_closing(source, _rejecting(inbox, sub, batches)), prepared_validator.result, True)
    except UnusableInput as exc:
        source.close()
        _reject(inbox, sub, exc)
        raise


def _closing(source: BinaryIO, batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    try:
        yield from batches
    finally:
        source.close()


def _rejecting(inbox: Inbox, sub: Submission, batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    try:
        yield from batches
    except UnusableInput as exc:
        _reject(inbox, sub, exc)
        raise


def _reject(inbox: Inbox, sub: Submission, exc: UnusableInput) -> None:
    inbox.reject(sub, exc.redacted())
    log.warning("submission %s rejected: %s", sub.submission_id, exc.redacted())


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
    # Great Expectations allocates its own memory per row: give back what reading and checking the batches
    # freed before, and what it freed after (a small submission is not worth the 0.15 s of a collection).
    large = result.rows_in > BATCH_ROWS
    if large:
        release_memory()
    report = run_expectations(shown.frame, feed(feed_name), previous_row_counts, docs_dir=docs, run_name=label)
    if large:
        release_memory()
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


def _seal(batches: Iterator[pa.Table], path: Path, key: bytes) -> int:
    """Seal a stream of tables (at least one, maybe empty) as one file; the first gives the schema."""
    first = next(batches)
    return seal_batches(chain([first], batches), first.schema, path, key)


def stage_validated(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Validate a received submission; stage its valid rows (encrypted, as they are checked) and its failures."""
    label = f"submission {sub.submission_id}"
    folder, key = _staging(home, sub), keyring.key("staging")
    try:
        checked = _check_submission(inbox, sub, label, keyring)
        staged = folder / ("prepared.sealed" if checked.prepared else "validated.sealed")
        _seal(checked.batches, staged, key)
    except UnusableInput as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _outcome(sub, "rejected", message=exc.redacted())
    result = checked.outcome()
    warnings = _expect(home, inbox, sub, result)
    seal_table(stored_failures(result.failures), folder / "failures.sealed", key)
    inbox.set_status(sub.submission_id, "validated", rows_in=result.rows_in, rows_quarantined=result.rows_quarantined)
    return _outcome(sub, "validated", result.rows_in, 0, result.rows_quarantined, warnings=warnings)


def _at_least_one(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch | pa.Table]:
    """The staged batches, or one empty table when no row was valid (an Arrow stream keeps no empty batch)."""
    empty = True
    for batch in reader:
        empty = False
        yield batch
    if empty:
        yield reader.schema.empty_table()


def _pseudonymised(
    batches: Iterable[pa.Table], prepared: bool, sub: Submission, keyring: Keyring
) -> Iterator[pa.Table]:
    """The stored form of validated batches (a prepared extract has only the bureau's level left to do)."""
    for batch in batches:
        batch = pa.table(batch) if isinstance(batch, pa.RecordBatch) else batch
        if prepared:
            yield second_level(batch, sub.feed, sub.provider, keyring)
        else:
            yield pseudonymise(batch, sub.feed, sub.provider, keyring)


def stage_pseudonymised(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Pseudonymise a validated submission's staged rows, batch by batch; the identifying stage is deleted."""
    folder, key = _staging(home, sub), keyring.key("staging")
    prepared = (folder / "prepared.sealed").exists()
    staged = folder / ("prepared.sealed" if prepared else "validated.sealed")
    rows = _seal(
        _pseudonymised(_at_least_one(open_batches(staged, key)), prepared, sub, keyring),
        folder / "pseudonymised.sealed",
        key,
    )
    staged.unlink()
    inbox.set_status(sub.submission_id, "pseudonymised")
    return _outcome(sub, "pseudonymised", rows)


def load_staged(home: Home, inbox: Inbox, sub: Submission, keyring: Keyring) -> Outcome:
    """Load a pseudonymised submission into its feed's repository, then clear its staging.

    The rows in are those validation counted (the inbox ledger): the load reconciles against them.
    """
    folder, key = _staging(home, sub), keyring.key("staging")
    rows_in = (inbox.record(sub.submission_id) or {}).get("rows_in") or 0
    result = _load(
        home,
        sub,
        lambda: open_batches(folder / "pseudonymised.sealed", key),
        lambda: (rows_in, open_table(folder / "failures.sealed", key)),
        keyring,
    )
    shutil.rmtree(folder)
    return _finish(inbox, sub, result)


def ingest_file(
    home: Home,
    inbox: Inbox,
    path: Path,
    feed_name: str,
    provider: str,
    period: str,
    keyring: Keyring,
    reason: str | None = None,
    sheet: str | None = None,
) -> Outcome:
    """Place one file in the inbox and take it through every step in one go: each batch is validated and
    pseudonymised as it is read (the identifying rows are never staged), the pseudonymised rows are staged
    encrypted, then loaded. A file for a locked period is only held as a proposed revision (with `reason`)."""
    sub, new = inbox.place(path, feed_name, provider, period, reason, sheet)
    if sub.status == "held":
        return _outcome(sub, "held", message="a proposed revision to a locked period: the bureau decides")
    if not new and sub.status in ("loaded", "rejected"):
        return _outcome(sub, "duplicate", message=f"already received as submission {sub.submission_id}")
    label = f"submission {sub.submission_id}"
    folder, key = _staging(home, sub), keyring.key("staging")
    staged = folder / "pseudonymised.sealed"
    try:
        checked = _check_submission(inbox, sub, label, keyring)
        _seal(_pseudonymised(checked.batches, checked.prepared, sub, keyring), staged, key)
    except UnusableInput as exc:  # the ledger keeps the label; the user's terminal gets their file's name
        shutil.rmtree(folder, ignore_errors=True)
        raise UnusableInput(str(exc).replace(label, Path(path).name), exc.quoted) from None
    result = checked.outcome()
    warnings = _expect(home, inbox, sub, result)
    counted = result.rows_in, stored_failures(result.failures)
    # The compact frame of every row (held by the result and the validator) is not the load's: give it back.
    del checked, result
    if counted[0] > BATCH_ROWS:
        release_memory()
    loaded = _load(home, sub, lambda: open_batches(staged, key), lambda: counted, keyring)
    shutil.rmtree(folder, ignore_errors=True)
    return replace(_finish(inbox, sub, loaded), warnings=warnings)


def _load(
    home: Home,
    sub: Submission,
    rows: Callable[[], Iterable[pa.Table | pa.RecordBatch]],
    counted: Callable[[], tuple[int, pa.Table]],
    keyring: Keyring,
) -> LoadResult:
    return load_submission(
        home.warehouse,
        submission_id=sub.submission_id,
        feed=sub.feed,
        provider=sub.provider,
        period=sub.period,
        content_sha256=sub.content_sha256,
        received_at=sub.received_at,
        rows=rows,
        counted=counted,
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
