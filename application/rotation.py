"""Key rotation: a new key version, every stored linkage token re-keyed from the escrow (warehouse.rekey), so that
no linkage is lost; then the old versions are retired."""

from __future__ import annotations

from pathlib import Path

from privacy.keys import Keyring, save_keyring
from warehouse.rekey import rekey, rows_by_version


def rotate(keys_dir: Path, warehouse_dir: Path, keyring: Keyring, passphrase: str | None) -> tuple[Keyring, dict]:
    """Make a new current key version (unless a previous rotation is unfinished), re-key, retire old versions.

    The new keyring is saved before any row changes, so a crash leaves rows under versions the keyring
    still holds; running the rotation again finishes the job.
    """
    unfinished = any(
        v != keyring.current for counts in rows_by_version(warehouse_dir, keyring).values() for v in counts
    )
    if not unfinished:
        keyring = keyring.rotated()
        save_keyring(keys_dir, keyring, passphrase, replace=True)
    done = rekey(warehouse_dir, keyring)
    retired = Keyring(
        {keyring.current: keyring.masters[keyring.current]},
        keyring.current,
        keyring.protected,
        keyring.root,
        {keyring.current: keyring.created.get(keyring.current, "")},
    )
    save_keyring(keys_dir, retired, passphrase, replace=True)
    return retired, done
