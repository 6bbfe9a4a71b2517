"""The reporting cycle of each period: providers sign off, the bureau approves (and so locks), revisions wait.

Kept in the inbox's ledger (SQLite), beside the submissions, so the CLI and the portal see a period's state
without opening a repository. Every decision is a row that is never deleted: who, when, and (for an unlock,
a revision or its rejection) why. Who is an operating-system user or a portal account, never a person's data.

- A provider signs off its current loaded submission for a period: that exact submission is final. A later
  submission for the period is not signed off until the provider signs again.
- The bureau approves a period for every provider, or for one. An approved period is locked: a submission that
  overlaps it is held as a proposed revision, with the provider's reason, and loads only once the bureau
  accepts it. Unlocking is explicit and recorded with a reason.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from errors import UnusableInput
from intake.ledger_file import LedgerFile

ALL_PROVIDERS = "*"
MAX_REASON = 500  # characters of a reason kept in the ledger

PERIODS_DDL = """
CREATE TABLE IF NOT EXISTS signoffs (
    feed TEXT NOT NULL,
    provider TEXT NOT NULL,
    period TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    period TEXT NOT NULL,
    provider TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    unlocked_by TEXT,
    unlocked_at TEXT,
    unlock_reason TEXT
);
CREATE TABLE IF NOT EXISTS revisions (
    submission_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    held_at TEXT NOT NULL,
    decision TEXT,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT
);
"""


def overlaps(a: str, b: str) -> bool:
    """Whether two periods (`all`, a year, a quarter) share any day."""
    if "all" in (a, b):
        return True
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def current_loaded(ledger: list[dict]) -> dict[tuple[str, str, str], dict]:
    """Per (feed, provider, period), the loaded submission in force: the last loaded (the repository's rule:
    a later load of the same provider, feed and period supersedes the earlier one)."""
    current: dict[tuple[str, str, str], dict] = {}
    for row in sorted(
        (r for r in ledger if r["status"] == "loaded"), key=lambda r: (r["updated_at"], r["submission_id"])
    ):
        current[(row["feed"], row["provider"], row["period"])] = row
    return current


def in_force_for(
    in_force: Iterable[dict], feed: str, provider: str, period: str, covers: Callable[[dict, str], bool]
) -> dict | None:
    """The provider's loaded submission in force that accounts for `period`: the one for exactly that period,
    else the latest that covers it (a whole-history extract, say)."""
    mine = [r for r in in_force if r["feed"] == feed and r["provider"] == provider and covers(r, period)]
    exact = [r for r in mine if r["period"] == period]
    return max(exact or mine, key=lambda r: (r["updated_at"], r["submission_id"]), default=None)


def operator() -> str:
    """Who runs this command: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def clean_reason(reason: str | None) -> str:
    """A reason as kept: one line, trimmed, not empty (UnusableInput otherwise)."""
    text = " ".join((reason or "").split())
    if not text:
        raise UnusableInput("give a reason (--reason): it is kept in the ledger with the decision")
    return text[:MAX_REASON]


@dataclass(frozen=True)
class PeriodState:
    """Where one provider stands for one period of one feed."""

    feed: str
    provider: str
    period: str
    state: str  # missing, submitted, signed_off, approved
    submission_id: str | None = None
    signed_at: str | None = None
    approved_at: str | None = None
    revisions_held: int = 0


class PeriodLedger(LedgerFile):
    """Sign-offs, approvals (locks) and held revisions, in the ledger file at `path`."""

    def __init__(self, path) -> None:
        super().__init__(path, PERIODS_DDL)

    # ----------------------------------------------------------------- sign-off

    def sign_off(self, feed: str, provider: str, period: str, current: dict | None, who: str) -> str:
        """Mark the provider's current loaded submission for the period final; return its id."""
        if current is None:
            raise UnusableInput(
                f"{provider} has no loaded {feed} submission for period {period} to sign off; submit it first"
            )
        with self._connect() as con:
            con.execute(
                "INSERT INTO signoffs VALUES (?, ?, ?, ?, ?, ?)",
                (feed, provider, period, current["submission_id"], who, _now()),
            )
        return current["submission_id"]

    def signed(self, submission_id: str, period: str | None = None) -> str | None:
        """When a submission was signed off (for `period`, when given), if it was."""
        sql = "SELECT max(signed_at) AS at FROM signoffs WHERE submission_id = ? AND (? IS NULL OR period = ?)"
        row = self._one(sql, (submission_id, period, period))
        return row["at"] if row else None

    # ----------------------------------------------------------------- approval and locks

    def approve(self, period: str, provider: str, who: str) -> bool:
        """Approve (lock) a period for one provider or all (`ALL_PROVIDERS`); False when it already was."""
        if self.approval(period, provider, exact=True) is not None:
            return False
        with self._connect() as con:
            con.execute(
                "INSERT INTO approvals (period, provider, approved_by, approved_at) VALUES (?, ?, ?, ?)",
                (period, provider, who, _now()),
            )
        return True

    def unlock(self, period: str, provider: str, who: str, reason: str) -> None:
        """Lift an approval, recording who and why (UnusableInput when there is none to lift)."""
        if self.approval(period, provider, exact=True) is None:
            scope = "every provider" if provider == ALL_PROVIDERS else provider
            raise UnusableInput(f"period {period} is not approved for {scope}: nothing to unlock")
        with self._connect() as con:
            con.execute(
                "UPDATE approvals SET unlocked_by = ?, unlocked_at = ?, unlock_reason = ? "
                "WHERE period = ? AND provider = ? AND unlocked_at IS NULL",
                (who, _now(), clean_reason(reason), period, provider),
            )

    def approval(self, period: str, provider: str, exact: bool = False) -> dict | None:
        """The standing approval that locks `period` for `provider` (its own, or every provider's)."""
        scopes = (provider,) if exact else (provider, ALL_PROVIDERS)
        for row in self._rows("SELECT * FROM approvals WHERE unlocked_at IS NULL ORDER BY approved_at"):
            if row["provider"] in scopes and (row["period"] == period if exact else overlaps(row["period"], period)):
                return dict(row)
        return None

    def history(self) -> list[dict]:
        """Every approval and unlock, oldest first."""
        return [dict(r) for r in self._rows("SELECT * FROM approvals ORDER BY approved_at")]

    # ----------------------------------------------------------------- revisions

    def hold(self, submission_id: str, reason: str) -> None:
        """Hold a submission to a locked period as a proposed revision (idempotent)."""
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO revisions (submission_id, reason, held_at) VALUES (?, ?, ?)",
                (submission_id, clean_reason(reason), _now()),
            )

    def decide(self, submission_id: str, decision: str, who: str, reason: str | None = None) -> None:
        """Accept or reject a held revision (UnusableInput when it is not waiting for a decision)."""
        row = self._one("SELECT decision FROM revisions WHERE submission_id = ?", (submission_id,))
        if row is None:
            raise UnusableInput(f"submission {submission_id[:16]} is not a proposed revision")
        if row["decision"] is not None:
            raise UnusableInput(f"submission {submission_id[:16]} was already {row['decision']}")
        with self._connect() as con:
            con.execute(
                "UPDATE revisions SET decision = ?, decided_by = ?, decided_at = ?, decision_reason = ? "
                "WHERE submission_id = ?",
                (decision, who, _now(), None if reason is None else clean_reason(reason), submission_id),
            )

    def revisions(self, waiting_only: bool = False) -> list[dict]:
        """Proposed revisions with their reasons and decisions, oldest first."""
        where = " WHERE decision IS NULL" if waiting_only else ""
        return [dict(r) for r in self._rows(f"SELECT * FROM revisions{where} ORDER BY held_at")]

    # ----------------------------------------------------------------- the bureau's view

    def states(
        self,
        ledger: list[dict],
        expected: dict[str, list[str]],
        periods: Iterable[str],
        covers: Callable[[dict, str], bool] = lambda row, period: row["period"] == period,
    ) -> list[PeriodState]:
        """Per feed, expected (or submitting) provider and period: missing, submitted, signed off or approved.

        `covers(row, period)` says whether a submission accounts for a period (default: it is for that period).
        """
        held = {r["submission_id"] for r in self.revisions(waiting_only=True)}
        in_force = list(current_loaded(ledger).values())
        out = []
        for period in periods:
            for feed, providers in expected.items():
                rows = [r for r in ledger if r["feed"] == feed and covers(r, period)]
                for provider in sorted(set(providers) | {r["provider"] for r in rows}):
                    mine = [r for r in rows if r["provider"] == provider]
                    current = in_force_for(in_force, feed, provider, period, covers)
                    out.append(self._state(feed, provider, period, mine, held, current))
        return out

    def _state(
        self, feed: str, provider: str, period: str, rows: list[dict], held: set[str], current: dict | None
    ) -> PeriodState:
        waiting = sum(r["submission_id"] in held for r in rows)
        approval = self.approval(period, provider)
        # signed off for this period, or as a whole (for its own period, e.g. a whole-history extract)
        signed = (
            self.signed(current["submission_id"], period) or self.signed(current["submission_id"], current["period"])
            if current
            else None
        )
        state = "approved" if approval else "signed_off" if signed else "submitted" if current else "missing"
        return PeriodState(
            feed,
            provider,
            period,
            state,
            current["submission_id"] if current else None,
            signed,
            approval["approved_at"] if approval else None,
            waiting,
        )

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
