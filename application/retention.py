"""Retention: what holds a submission's raw content is purged a set time after it was loaded (never before).

The sealed raw file (names, dates of birth, document numbers: encrypted, but personal data all the same), any
staging left behind, and the bureau's validation report of the submission (failures by row, Data Docs) are
removed once the submission has been loaded (or rejected) for longer than the retention period. The ledger
keeps the submission with its counts; the repository keeps its pseudonymised rows and its quarantine (row
numbers and rules, never a cell), so every count still reconciles. Each purge is recorded in the ledger.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from application.home import Home
from intake.inbox import Inbox

DONE = ("loaded", "rejected")  # a submission still waiting, or held as a revision, keeps everything


@dataclass(frozen=True)
class Purged:
    """What was (or, in a dry run, would be) removed for one submission."""

    submission_id: str
    provider: str
    status: str
    since: str
    removed: tuple[str, ...]


def purge(home: Home, inbox: Inbox, days: int, now: dt.datetime | None = None, dry_run: bool = False) -> list[Purged]:
    """Remove the raw content of every submission loaded (or rejected) more than `days` days ago."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    done = []
    for row in inbox.ledger():
        if row["status"] not in DONE or dt.datetime.fromisoformat(row["updated_at"]) > cutoff:
            continue
        sid = row["submission_id"]
        places = [Path(row["path"]), home.staging / sid, home.reports / "validation" / sid]
        present = [p for p in places if p.exists()]
        if not present:
            continue
        what = tuple(_what(home, p) for p in present)
        if not dry_run:
            for path in present:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            inbox.record_purge(sid, ", ".join(what))
        done.append(Purged(sid, row["provider"], row["status"], row["updated_at"], what))
    return done


def _what(home: Home, path: Path) -> str:
    """A removed place in words, relative to the installation (our own names only)."""
    if path.is_relative_to(home.staging):
        return "staging"
    if path.is_relative_to(home.reports):
        return "validation report"
    return "sealed raw file"
