"""Authenticated encryption (AES-256-GCM) of files that may hold personal data, such as staged rows."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sources.errors import KeyringError

MAGIC = b"RPTSEAL1"


def seal_bytes(data: bytes, key: bytes, context: bytes) -> bytes:
    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, data, context)


def open_bytes(blob: bytes, key: bytes, context: bytes) -> bytes:
    if not blob.startswith(MAGIC):
        raise KeyringError("a sealed file is damaged or was not written by rapporteur")
    nonce, body = blob[len(MAGIC) : len(MAGIC) + 12], blob[len(MAGIC) + 12 :]
    try:
        return AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag:
        raise KeyringError("a sealed file does not open with this keyring (wrong key or tampered file)") from None


class Sealer:
    """Seals and opens whole files under one key; what the inbox is given to encrypt submissions."""

    def __init__(self, key: bytes):
        self._key = key

    def seal(self, data: bytes, context: bytes) -> bytes:
        return seal_bytes(data, self._key, context)

    def open(self, blob: bytes, context: bytes) -> bytes:
        return open_bytes(blob, self._key, context)


def seal_table(table: pa.Table, path: Path, key: bytes) -> None:
    """Write `table` encrypted; `path`'s name is bound to the ciphertext so files cannot be swapped."""
    sink = io.BytesIO()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_bytes(seal_bytes(sink.getvalue(), key, Path(path).name.encode()))
    os.replace(tmp, path)


def open_table(path: Path, key: bytes) -> pa.Table:
    data = open_bytes(Path(path).read_bytes(), key, Path(path).name.encode())
    return ipc.open_file(pa.BufferReader(data)).read_all()


def seal_batches(batches, schema: pa.Schema, path: Path, key: bytes) -> int:
    """Temporary whole-table version (replaced by the streaming one from the `sealed` branch)."""
    table = pa.Table.from_batches(
        [b for t in batches for b in (t.to_batches() if isinstance(t, pa.Table) else [t])], schema
    )
    seal_table(table, path, key)
    return table.num_rows


def open_batches(path: Path, key: bytes) -> pa.RecordBatchReader:
    """Temporary whole-table version (replaced by the streaming one from the `sealed` branch)."""
    table = open_table(path, key)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
