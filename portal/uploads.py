"""Uploads being checked: validated with the same rules and report as `rapporteur validate`, then held until
the provider submits them or they expire: the file in memory, its first failures on the page, and every failure
in a `failures.csv` sealed on disk under a key that only this process holds (never plaintext, never a log)."""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from application.steps import check_dataset, start_prepared, validate_file
from errors import UnusableInput
from privacy.sealed import SealedWriter, open_sealed
from schemas.failure_log import MAX_HELD, FailureLog
from schemas.validation import Validation
from schemas.validation_report import allowed_codes, report_sections
from sources.reader import open_prepared

HOLD_SECONDS = 30 * 60
SEALED_CONTEXT = b"portal failures.csv"  # each file has a key of its own, which only this process holds
HELD_PER_ORG = 3


@dataclass(frozen=True)
class CheckedUpload:
    """One uploaded file, its validation report (the provider's own values included) and its bytes."""

    token: str
    org: str
    feed: str
    period: str
    filename: str
    sheet: str | None  # the workbook's sheet the provider chose (None: the one whose header is the standard's)
    data: bytes
    rows_in: int
    rows_valid: int
    rows_quarantined: int
    failures: int
    warnings: tuple[str, ...]
    report_html: str  # the first MAX_HELD failures by row, and every failure counted by rule
    failures_path: Path  # every failure, as CSV, sealed under `failures_key`
    failures_key: bytes
    created: float
    allowed_codes: tuple[tuple[str, str], ...] = ()  # (column, code list) where a code was not allowed

    @property
    def valid(self) -> bool:
        return self.failures == 0

    def failures_csv(self) -> io.BufferedReader:
        """`failures.csv`, decrypted as read."""
        return open_sealed(self.failures_path, self.failures_key, SEALED_CONTEXT)


# pandas, pandera and Great Expectations are not known to be thread-safe: one check at a time.
_checking = threading.Lock()


def _validate(
    data: bytes,
    feed: str,
    org: str,
    period: str,
    filename: str,
    key_prints: dict | None,
    sheet: str | None,
    failures: FailureLog,
) -> Validation:
    """A raw extract as `rapporteur validate` checks it; an extract made by `rapporteur prepare` as the pipeline
    checks it, refused at once when it was made with a key the bureau does not hold."""
    prepared = open_prepared(data, filename)
    if prepared is None:
        return validate_file(data, feed, org, period, name=filename, sheet=sheet, keep_valid=False, failures=failures)
    parquet, mark = prepared
    if key_prints is not None and mark != key_prints:
        parquet.close()
        raise UnusableInput(
            f"{filename}: prepared with a key the bureau does not hold; ask the bureau for its current key file"
        )
    validator, batches = start_prepared(parquet, feed, org, filename, period, failures=failures)
    for _ in batches:  # counted by the validator, then dropped
        pass
    return validator.result()


def check_upload(
    data: bytes,
    feed: str,
    org: str,
    period: str,
    filename: str,
    previous_row_counts: list[int],
    folder: Path,
    key_prints: dict[str, str] | None = None,
    sheet: str | None = None,
) -> CheckedUpload:
    """Validate an upload's bytes (raises UnusableInput for an unusable file), its failures sealed into `folder`
    as they are found. `key_prints` are the fingerprints of the bureau's first-level keys, which a prepared
    extract must carry."""
    token, key = secrets.token_urlsafe(18), os.urandom(32)
    path = Path(folder) / f"{secrets.token_hex(16)}.sealed"  # not the token: that is the upload's address
    with _checking:
        with SealedWriter(path, key, SEALED_CONTEXT) as out:  # removed again if the file proves unusable
            result = _validate(
                data, feed, org, period, filename, key_prints, sheet, FailureLog(MAX_HELD, cast(BinaryIO, out))
            )  # a writable binary file
        report = check_dataset(result, feed, org, previous_row_counts, None, filename, show_values=True)
    return CheckedUpload(
        token=token,
        org=org,
        feed=feed,
        period=period,
        filename=filename,
        sheet=sheet,
        data=data,
        rows_in=result.rows_in,
        rows_valid=result.rows_valid,
        rows_quarantined=result.rows_quarantined,
        failures=result.failure_count or 0,  # always counted (Validation.__post_init__)
        warnings=tuple(f"{w.name}: {w.observed} (expected {w.expected})" for w in report.warnings),
        report_html=report_sections(filename, feed, org, result, report, f"/uploads/{token}/failures.csv"),
        allowed_codes=tuple(allowed_codes(feed, result)),
        failures_path=path,
        failures_key=key,
        created=time.time(),
    )


class HeldUploads:
    """Checked uploads by token, each visible to its own organisation only; at most HELD_PER_ORG per
    organisation, each for HOLD_SECONDS. Their sealed failures live in `folder`: each file goes with its upload,
    and one older than HOLD_SECONDS at start is an earlier process's, whose key went with it."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        cutoff = time.time() - HOLD_SECONDS
        for stale in self.folder.iterdir():
            if stale.is_file() and stale.stat().st_mtime < cutoff:
                stale.unlink(missing_ok=True)
        self._held: dict[str, CheckedUpload] = {}
        self._lock = threading.Lock()

    def put(self, upload: CheckedUpload) -> None:
        with self._lock:
            self._expire()
            mine = sorted((u for u in self._held.values() if u.org == upload.org), key=lambda u: u.created)
            for old in mine[: max(0, len(mine) - HELD_PER_ORG + 1)]:
                self._remove(old.token)
            self._held[upload.token] = upload

    def get(self, token: str, org: str) -> CheckedUpload | None:
        """The upload if it exists, has not expired and belongs to `org`; None otherwise."""
        with self._lock:
            self._expire()
            upload = self._held.get(token)
        return upload if upload is not None and secrets.compare_digest(upload.org, org) else None

    def drop(self, token: str) -> None:
        with self._lock:
            self._remove(token)

    def drop_org(self, org: str) -> None:
        with self._lock:
            for token in [t for t, u in self._held.items() if u.org == org]:
                self._remove(token)

    def _expire(self) -> None:
        cutoff = time.time() - HOLD_SECONDS
        for token in [t for t, u in self._held.items() if u.created < cutoff]:
            self._remove(token)

    def _remove(self, token: str) -> None:
        upload = self._held.pop(token, None)
        if upload is not None:
            upload.failures_path.unlink(missing_ok=True)
