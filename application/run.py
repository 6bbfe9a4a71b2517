"""The plain parts of `rapporteur run` (the Dagster graph itself runs in pipelines.runner): demo submissions
for an empty inbox, the submissions still waiting, and the account of what a run did."""

from __future__ import annotations

import re
import time
from collections import Counter

from application.home import Home
from errors import RepositoryBusy
from intake.inbox import WAITING, Inbox, Submission
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec
from warehouse.repository import repository_counts, repository_path

SAMPLE_NAME = re.compile(rf"(?P<feed>{'|'.join(map(re.escape, FEEDS))})__(?P<provider>[a-z0-9-]+)\.csv\Z")
SETTLE_SECONDS = 60  # a file copied into the inbox by hand is picked up once it has not changed for this long


def waiting_submissions(inbox: Inbox, feed_name: str) -> list[Submission]:
    """Submissions of a feed that still have steps to run, oldest first."""
    subs = [s for status in WAITING for s in inbox.pending(feed_name, status)]
    return sorted(subs, key=lambda s: (s.received_at or "", s.submission_id))


def scan_settled(inbox: Inbox) -> list[Submission]:
    """Seal and register files copied into the inbox by hand, once they have not changed for SETTLE_SECONDS."""
    return inbox.scan(settled_before=time.time() - SETTLE_SECONDS)


def place_demo_submissions(home: Home, inbox: Inbox, rows: int, seed: int = 0) -> int:
    """Generate demo extracts of both feeds under samples/ and submit each provider's CSV."""
    from synthetic.generator import generate

    generate(home.samples, rows=rows, providers=3, seed=seed)
    placed = 0
    for path in sorted(home.samples.glob("*.csv")):
        m = SAMPLE_NAME.match(path.name)  # skips the .cp1252.csv variant: same rows, other encoding
        if m:
            inbox.place(path, m["feed"], m["provider"], "all")
            placed += 1
    return placed


def run_account(before: list[dict], after: list[dict]) -> str:
    """What this run did, from the inbox ledger before and after it: new submissions loaded (and the earlier
    ones of the same provider, feed and period they superseded), rejected, held, left waiting; or nothing to do."""
    settled = {r["submission_id"] for r in before if r["status"] not in WAITING}
    mine = [r for r in after if r["submission_id"] not in settled]
    outcome = Counter("waiting" if r["status"] in WAITING else r["status"] for r in mine)
    if not mine:
        return f"this run: nothing new to load ({len(settled)} submissions already done); the analysis was rebuilt"
    loaded = [r for r in mine if r["status"] == "loaded"]
    # Per provider, feed and period one submission is current: each new one replaces the one before it.
    current = {_slot(r) for r in before if r["status"] == "loaded"}
    new_per_key = Counter(_slot(r) for r in loaded)
    superseded = sum(n - 1 + (k in current) for k, n in new_per_key.items())
    parts = [f"{outcome['loaded']} new submission(s) loaded"]
    parts += [f"superseding {superseded} earlier one(s) of the same provider, feed and period"] if superseded else []
    parts += [f"{outcome['rejected']} rejected"] if outcome["rejected"] else []
    parts += [f"{outcome['held']} held as proposed revision(s) of an approved period"] if outcome["held"] else []
    parts += [f"{outcome['waiting']} not finished (see the errors below)"] if outcome["waiting"] else []
    return "this run: " + ", ".join(parts)


def _slot(record: dict) -> tuple[str, str, str]:
    return record["feed"], record["provider"], record["period"]


def summary_lines(home: Home, inbox: Inbox, db_key: bytes) -> list[str]:
    """A short account of the inbox and both repositories, for the terminal (a repository another process is
    writing is said to be busy, not an error: the run's own work is done)."""
    statuses = Counter(r["status"] for r in inbox.ledger())
    lines = ["all submissions: " + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")]
    for feed in reversed(FEEDS):  # victims, then law enforcement (the order the README shows)
        label = feed_spec(feed).label
        try:
            c = repository_counts(home.warehouse, feed, db_key)
        except RepositoryBusy:
            lines.append(f"{label} repository: not read, {repository_path(home.warehouse, feed).name} is busy")
            continue
        lines.append(
            f"{label} repository: {c['rows_loaded']} rows loaded, {c['rows_quarantined']} quarantined "
            f"({c['submissions']} current submissions) in {repository_path(home.warehouse, feed)}"
        )
    lines.append(f"research database: {home.warehouse / 'research.duckdb'}")
    lines.append(f"data dictionary: {home.reports / 'data-dictionary.html'}")
    reports = sorted(home.reports.glob("annual-report-*.html"))
    if reports:
        lines.append(f"annual report: {reports[-1]}")
    return lines
