"""Server-side sessions: a random token in the cookie; only its SHA-256 and the session's CSRF token are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from portal.accounts import connect

IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A browser's session: signed in as `org`, or anonymous (None) before sign-in."""

    org: str | None
    csrf: str

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Create, look up and end sessions; a session ends after IDLE_SECONDS unused or MAX_SECONDS in all."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def new(self, org: str | None) -> tuple[str, Session]:
        """A new session with a fresh token (a sign-in always gets a new one: no session fixation)."""
        token, session, now = secrets.token_urlsafe(32), Session(org, secrets.token_urlsafe(32)), time.time()
        with connect(self.path) as con:
            con.execute("DELETE FROM sessions WHERE seen < ? OR created < ?", (now - IDLE_SECONDS, now - MAX_SECONDS))
            con.execute(
                "INSERT INTO sessions (token_sha256, org, csrf, created, seen) VALUES (?, ?, ?, ?, ?)",
                (_digest(token), org, session.csrf, now, now),
            )
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        now = time.time()
        with connect(self.path) as con:
            row = con.execute(
                "UPDATE sessions SET seen = ? WHERE token_sha256 = ? AND seen >= ? AND created >= ? "
                "RETURNING org, csrf",
                (now, _digest(token), now - IDLE_SECONDS, now - MAX_SECONDS),
            ).fetchone()
        return Session(row["org"], row["csrf"]) if row else None

    def end(self, token: str | None) -> None:
        if token:
            with connect(self.path) as con:
                con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))
