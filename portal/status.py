"""What an account may see of the inbox ledger: its own organisation's submissions (the bureau: all),
with `superseded` derived by the repositories' rule, so the portal never opens a repository."""

from __future__ import annotations

from intake.inbox import Inbox
from intake.periods import current_loaded
from portal.accounts import Account

SHOWN = ("submission_id", "feed", "provider", "period", "received_at", "status", "updated_at")
COUNTS = ("rows_in", "rows_loaded", "rows_quarantined")


def visible_submissions(inbox: Inbox, account: Account) -> list[dict]:
    """The submissions `account` may see, newest first; the stored file path is never shown."""
    rows = inbox.ledger()
    superseded = _superseded(rows)
    shown = []
    for row in rows:
        if not account.is_bureau and row["provider"] != account.org:
            continue
        entry = {k: row[k] for k in SHOWN + COUNTS} | {"message": row["message"]}
        if row["submission_id"] in superseded:
            entry["status"] = "superseded"
        shown.append(entry)
    return sorted(shown, key=lambda r: (r["received_at"], r["submission_id"]), reverse=True)


def visible_submission(inbox: Inbox, account: Account, submission_id: str) -> dict | None:
    """One submission if `account` may see it; None both when it does not exist and when it is another's."""
    return next((r for r in visible_submissions(inbox, account) if r["submission_id"] == submission_id), None)


def _superseded(rows: list[dict]) -> set[str]:
    """Loaded submissions followed by a later load of the same provider, feed and period (the repository's rule)."""
    current = {r["submission_id"] for r in current_loaded(rows).values()}
    return {r["submission_id"] for r in rows if r["status"] == "loaded" and r["submission_id"] not in current}
