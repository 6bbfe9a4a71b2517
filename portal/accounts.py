"""Organisation accounts: argon2id password hashes, a role and a disabled flag, in one SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import UnusableInput
from schemas.standard import PROVIDER_ID

ROLES = ("provider", "bureau")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps a sign-in from being a way to burn CPU

DDL = (
    """CREATE TABLE IF NOT EXISTS accounts (
        org TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('provider', 'bureau')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 TEXT PRIMARY KEY,
        org TEXT,
        csrf TEXT NOT NULL,
        created REAL NOT NULL,
        seen REAL NOT NULL
    )""",
)


@dataclass(frozen=True)
class Account:
    """An organisation's account: `org` is its provider id (or the bureau's own id)."""

    org: str
    role: str
    disabled: bool
    created_at: str

    @property
    def is_bureau(self) -> bool:
        return self.role == "bureau"


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """The portal's SQLite file (accounts and sessions), with its tables; each statement commits at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.row_factory = sqlite3.Row
    try:
        for ddl in DDL:
            con.execute(ddl)
        yield con
    finally:
        con.close()


class Accounts:
    """Add, list, disable and verify accounts. Passwords are kept only as argon2id hashes."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None):
        self.path = Path(path)
        self.hasher = hasher or PasswordHasher()
        with self._con() as con:
            con.execute("SELECT 1")
        # Checked against when the account is unknown, so that a wrong name costs as much as a wrong password.
        self._dummy = self.hasher.hash("not a password of anyone")

    def _con(self):
        return connect(self.path)

    def add(self, org: str, role: str, password: str) -> Account:
        if not PROVIDER_ID.fullmatch(org):
            raise UnusableInput("an account id must be lowercase letters, digits and hyphens (e.g. ngo-harbour)")
        if role not in ROLES:
            raise UnusableInput(f"role must be one of {', '.join(ROLES)}")
        _check_password(password)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._con() as con:
            try:
                con.execute(
                    "INSERT INTO accounts (org, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (org, role, self.hasher.hash(password), now),
                )
            except sqlite3.IntegrityError:
                raise UnusableInput(f"an account '{org}' exists already") from None
        return self._existing(org)

    def _existing(self, org: str) -> Account:
        """An account just written."""
        account = self.get(org)
        assert account is not None, "an account just written"
        return account

    def get(self, org: str) -> Account | None:
        with self._con() as con:
            row = con.execute("SELECT * FROM accounts WHERE org = ?", (org,)).fetchone()
        return _account(row) if row else None

    def list(self) -> list[Account]:
        with self._con() as con:
            return [_account(r) for r in con.execute("SELECT * FROM accounts ORDER BY org")]

    def disable(self, org: str) -> Account:
        """Refuse every later sign-in of `org` and end its open sessions."""
        with self._con() as con:
            if con.execute("UPDATE accounts SET disabled = 1 WHERE org = ?", (org,)).rowcount == 0:
                raise UnusableInput(f"no account '{org[:64]}'")
            con.execute("DELETE FROM sessions WHERE org = ?", (org,))
        return self._existing(org)

    def reset(self, org: str, password: str) -> Account:
        """Give `org` a new password and enable it again; its open sessions end."""
        _check_password(password)
        with self._con() as con:
            changed = con.execute(
                "UPDATE accounts SET password_hash = ?, disabled = 0 WHERE org = ?", (self.hasher.hash(password), org)
            ).rowcount
            if changed == 0:
                raise UnusableInput(f"no account '{org[:64]}'")
            con.execute("DELETE FROM sessions WHERE org = ?", (org,))
        return self._existing(org)

    def verify(self, org: str, password: str) -> Account | None:
        """The account when `password` is right and the account enabled; None otherwise (same cost either way)."""
        with self._con() as con:
            row = con.execute("SELECT * FROM accounts WHERE org = ?", (org,)).fetchone()
        stored = row["password_hash"] if row else self._dummy
        try:
            self.hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self._con() as con:
                con.execute("UPDATE accounts SET password_hash = ? WHERE org = ?", (self.hasher.hash(password), org))
        return _account(row)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UnusableInput(f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def _account(row: sqlite3.Row) -> Account:
    return Account(row["org"], row["role"], bool(row["disabled"]), row["created_at"])
