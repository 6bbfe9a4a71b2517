"""The bureau's keyring: versioned master keys and the purpose keys derived from them with HKDF."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sources.errors import KeyringError

PURPOSES = ("victim-linkage", "suspect-linkage", "record-id", "database", "staging")
KEYRING_FILE = "keyring.json"


@dataclass(frozen=True)
class Keyring:
    """Master keys by version; `current` makes new pseudonyms."""

    masters: dict[int, bytes]
    current: int
    protected: bool

    def key(self, purpose: str, version: int | None = None) -> bytes:
        """The 32-byte key for `purpose` under master key `version` (default: current)."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown key purpose {purpose}")
        version = self.current if version is None else version
        if version not in self.masters:
            raise KeyringError(f"the keyring holds no key version {version}")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"rapporteur/{purpose}".encode())
        return hkdf.derive(self.masters[version])


def load_keyring(keys_dir: Path) -> Keyring:
    """Open the keyring under `keys_dir`; a missing or damaged one is an error that says what to do."""
    path = Path(keys_dir) / KEYRING_FILE
    if not path.exists():
        raise KeyringError(f"no keyring at {path}; create one with `rapporteur run` (demo) or restore the backup")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        masters = {int(v): base64.b64decode(k["master"], validate=True) for v, k in spec["keys"].items()}
        keyring = Keyring(masters, int(spec["current"]), bool(spec.get("protected", False)))
    except (ValueError, KeyError, TypeError):
        raise KeyringError(
            f"the keyring {path} is damaged; restore it from the bureau's backup "
            "(a new keyring would break linkage with everything loaded before)"
        ) from None
    if keyring.current not in masters or any(len(m) != 32 for m in masters.values()):
        raise KeyringError(f"the keyring {path} is damaged; restore it from the bureau's backup")
    return keyring


def create_demo_keyring(keys_dir: Path) -> Keyring:
    """Write a new, unprotected keyring (demo use: its master key is not encrypted at rest)."""
    keys_dir = Path(keys_dir)
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / KEYRING_FILE
    if path.exists():
        raise KeyringError(f"a keyring already exists at {path}")
    master = os.urandom(32)
    spec = {
        "format": 1,
        "protected": False,
        "current": 1,
        "keys": {
            "1": {
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "master": base64.b64encode(master).decode(),
            }
        },
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
    return Keyring({1: master}, 1, False)
