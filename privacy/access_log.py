"""The access log: who opened what, when, through which command or run, and why; append-only, tamper-evident.

Every opening of a repository, an escrow, the linkage store or the keyring, and every portal action, appends
one JSON line to `audit/access.log` of the installation. Each entry carries an HMAC-SHA256, under the
keyring's access-log key, of the previous entry's MAC and its own canonical text: changing, deleting,
inserting or reordering an entry breaks the chain, and `verify` says where. Appending takes an exclusive file
lock, so concurrent processes never interleave or fork the chain.

What an entry holds: a time, the actor (an operating-system user or a portal account), how (`cli`, `sql`,
`dagster`, `portal`), the command, run or page, the purpose when one was given, the action and its target (a
file name of ours, or a submission id). Never a victim's data, never a cell, never a request body.

The front end says who is acting (`act_as`); the keyring binds the log once it is opened (`bind`); from then
on `record` appends. A process that never opened a keyring has nothing to log: every target needs its keys.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from errors import RapporteurError

LOG_FILE = "access.log"
HEAD_FILE = "access.head"  # the count and last MAC, keyed: cutting entries off the end is detected too
GENESIS = "0" * 64
MAX_PURPOSE = 300


@dataclass(frozen=True)
class Actor:
    """Who acts, how, through which command or run, and why."""

    who: str
    via: str
    command: str
    purpose: str | None = None


@dataclass
class _State:
    actor: Actor | None = None
    path: Path | None = None
    key: bytes | None = None


_state = _State()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def act_as(via: str, command: str, who: str | None = None, purpose: str | None = None) -> None:
    """Say who acts in this process from now on (the CLI per command, a Dagster run, a portal request)."""
    text = " ".join((purpose or "").split())[:MAX_PURPOSE] or None
    _state.actor = Actor(who or os_user(), via, command, text)


def with_purpose(purpose: str) -> None:
    """Add the purpose the user gave to the current actor."""
    actor = _state.actor or Actor(os_user(), "cli", "unknown")
    _state.actor = replace(actor, purpose=" ".join(purpose.split())[:MAX_PURPOSE])


def bind(audit_dir: Path, key: bytes) -> None:
    """Append to the log under `audit_dir` with `key` (done when the installation's keyring is opened)."""
    audit_dir.mkdir(parents=True, exist_ok=True)
    audit_dir.chmod(0o700)
    _state.path, _state.key = audit_dir / LOG_FILE, key


def unbind() -> None:
    _state.path = _state.key = None


def record(action: str, target: str, actor: Actor | None = None) -> None:
    """Append one entry (nothing when no log is bound: the process opened no keyring)."""
    if _state.path is None or _state.key is None:
        return
    who = actor or _state.actor or Actor(os_user(), "python", "library")
    entry = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "who": who.who,
        "via": who.via,
        "command": who.command,
        "purpose": who.purpose,
        "action": action,
        "target": target,
    }
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    fd = os.open(_state.path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        previous = _last_mac(_state.path)
        mac = entry["mac"] = _mac(_state.key, previous, entry)
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
        _write_head(_state.path, _state.key, previous, mac)
    finally:
        os.close(fd)  # releases the lock


def entries(path: Path) -> list[dict]:
    """Every entry of a log, in order (RapporteurError when a line is not an entry)."""
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise RapporteurError(f"access log line {number} is not an entry: the log was altered") from None
    return out


def verify(path: Path, key: bytes) -> list[str]:
    """Where the chain breaks (empty: every entry is as written, none removed, inserted or reordered)."""
    problems, previous = [], GENESIS
    try:
        found = entries(path)
    except RapporteurError as exc:
        return [str(exc)]
    for number, entry in enumerate(found, 1):
        body = {k: v for k, v in entry.items() if k != "mac"}
        if not hmac.compare_digest(str(entry.get("mac", "")), _mac(key, previous, body)):
            problems.append(
                f"entry {number} ({entry.get('at', '?')}) does not follow the chain: "
                "changed, inserted, or an earlier one removed"
            )
        previous = str(entry.get("mac", ""))
    head = path.with_name(HEAD_FILE)
    if found or head.exists():
        expected = _head(key, len(found), previous)
        if not head.exists() or not hmac.compare_digest(head.read_text(encoding="ascii").strip(), expected):
            problems.append(
                f"the log does not end where it was last written ({len(found)} entries now): entries removed"
            )
    return problems


def _mac(key: bytes, previous: str, entry: dict) -> str:
    text = previous + json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _head(key: bytes, count: int, last: str) -> str:
    return f"{count} " + hmac.new(key, f"head|{count}|{last}".encode(), hashlib.sha256).hexdigest()


def _write_head(path: Path, key: bytes, previous: str, last: str) -> None:
    """Record the count and last MAC beside the log (under the append lock), replaced atomically."""
    head, partial = path.with_name(HEAD_FILE), path.with_name(HEAD_FILE + ".partial")
    try:  # the count so far is in the head when it names the entry before this one; else count the lines
        count = int(head.read_text(encoding="ascii").split()[0])
        if head.read_text(encoding="ascii").strip() != _head(key, count, previous):
            raise ValueError("stale head")
        count += 1
    except (OSError, ValueError, IndexError):
        count = sum(1 for _ in path.open("rb"))
    partial.write_text(_head(key, count, last) + "\n", encoding="ascii")
    partial.chmod(0o600)
    os.replace(partial, head)


def _last_mac(path: Path) -> str:
    """The MAC of the last entry (read under the append lock)."""
    size = path.stat().st_size
    if size == 0:
        return GENESIS
    with path.open("rb") as f:
        f.seek(max(0, size - 4096))
        last = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        return json.loads(last)["mac"]
    except (json.JSONDecodeError, KeyError):
        raise RapporteurError("the access log's last entry is damaged: run `rapporteur audit` to see where") from None
