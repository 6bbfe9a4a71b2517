"""The bureau's keyring: a versioned master key for stored tokens, a long-lived root, and HKDF purpose keys.

On disk (`keys/keyring.json`) the keyring is either protected, encrypted with AES-256-GCM under a
key stretched from a passphrase with scrypt (memory-hard), or an unprotected demo keyring that
`make run` creates and says so. See docs/privacy.md for who holds what.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from errors import KeyringError

KEYRING_FILE = "keyring.json"
PASSPHRASE_ENV = "RAPPORTEUR_KEY_PASSPHRASE"
FORMAT = 2
# Derived from the current master key; rows record the version (`key_version`); `keys rotate` re-keys them.
ROTATING = ("victim-linkage", "suspect-linkage")
# Derived from the root, which never rotates: first-level linkage (shared with providers for `prepare`),
# record ids, and the encryption keys of files at rest.
STABLE = (
    "victim-linkage-l1",
    "suspect-linkage-l1",
    "record-id",
    "database",
    "staging",
    "inbox",
    "escrow",
    "access-log",
)
PURPOSES = ROTATING + STABLE
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
AAD = b"rapporteur-keyring-v2"


@dataclass(frozen=True)
class Keyring:
    """Master keys by version (`current` makes new tokens) and the root."""

    masters: dict[int, bytes]
    current: int
    protected: bool
    root: bytes = field(default=b"\x00" * 32)
    created: dict[int, str] = field(default_factory=dict)

    def key(self, purpose: str, version: int | None = None) -> bytes:
        """The 32-byte key for `purpose`; rotating purposes under master `version` (default: current)."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown key purpose {purpose}")
        if purpose in STABLE:
            secret, info = self.root, f"rapporteur/{purpose}"
        else:
            version = self.current if version is None else version
            if version not in self.masters:
                raise KeyringError(f"the keyring holds no key version {version}")
            secret, info = self.masters[version], f"rapporteur/{purpose}"
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)

    def fingerprint(self, purpose: str) -> str:
        return fingerprint(self.key(purpose))

    def rotated(self) -> Keyring:
        """A copy with a new current master key; older versions stay to re-key what they made."""
        version = max(self.masters) + 1
        return Keyring(
            {**self.masters, version: os.urandom(32)},
            version,
            self.protected,
            self.root,
            {**self.created, version: _now()},
        )


def fingerprint(key: bytes) -> str:
    """A short public id of a key: shows which key made a prepared extract, reveals nothing of it."""
    return hashlib.sha256(b"rapporteur-fingerprint|" + key).hexdigest()[:16]


PROVIDER_KEY_FORMAT = "rapporteur-provider-key/1"


def issue_provider_keys(keyring: Keyring, path: Path) -> dict[str, str]:
    """Write the first-level linkage keys a provider needs for `prepare` (mode 0600); return fingerprints."""
    keys = {role: keyring.key(f"{role}-linkage-l1") for role in ("victim", "suspect")}
    fingerprints = {r: fingerprint(k) for r, k in keys.items()}
    spec = {
        "format": PROVIDER_KEY_FORMAT,
        "keys": {r: _b64(k) for r, k in keys.items()},
        "fingerprints": fingerprints,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
    return fingerprints


def load_provider_keys(path: Path) -> dict[str, bytes]:
    """The first-level keys from a key file issued by the bureau."""
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        if spec.get("format") != PROVIDER_KEY_FORMAT:
            raise ValueError("format")
        keys = {r: base64.b64decode(spec["keys"][r], validate=True) for r in ("victim", "suspect")}
    except FileNotFoundError:
        raise KeyringError(f"{Path(path).name}: no such key file") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise KeyringError(f"{Path(path).name} is not a key file issued by the bureau; ask for a new one") from None
    return keys


def new_keyring(protected: bool) -> Keyring:
    return Keyring({1: os.urandom(32)}, 1, protected, os.urandom(32), {1: _now()})


def keyring_path(keys_dir: Path) -> Path:
    return Path(keys_dir) / KEYRING_FILE


def load_keyring(keys_dir: Path, passphrase: str | None = None) -> Keyring:
    """Open the keyring; a missing, damaged or locked one is an error that says what to do."""
    path = keyring_path(keys_dir)
    if not path.exists():
        raise KeyringError(f"no keyring at {path}: create one with `rapporteur keys init` or restore the backup")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        if spec.get("format") != FORMAT:
            raise ValueError("format")
        if spec["protected"]:
            if not passphrase:
                raise KeyringError(f"the keyring is protected: set {PASSPHRASE_ENV} to its passphrase")
            payload = _unseal(spec, passphrase)
        else:
            payload = spec["keys"]
        return _from_payload(payload, bool(spec["protected"]))
    except (ValueError, KeyError, TypeError):
        raise KeyringError(
            f"the keyring {path} is damaged; restore it from the bureau's backup "
            "(a new keyring would break linkage with everything loaded before)"
        ) from None


def save_keyring(keys_dir: Path, keyring: Keyring, passphrase: str | None = None, replace: bool = False) -> Path:
    """Write the keyring atomically (mode 0600); protected keyrings need the passphrase."""
    path = keyring_path(keys_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:
        raise KeyringError(f"a keyring already exists at {path}")
    payload = _payload(keyring)
    if keyring.protected:
        if not passphrase:
            raise KeyringError(f"set {PASSPHRASE_ENV} to the passphrase that protects the keyring")
        if len(passphrase) < 12:
            raise KeyringError(f"{PASSPHRASE_ENV} is too short: use at least 12 characters")
        spec = {"format": FORMAT, "protected": True, **_seal(payload, passphrase)}
    else:
        spec = {"format": FORMAT, "protected": False, "keys": payload}
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
    os.replace(tmp, path)
    return path


def create_demo_keyring(keys_dir: Path) -> Keyring:
    """Write a new, UNPROTECTED keyring: for demos and training only."""
    keyring = new_keyring(protected=False)
    save_keyring(keys_dir, keyring)
    return keyring


def _payload(k: Keyring) -> dict:
    return {
        "current": k.current,
        "root": _b64(k.root),
        "masters": {str(v): {"key": _b64(m), "created": k.created.get(v, "")} for v, m in k.masters.items()},
    }


def _from_payload(payload: dict, protected: bool) -> Keyring:
    masters = {int(v): base64.b64decode(m["key"], validate=True) for v, m in payload["masters"].items()}
    root = base64.b64decode(payload["root"], validate=True)
    current = int(payload["current"])
    if current not in masters or len(root) != 32 or any(len(m) != 32 for m in masters.values()):
        raise ValueError("keys")
    created = {int(v): m.get("created", "") for v, m in payload["masters"].items()}
    return Keyring(masters, current, protected, root, created)


def _stretch(passphrase: str, salt: bytes, params: dict) -> bytes:
    return Scrypt(salt=salt, length=32, **params).derive(passphrase.encode("utf-8"))


def _seal(payload: dict, passphrase: str) -> dict:
    salt, nonce = os.urandom(16), os.urandom(12)
    body = AESGCM(_stretch(passphrase, salt, SCRYPT)).encrypt(nonce, json.dumps(payload).encode(), AAD)
    return {"kdf": {"name": "scrypt", **SCRYPT, "salt": _b64(salt)}, "nonce": _b64(nonce), "ciphertext": _b64(body)}


def _unseal(spec: dict, passphrase: str) -> dict:
    kdf = spec["kdf"]
    params = {"n": int(kdf["n"]), "r": int(kdf["r"]), "p": int(kdf["p"])}
    key = _stretch(passphrase, base64.b64decode(kdf["salt"]), params)
    try:
        body = AESGCM(key).decrypt(base64.b64decode(spec["nonce"]), base64.b64decode(spec["ciphertext"]), AAD)
    except InvalidTag:
        raise KeyringError(f"wrong passphrase for the keyring (check {PASSPHRASE_ENV})") from None
    return json.loads(body)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
