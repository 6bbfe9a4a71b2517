"""Uploads being checked: validated with the same rules and report as `rapporteur validate`, then held in
memory (never on disk, never in a log) until the provider submits them or they expire."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from pipelines.steps import check_dataset, start_prepared, validate_file
from schemas.validation import Validation
from schemas.validation_report import allowed_codes, failures_csv, report_sections
from sources.errors import UnusableInput
from sources.reader import open_prepared

HOLD_SECONDS = 30 * 60
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
    report_html: str
    failures_csv: str
    created: float
    allowed_codes: tuple[tuple[str, str], ...] = ()  # (column, code list) where a code was not allowed

    @property
    def valid(self) -> bool:
        return self.failures == 0


# pandas, pandera and Great Expectations are not known to be thread-safe: one check at a time.
_checking = threading.Lock()


def _validate(
    data: bytes, feed: str, org: str, period: str, filename: str, key_prints: dict | None, sheet: str | None
) -> Validation:
    """A raw extract as `rapporteur validate` checks it; an extract made by `rapporteur prepare` as the pipeline
    checks it, refused at once when it was made with a key the bureau does not hold."""
    prepared = open_prepared(data, filename)
    if prepared is None:
        return validate_file(data, feed, org, period, name=filename, sheet=sheet, keep_valid=False)
    parquet, mark = prepared
    if key_prints is not None and mark != key_prints:
        parquet.close()
        raise UnusableInput(
            f"{filename}: prepared with a key the bureau does not hold; ask the bureau for its current key file"
        )
    validator, batches = start_prepared(parquet, feed, org, filename, period)
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
    key_prints: dict[str, str] | None = None,
    sheet: str | None = None,
) -> CheckedUpload:
    """Validate an upload's bytes (raises UnusableInput for an unusable file). `key_prints` are the
    fingerprints of the bureau's first-level keys, which a prepared extract must carry."""
    token = secrets.token_urlsafe(18)
    with _checking:
        result = _validate(data, feed, org, period, filename, key_prints, sheet)
        report = check_dataset(result, feed, org, previous_row_counts, None, filename, show_values=True)
    failures = result.failures.to_pylist()
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
        failures=len(failures),
        warnings=tuple(f"{w.name}: {w.observed} (expected {w.expected})" for w in report.warnings),
        report_html=report_sections(filename, feed, org, result, report, f"/uploads/{token}/failures.csv"),
        allowed_codes=tuple(allowed_codes(feed, failures)),
        failures_csv=failures_csv(failures),
        created=time.time(),
    )


class HeldUploads:
    """Checked uploads by token, each visible to its own organisation only; at most HELD_PER_ORG per
    organisation, each for HOLD_SECONDS."""

    def __init__(self) -> None:
        self._held: dict[str, CheckedUpload] = {}
        self._lock = threading.Lock()

    def put(self, upload: CheckedUpload) -> None:
        with self._lock:
            self._expire()
            mine = sorted((u for u in self._held.values() if u.org == upload.org), key=lambda u: u.created)
            for old in mine[: max(0, len(mine) - HELD_PER_ORG + 1)]:
                del self._held[old.token]
            self._held[upload.token] = upload

    def get(self, token: str, org: str) -> CheckedUpload | None:
        """The upload if it exists, has not expired and belongs to `org`; None otherwise."""
        with self._lock:
            self._expire()
            upload = self._held.get(token)
        return upload if upload is not None and secrets.compare_digest(upload.org, org) else None

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def drop_org(self, org: str) -> None:
        with self._lock:
            for token in [t for t, u in self._held.items() if u.org == org]:
                del self._held[token]

    def _expire(self) -> None:
        cutoff = time.time() - HOLD_SECONDS
        for token in [t for t, u in self._held.items() if u.created < cutoff]:
            del self._held[token]
