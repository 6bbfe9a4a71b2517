"""The register of data-sharing agreements: under which agreement a provider shares which feeds, for what, when.

Kept in the inbox's ledger. Once the bureau has registered any agreement, a submission from a provider with no
agreement valid for its feed on the day it arrives is held (status `held`, with the reason) and not loaded;
registering the agreement releases it. Before the first agreement the register is not enforced, and says so.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from errors import UnusableInput
from intake.ledger_file import LedgerFile

HELD_NO_AGREEMENT = "no data-sharing agreement valid for this feed on the day it arrived"
AGREEMENTS_DDL = """
CREATE TABLE IF NOT EXISTS agreements (
    reference TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    feeds TEXT NOT NULL,
    purposes TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Agreement:
    reference: str
    provider: str
    feeds: tuple[str, ...]
    purposes: str
    valid_from: dt.date
    valid_to: dt.date

    def covers(self, provider: str, feed: str, day: dt.date) -> bool:
        return self.provider == provider and feed in self.feeds and self.valid_from <= day <= self.valid_to


class Agreements(LedgerFile):
    """The register, in the ledger file at `path`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, AGREEMENTS_DDL)

    def add(self, agreement: Agreement, who: str) -> None:
        """Register an agreement (UnusableInput when its reference is taken or its dates are reversed)."""
        if agreement.valid_to < agreement.valid_from:
            raise UnusableInput("an agreement must end on or after the day it starts (--valid-to)")
        if not agreement.reference.strip() or not agreement.purposes.strip():
            raise UnusableInput("an agreement needs a reference and its purposes")
        try:
            with self._connect() as con:
                con.execute(
                    "INSERT INTO agreements VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        agreement.reference,
                        agreement.provider,
                        ",".join(agreement.feeds),
                        agreement.purposes,
                        agreement.valid_from.isoformat(),
                        agreement.valid_to.isoformat(),
                        who,
                        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    ),
                )
        except sqlite3.IntegrityError:
            raise UnusableInput(
                f"an agreement with reference {agreement.reference[:40]!r} is registered already"
            ) from None

    def all(self) -> list[Agreement]:
        rows = self._rows("SELECT * FROM agreements ORDER BY provider, valid_from")
        return [
            Agreement(
                r["reference"],
                r["provider"],
                tuple(r["feeds"].split(",")),
                r["purposes"],
                dt.date.fromisoformat(r["valid_from"]),
                dt.date.fromisoformat(r["valid_to"]),
            )
            for r in rows
        ]

    def enforced(self) -> bool:
        """Whether the register is in use (it holds at least one agreement)."""
        return bool(self.all())

    def valid(self, provider: str, feed: str, day: dt.date) -> Agreement | None:
        """The agreement under which `provider` may share `feed` on `day` (None: none)."""
        return next((a for a in self.all() if a.covers(provider, feed, day)), None)

    def expiring(self, within_days: int, today: dt.date) -> list[Agreement]:
        """Agreements that end within `within_days` from `today` (and have not ended yet)."""
        return [a for a in self.all() if today <= a.valid_to <= today + dt.timedelta(days=within_days)]
