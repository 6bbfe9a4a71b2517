"""The inbox: submissions placed atomically, identified by content hash, tracked in a status ledger.

The ledger is a small SQLite file of its own, so that the CLI (and later the portal) can show a
submission's status without opening the DuckDB repositories.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

from errors import UnusableInput
from intake.agreements import HELD_NO_AGREEMENT, Agreements
from intake.inbox_walk import open_no_link, walk
from intake.periods import ALL_PROVIDERS, PeriodLedger, clean_reason, overlaps
from schemas.standard import FEEDS, PERIOD, PROVIDER_ID, check_submission_args

EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".parquet")
SEALED = ".sealed"
# `held`: a proposed revision to a locked (approved) period, waiting for the bureau (intake.periods).
STATUSES = ("received", "validated", "pseudonymised", "loaded", "rejected", "held")
WAITING = STATUSES[:3]  # the statuses of a submission that still has steps to run
BY_HAND = "copied into the inbox folder by hand, with no reason given"
CHUNK = 1 << 20  # what placing a file holds in memory at a time, besides one sealed segment

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS submissions (
    submission_id TEXT PRIMARY KEY,
    feed TEXT NOT NULL,
    provider TEXT NOT NULL,
    period TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    rows_in INTEGER,
    rows_loaded INTEGER,
    rows_quarantined INTEGER,
    message TEXT,
    updated_at TEXT NOT NULL,
    sheet TEXT
)
"""
# Raw content removed once the retention period after the load had passed (application.retention).
PURGES_DDL = """
CREATE TABLE IF NOT EXISTS purges (
    submission_id TEXT PRIMARY KEY,
    purged_at TEXT NOT NULL,
    removed TEXT NOT NULL
)
"""
# Failed pipeline runs, for the bureau: ids, names and error types only, never an error message.
RUN_FAILURES_DDL = """
CREATE TABLE IF NOT EXISTS run_failures (
    run_id TEXT NOT NULL,
    job TEXT NOT NULL,
    step TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    error_type TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
)
"""


@dataclass(frozen=True)
class Submission:
    """One file from one provider for one feed and period."""

    submission_id: str
    feed: str
    provider: str
    period: str
    content_sha256: str
    path: Path
    status: str = "received"
    received_at: str | None = None
    sheet: str | None = None  # the workbook's sheet to read, when the provider chose one


def check_sheet(sheet: str | None) -> None:
    """Refuse a sheet name that no workbook can have (blank, over 100 characters, control characters)."""
    if sheet is not None and (not sheet.strip() or len(sheet) > 100 or any(ord(c) < 32 for c in sheet)):
        raise UnusableInput("a sheet name must be the name of one of the workbook's sheets, as shown in its tabs")


def submission_id(feed: str, provider: str, period: str, content_sha256: str, sheet: str | None = None) -> str:
    """Stable id: the same content from the same provider for the same feed and period (and sheet, when one
    was chosen) is one submission."""
    key = f"{feed}\0{provider}\0{period}\0{content_sha256}" + (f"\0{sheet}" if sheet is not None else "")
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Cipher(Protocol):
    """Authenticated encryption of files, streamed (privacy.sealed.Sealer).

    `writer` gives a binary file that seals into `path` and moves it into place only when closed without
    error; `reader` gives a seekable binary file of the plaintext that raises KeyringError when `path` was
    not sealed with this key and `context`.
    """

    def writer(self, path: Path, context: bytes) -> io.BufferedIOBase: ...
    def reader(self, path: Path, context: bytes) -> BinaryIO: ...


class Inbox:
    """Sealed files under `root/<feed>/<provider>/<period>/` and the ledger `root/ledger.sqlite`.

    A submission is encrypted the moment it lands (`place`, or `scan` for a file dropped in by
    hand), streamed so that a file of any size is never held in memory; only `open` (a seekable
    file, decrypted as read) and `read` (bytes) give its plaintext back. Without a cipher the inbox
    can show the ledger but not take or read submissions.
    """

    def __init__(self, root: Path, cipher: Cipher | None = None):
        self.root = Path(root)
        self.cipher = cipher
        self.root.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(LEDGER_DDL)
            con.execute(RUN_FAILURES_DDL)
            con.execute(PURGES_DDL)
            if "sheet" not in {r["name"] for r in con.execute("PRAGMA table_info(submissions)")}:
                con.execute("ALTER TABLE submissions ADD COLUMN sheet TEXT")  # a ledger of an earlier version
        self.periods = PeriodLedger(self.root / "ledger.sqlite")
        self.agreements = Agreements(self.root / "ledger.sqlite")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.root / "ledger.sqlite", timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def is_empty(self) -> bool:
        return not any(self._files())

    def place(
        self,
        source: Path,
        feed: str,
        provider: str,
        period: str = "all",
        reason: str | None = None,
        sheet: str | None = None,
    ) -> tuple[Submission, bool]:
        """Seal `source` into the inbox atomically and register it; False when it was already there.

        A submission to a locked period is held as a proposed revision and needs a `reason`.
        """
        check_submission_args(feed, provider, period)
        check_sheet(sheet)
        source = Path(source)
        if not source.is_file():
            raise UnusableInput(f"{source.name}: no such file")
        if source.suffix.lower() not in EXTENSIONS:
            raise UnusableInput(f"{source.name}: send a .csv, .xlsx or .parquet file")
        return self._land(lambda: source.open("rb"), feed, provider, period, reason, sheet)

    def place_bytes(
        self,
        data: bytes,
        feed: str,
        provider: str,
        period: str = "all",
        reason: str | None = None,
        sheet: str | None = None,
    ) -> tuple[Submission, bool]:
        """Seal a file's content (an upload, already checked by content) into the inbox, as `place` does."""
        check_submission_args(feed, provider, period)
        check_sheet(sheet)
        return self._land(partial(io.BytesIO, data), feed, provider, period, reason, sheet)

    def locked(self, provider: str, period: str) -> dict | None:
        """The bureau's approval that locks this provider's `period`, if one stands."""
        return self.periods.approval(period, provider)

    def _land(
        self,
        content: Callable[[], BinaryIO],
        feed: str,
        provider: str,
        period: str,
        reason: str | None = None,
        sheet: str | None = None,
    ) -> tuple[Submission, bool]:
        """Hash the content, then (unless it is a duplicate) seal it; `content` opens it afresh for each pass.

        Two passes because the submission id, sealed into the file as its context, depends on the hash.
        """
        with content() as f:
            sha = hashlib.file_digest(f, "sha256").hexdigest()  # type: ignore[arg-type]  # a binary file: readinto
        sid = submission_id(feed, provider, period, sha, sheet)
        known = self.get(sid)
        if known is not None:
            return known, False
        lock = self.locked(provider, period)
        if lock is not None and not (reason or "").strip():
            raise UnusableInput(
                f"period {lock['period']} is approved and locked for {provider}: a new submission is held as a "
                "proposed revision and needs a reason (--reason)"
            )
        if self.cipher is None:
            raise RuntimeError("an inbox without a cipher cannot take submissions")
        # The same content with another sheet chosen is another submission, so another file.
        target = self._folder(feed, provider, period) / f"{sha[:16] if sheet is None else sid}{SEALED}"
        digest = hashlib.sha256()
        with content() as f, self.cipher.writer(target, sid.encode()) as sink:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
            if digest.hexdigest() != sha:  # raising inside `with` leaves no sealed file behind
                raise UnusableInput("the file changed while it was being placed in the inbox: place it again")
        sub = self.register(target, feed, provider, period, sha, sheet)
        if lock is not None:
            self.periods.hold(sid, reason or BY_HAND)
            self.set_status(sid, "held", f"proposed revision to locked period {lock['period']}")
        if self.agreements.enforced() and self.agreements.valid(provider, feed, dt.date.today()) is None:
            self.set_status(sid, "held", HELD_NO_AGREEMENT)  # first an agreement; then, if locked, the bureau
        return self.get(sid) or sub, True

    def open(self, sub: Submission) -> BinaryIO:
        """The submission's plaintext as a seekable binary file, decrypted and authenticated as it is read."""
        if self.cipher is None:
            raise RuntimeError("an inbox without a cipher cannot read submissions")
        return self.cipher.reader(sub.path, sub.submission_id.encode())

    def read(self, sub: Submission) -> bytes:
        """The submission's plaintext, in memory only."""
        with self.open(sub) as f:
            return f.read()

    def register(
        self, path: Path, feed: str, provider: str, period: str, sha: str, sheet: str | None = None
    ) -> Submission:
        """Record a file already in the inbox (idempotent)."""
        sid = submission_id(feed, provider, period, sha, sheet)
        sub = Submission(sid, feed, provider, period, sha, Path(path), sheet=sheet)
        now = _now()
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO submissions (submission_id, feed, provider, period, content_sha256, path, "
                "received_at, status, updated_at, sheet) VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?)",
                (sub.submission_id, feed, provider, period, sha, str(path), now, now, sheet),
            )
        return self.get(sub.submission_id) or sub

    def scan(self, settled_before: float | None = None) -> list[Submission]:
        """Seal and register every plain file dropped into the inbox's layout; return the new submissions.

        With `settled_before` (a time stamp), a file modified after it is left for a later scan: a file
        copied in by hand may still be being written. A symbolic link is never followed: it is moved to
        `rejected/` (the link itself, never what it points to) and recorded as a rejected entry.
        """
        new = []
        for path, feed, provider, period, link in self._entries():
            if link:
                self._refuse_link(path, feed, provider, period)
                continue
            if path.name.endswith(SEALED) or (settled_before is not None and path.lstat().st_mtime > settled_before):
                continue
            sub, is_new = self._land(partial(open_no_link, path), feed, provider, period, BY_HAND)
            path.unlink()  # its content is now sealed in the inbox (or was already)
            if is_new:
                new.append(sub)
        return new

    def _files(self):
        """The regular files of the inbox's layout: (path, feed, provider, period)."""
        return ((path, *where) for path, *where, link in self._entries() if not link)

    def _entries(self):
        """Every file of the layout `<feed>/<provider>/<period>/<file>` that may be a submission, and every
        symbolic link met on the way: (path, feed, provider, period, is_link); no link is ever followed."""
        for path, feed, provider, period, link in walk(self.root, FEEDS):
            if link or (
                (path.suffix.lower() in EXTENSIONS or path.name.endswith(SEALED))
                and PROVIDER_ID.fullmatch(provider or "")
                and PERIOD.fullmatch(period or "")
            ):
                yield path, feed, provider, period, link

    def _refuse_link(self, link: Path, feed: str, provider: str | None, period: str | None) -> None:
        """Record a symbolic link found in the inbox as a rejected entry and move the link (only the link) to
        `rejected/links/`; what it points to is never read, moved or deleted."""
        provider = provider if provider and PROVIDER_ID.fullmatch(provider) else "-"
        period = period if period and PERIOD.fullmatch(period) else "-"
        # Named by its folders only: a file's own name may name a person.
        where = "/".join(p for p in (feed, provider, period) if p != "-")
        what = "file" if len(link.relative_to(self.root).parts) == 4 else "folder"  # <feed>/<provider>/<period>/<file>
        marker = hashlib.sha256(f"link\0{link}\0{time.time_ns()}".encode()).hexdigest()
        target = self.root / "rejected" / "links" / f"{marker[:16]}.link"
        try:
            self._folder("rejected", "links")
            os.replace(link, target)  # renames the link itself; never follows it
        except (OSError, UnusableInput):
            link.unlink(missing_ok=True)  # removes the link only, never its target
            target = link
        message = (
            f"a symbolic link ({what} in {where}) was found in the inbox and refused: the inbox never follows "
            "links; place the file itself (rapporteur submit or the portal)"
        )
        sid = submission_id(feed, provider, period, marker)
        now = _now()
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO submissions (submission_id, feed, provider, period, content_sha256, path, "
                "received_at, status, message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'rejected', ?, ?)",
                (sid, feed, provider, period, "", str(target), now, message, now),
            )

    def _folder(self, *parts: str) -> Path:
        """`root/parts...`, created as needed; a symbolic link on the way is refused (never followed)."""
        path = self.root
        for part in parts:
            path = path / part
            if path.is_symlink():
                raise UnusableInput(
                    f"the inbox folder {path.relative_to(self.root).as_posix()} is a symbolic link, which the inbox "
                    "never follows: the bureau must replace it with a real folder"
                )
            path.mkdir(exist_ok=True)
        return path

    def get(self, sid: str) -> Submission | None:
        rows = self._rows("SELECT * FROM submissions WHERE submission_id = ?", (sid,))
        return _submission(rows[0]) if rows else None

    def _known(self, sid: str) -> Submission:
        """A submission the ledger is known to hold."""
        sub = self.get(sid)
        assert sub is not None, "a submission known to the ledger"
        return sub

    def record(self, sid: str) -> dict | None:
        """The ledger row of one submission, with its counts."""
        rows = self._rows("SELECT * FROM submissions WHERE submission_id = ?", (sid,))
        return dict(rows[0]) if rows else None

    def pending(self, feed: str, status: str) -> list[Submission]:
        """Submissions of `feed` waiting in `status`, oldest first."""
        rows = self._rows(
            "SELECT * FROM submissions WHERE feed = ? AND status = ? ORDER BY received_at, submission_id",
            (feed, status),
        )
        return [_submission(r) for r in rows]

    def set_status(self, sid: str, status: str, message: str | None = None, **counts: int) -> None:
        assert status in STATUSES, status
        sets = ", ".join(f"{k} = ?" for k in counts)
        with self._connect() as con:
            con.execute(
                f"UPDATE submissions SET status = ?, message = ?, updated_at = ?{', ' + sets if sets else ''} "
                "WHERE submission_id = ?",
                (status, message, _now(), *counts.values(), sid),
            )

    def reject(self, sub: Submission, message: str) -> Submission:
        """Move an unusable file to `rejected/` (kept, never processed again) and record why."""
        target = self._folder("rejected", sub.feed, sub.provider, sub.period) / sub.path.name
        if sub.path.exists() and not sub.path.is_symlink():
            os.replace(sub.path, target)
        with self._connect() as con:
            con.execute(
                "UPDATE submissions SET status = 'rejected', message = ?, path = ?, updated_at = ? "
                "WHERE submission_id = ?",
                (message, str(target), _now(), sub.submission_id),
            )
        return self.get(sub.submission_id) or sub

    def approve(self, period: str, provider: str, who: str) -> tuple[bool, list[Submission]]:
        """Approve (lock) a period for one provider or all; submissions to it still waiting to be loaded are held
        as proposed revisions. Returns whether the approval is new, and the submissions held."""
        new = self.periods.approve(period, provider, who)
        held = []
        for row in self._rows("SELECT * FROM submissions WHERE status = 'received' ORDER BY received_at"):
            if overlaps(row["period"], period) and provider in (ALL_PROVIDERS, row["provider"]):
                self.periods.hold(row["submission_id"], "received before the period was approved, not yet loaded")
                self.set_status(row["submission_id"], "held", f"proposed revision to locked period {period}")
                held.append(_submission(row))
        return new, held

    def release_agreement_holds(self, provider: str, feeds: tuple[str, ...]) -> list[Submission]:
        """Submissions held for want of an agreement that now has one: they wait to be loaded by the next run."""
        rows = self._rows(
            "SELECT * FROM submissions WHERE status = 'held' AND message = ? AND provider = ?",
            (HELD_NO_AGREEMENT, provider),
        )
        released = [_submission(r) for r in rows if r["feed"] in feeds]
        revisions = {r["submission_id"] for r in self.periods.revisions(waiting_only=True)}
        for sub in released:
            if sub.submission_id in revisions:  # to a locked period: now it waits for the bureau's decision
                self.set_status(sub.submission_id, "held", "proposed revision to a locked period")
            else:
                self.set_status(sub.submission_id, "received", "released: a data-sharing agreement was registered")
        return released

    def _held(self, sid: str) -> Submission:
        sub = self.get(sid)
        if sub is None or sub.status != "held":
            raise UnusableInput(f"submission {sid[:16]} is not a proposed revision waiting for a decision")
        if (self.record(sid) or {}).get("message") == HELD_NO_AGREEMENT:
            raise UnusableInput(
                f"submission {sid[:16]} is held for want of a data-sharing agreement: register one first"
            )
        return sub

    def accept_revision(self, sid: str, who: str) -> Submission:
        """Accept a held revision: it waits to be loaded by the next run like any new submission."""
        self._held(sid)
        self.periods.decide(sid, "accepted", who)
        self.set_status(sid, "received", "revision accepted by the bureau")
        return self._known(sid)

    def reject_revision(self, sid: str, who: str, reason: str) -> Submission:
        """Reject a held revision: its file goes to `rejected/` with the bureau's reason; nothing is loaded."""
        sub = self._held(sid)
        reason = clean_reason(reason)
        self.periods.decide(sid, "rejected", who, reason)
        return self.reject(sub, f"revision rejected by the bureau: {reason}")

    def previous_row_counts(self, feed: str, provider: str, exclude: str) -> list[int]:
        """Rows in each earlier loaded submission of this provider and feed (for plausibility checks)."""
        rows = self._rows(
            "SELECT rows_in FROM submissions WHERE feed = ? AND provider = ? AND status = 'loaded' "
            "AND submission_id <> ? AND rows_in IS NOT NULL",
            (feed, provider, exclude),
        )
        return [r["rows_in"] for r in rows]

    def record_purge(self, sid: str, removed: str) -> None:
        """Note that a submission's raw content was removed (what, in our words; when)."""
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO purges VALUES (?, ?, ?)", (sid, _now(), removed))

    def purges(self) -> list[dict]:
        return [dict(r) for r in self._rows("SELECT * FROM purges ORDER BY purged_at")]

    def record_run_failure(self, run_id: str, job: str, step: str, failed_at: str, error_type: str) -> None:
        """Note a failed pipeline run (idempotent per run and step)."""
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO run_failures VALUES (?, ?, ?, ?, ?)", (run_id, job, step, failed_at, error_type)
            )

    def run_failures(self, limit: int = 20) -> list[dict]:
        """The latest failed runs, newest first."""
        return [dict(r) for r in self._rows("SELECT * FROM run_failures ORDER BY failed_at DESC LIMIT ?", (limit,))]

    def ledger(self) -> list[dict]:
        return [dict(r) for r in self._rows("SELECT * FROM submissions ORDER BY received_at, submission_id")]

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._connect() as con:
            return con.execute(sql, args).fetchall()


def _submission(row: sqlite3.Row) -> Submission:
    return Submission(
        row["submission_id"],
        row["feed"],
        row["provider"],
        row["period"],
        row["content_sha256"],
        Path(row["path"]),
        row["status"],
        row["received_at"],
        row["sheet"],
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
