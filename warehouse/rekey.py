"""Re-keying the repositories' stored linkage tokens from their escrow, under the keyring's current version."""

from __future__ import annotations

from pathlib import Path

from errors import KeyringError
from privacy.keys import Keyring
from privacy.pseudonymise import ESCROW_PREFIX, TOKENS, hmac_sql, register_hmac
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec
from warehouse.duck import encrypted, transaction
from warehouse.repository import connect, escrow_path, repository_path


def rows_by_version(warehouse_dir: Path, keyring: Keyring) -> dict[str, dict[int, int]]:
    """Per repository, how many rows carry tokens of each key version."""
    out = {}
    for feed in FEEDS:
        stem, table = feed_spec(feed).repository, feed_spec(feed).table
        path = repository_path(warehouse_dir, feed)
        if path.exists():
            with connect(path, read_only=True, key=keyring.key("database")) as con:
                out[stem] = dict(con.execute(f"SELECT key_version, count(*) FROM {table} GROUP BY 1").fetchall())
    return out


def rekey(warehouse_dir: Path, keyring: Keyring) -> dict[str, int]:
    """Re-key every row not under the current version, in one transaction per repository."""
    version, done = keyring.current, {}
    params = {"v": version}
    sets = ", ".join(
        f"{name}_token = CASE WHEN e.person_role = 'suspect' THEN {hmac_sql('suspect', f'e.{ESCROW_PREFIX}{name}')} "
        f"ELSE {hmac_sql('victim', f'e.{ESCROW_PREFIX}{name}')} END"
        for name in TOKENS
    )
    for feed in FEEDS:
        stem, table = feed_spec(feed).repository, feed_spec(feed).table
        path = repository_path(warehouse_dir, feed)
        if not path.exists():
            continue
        with connect(path, key=keyring.key("database")) as con:
            for role in ("victim", "suspect"):
                register_hmac(con, role, keyring.key(f"{role}-linkage"))
            encrypted(escrow_path(warehouse_dir, feed), keyring.key("escrow"), alias="esc", read_only=True, con=con)
            with transaction(con):  # rolled back when a row is left over
                changed = con.execute(
                    f"UPDATE {table} SET {sets}, key_version = $v FROM esc.escrow e "
                    f"WHERE {table}.submission_id = e.submission_id AND {table}.row_number = e.row_number "
                    f"AND {table}.key_version <> $v",
                    params,
                ).fetchone()[0]
                left = con.execute(f"SELECT count(*) FROM {table} WHERE key_version <> ?", [version]).fetchone()[0]
                if left:
                    raise KeyringError(
                        f"{stem}: {left} rows have no escrow entry and cannot be re-keyed; nothing changed"
                    )
        done[stem] = changed
    return done
