"""Authenticated encryption at rest of files that may hold personal data (submissions, staged rows), streamed.

Format `RPTSEAL2` is the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015, as in `age`):
the plaintext is cut into fixed-size segments, each sealed with AES-256-GCM under a per-file key and a nonce
made of a random per-file prefix, the segment's counter and a "last segment" flag; the header and the file's
`context` (a submission id or a file name) are associated data of every segment. Reordering, dropping,
truncating or appending segments, and moving a file to another context, all fail authentication. So memory is
bounded by one segment, and a reader can seek: it authenticates each segment before giving out any of its bytes.

    header  = b"RPTSEAL2" | segment size (u32, big-endian) | salt (16 bytes) | nonce prefix (7 bytes)
    key'    = HKDF-SHA256(key, salt, "rapporteur RPTSEAL2 segment key")   (a fresh key per file)
    segment = AES-256-GCM(key', nonce = prefix | counter (u32) | last (1 byte), data, header | context)

Every segment but the last holds exactly `segment size` bytes; the last holds 1 to `segment size` bytes (0 only
for an empty file), so the plaintext length follows from the file's size. Written on `cryptography`'s AESGCM
rather than Tink's streaming AEAD because Tink's Python decrypting stream cannot seek (Parquet and XLSX readers
seek), it wants keys in Tink keyset protobufs rather than the keyring's HKDF keys, and it brings protobuf,
absl-py and a 4 MB native wheel. Files in the older single-blob format `RPTSEAL1` still open.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from errors import KeyringError

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported inside the functions that read or write Arrow: the sealed inbox (`Sealer`) needs only
# the segments, and every command that opens an installation imports this module (~0.15 s of start-up saved).

MAGIC_V1 = b"RPTSEAL1"
MAGIC = b"RPTSEAL2"
SEGMENT_SIZE = 1 << 20  # 1 MiB: a segment is the unit of memory, of authentication and of a seek's cost
MAX_SEGMENT_SIZE = 1 << 26  # what a reader accepts from a header, so a damaged one cannot ask for gigabytes
TAG_SIZE = 16
SALT_SIZE = 16
PREFIX_SIZE = 7
HEADER = struct.Struct(f">8sI{SALT_SIZE}s{PREFIX_SIZE}s")
NONCE_TAIL = struct.Struct(">IB")
KDF_INFO = b"rapporteur RPTSEAL2 segment key"
DAMAGED = "a sealed file is damaged or was not written by rapporteur"
WRONG_KEY = "a sealed file does not open with this keyring (wrong key or tampered file)"


class _Segments:
    """The AEAD of one file: a per-file key and the associated data, sealing or opening segment `index`."""

    def __init__(self, key: bytes, header: bytes, context: bytes):
        _, _, salt, self._prefix = HEADER.unpack(header)
        file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=KDF_INFO).derive(key)
        self._aead, self._aad = AESGCM(file_key), header + context

    def _nonce(self, index: int, last: bool) -> bytes:
        if index >= 1 << 32:
            raise ValueError("a sealed file cannot hold more than 2**32 segments")
        return self._prefix + NONCE_TAIL.pack(index, last)

    def seal(self, index: int, data: bytes, last: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index, last), data, self._aad)

    def open(self, index: int, data: bytes, last: bool) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(index, last), data, self._aad)
        except InvalidTag:
            raise KeyringError(WRONG_KEY) from None


class SealedWriter(io.BufferedIOBase):
    """A writable binary file that seals what is written into `path`, one segment in memory at a time.

    It writes a hidden temporary file beside `path` (`.<name>.<random>.tmp`: scans skip dot-files, and two
    writers of one path never share a file) and renames it into place on `close()` or a clean exit from
    `with`; an exception inside `with`, or a writer dropped unclosed, removes the temporary file instead.
    """

    def __init__(self, path: Path, key: bytes, context: bytes, *, segment_size: int = SEGMENT_SIZE):
        if not 1 <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError(f"segment_size must be between 1 and {MAX_SEGMENT_SIZE}")
        self._path, self._segment_size = Path(path), segment_size
        header = HEADER.pack(MAGIC, segment_size, os.urandom(SALT_SIZE), os.urandom(PREFIX_SIZE))
        self._segments = _Segments(key, header, context)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        self._tmp, self._file = Path(tmp), os.fdopen(fd, "wb")
        self._buffer, self._index, self._written = bytearray(), 0, 0
        self._file.write(header)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed SealedWriter")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            if len(self._buffer) == self._segment_size:  # more follows, so this segment is not the last
                self._emit(last=False)
            take = self._segment_size - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
        self._written += size
        return size

    def _emit(self, last: bool) -> None:
        self._file.write(self._segments.seal(self._index, bytes(self._buffer), last))
        self._index += 1
        self._buffer.clear()

    def close(self) -> None:
        """Seal the last segment, make the file durable and move it into place."""
        if self.closed:
            return
        try:
            self._emit(last=True)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self._path)
        except BaseException:
            self.abort()
            raise
        super().close()

    def abort(self) -> None:
        """Drop what was written: `path` is left as it was."""
        if self.closed:
            return
        if hasattr(self, "_file"):  # not when the constructor failed
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._buffer.clear()
        super().close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        self.abort()  # never commit a file nobody closed: it may be cut short


class _SegmentReader(io.RawIOBase):
    """The plaintext of a RPTSEAL2 file, read at any position; each segment is authenticated before use."""

    def __init__(self, file: io.FileIO, key: bytes, context: bytes):
        self._file, self._pos, self._cached = file, 0, (-1, b"")
        header = self._pread(0, HEADER.size)
        magic, self._segment_size, _, _ = HEADER.unpack(header) if len(header) == HEADER.size else (b"",) * 4
        body = os.fstat(file.fileno()).st_size - HEADER.size
        if magic != MAGIC or not 1 <= self._segment_size <= MAX_SEGMENT_SIZE or body < TAG_SIZE:
            raise KeyringError(DAMAGED)
        stride = self._segment_size + TAG_SIZE
        self._count = -(-body // stride)
        last = body - (self._count - 1) * stride
        if last < TAG_SIZE or (last == TAG_SIZE and self._count > 1):  # cut inside a tag, or an empty last segment
            raise KeyringError(DAMAGED)
        self._size = body - self._count * TAG_SIZE
        self._segments = _Segments(key, header, context)
        self._segment(self._count - 1)  # a truncated, extended or wrongly keyed file fails here, at open

    def _pread(self, offset: int, size: int) -> bytes:
        parts = []
        while size > 0 and (part := os.pread(self._file.fileno(), size, offset)):
            parts.append(part)
            offset, size = offset + len(part), size - len(part)
        return b"".join(parts)

    def _segment(self, index: int) -> bytes:
        if self._cached[0] != index:
            stride = self._segment_size + TAG_SIZE
            sealed = self._pread(HEADER.size + index * stride, stride)
            self._cached = (index, self._segments.open(index, sealed, last=index == self._count - 1))
        return self._cached[1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, start = divmod(self._pos, self._segment_size)
        plain = self._segment(index)
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(plain) - start)
        view[:size] = plain[start : start + size]
        self._pos += size
        return size

    def readall(self) -> bytes:
        parts = []
        while self._pos < self._size:
            index, start = divmod(self._pos, self._segment_size)
            parts.append(self._segment(index)[start:])
            self._pos += len(parts[-1])
        return b"".join(parts)

    def close(self) -> None:
        self._cached = (-1, b"")
        self._file.close()
        super().close()


def open_sealed(path: Path, key: bytes, context: bytes) -> io.BufferedReader:
    """A seekable binary file of `path`'s plaintext, decrypted and authenticated segment by segment as read.

    Raises KeyringError when the file does not open with `key` and `context` (at open for a wrong key, a
    truncated or extended file; at the segment read for a tampered one). An RPTSEAL1 file opens in memory.
    """
    file = io.FileIO(path, "rb")
    try:
        if os.pread(file.fileno(), len(MAGIC_V1), 0) == MAGIC_V1:
            with file:
                return io.BufferedReader(io.BytesIO(_open_v1(file.readall(), key, context)))
        return io.BufferedReader(_SegmentReader(file, key, context), buffer_size=1 << 16)
    except BaseException:
        file.close()
        raise


def _open_v1(blob: bytes, key: bytes, context: bytes) -> bytes:
    """The plaintext of a file in the single-blob format (magic, 12-byte nonce, AES-GCM of the whole file)."""
    nonce, body = blob[len(MAGIC_V1) : len(MAGIC_V1) + 12], blob[len(MAGIC_V1) + 12 :]
    try:
        return AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag:
        raise KeyringError(WRONG_KEY) from None


class Sealer:
    """Seals and opens files under one key; what the inbox is given to encrypt submissions."""

    def __init__(self, key: bytes):
        self._key = key

    def writer(self, path: Path, context: bytes) -> SealedWriter:
        return SealedWriter(path, self._key, context)

    def reader(self, path: Path, context: bytes) -> io.BufferedReader:
        return open_sealed(path, self._key, context)


def seal_batches(batches: Iterable[pa.RecordBatch | pa.Table], schema: pa.Schema, path: Path, key: bytes) -> int:
    """Write record batches (or tables) sealed as one Arrow IPC stream, bound to `path`'s name so files cannot
    be swapped; return the number of rows. Nothing is left at `path` when writing fails."""
    import pyarrow.ipc as ipc

    rows = 0
    with SealedWriter(path, key, Path(path).name.encode()) as sink, ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write(batch)
            rows += batch.num_rows
    return rows


def open_batches(path: Path, key: bytes) -> pa.RecordBatchReader:
    """Stream the record batches of a file written by `seal_batches` (or by the older `seal_table`)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    source = open_sealed(path, key, Path(path).name.encode())
    try:
        if source.peek(6)[:6] == b"ARROW1":  # an Arrow IPC *file*, as RPTSEAL1 staged tables were written
            reader = ipc.open_file(source)
            return pa.RecordBatchReader.from_batches(reader.schema, _batches_then_close(reader, source))
        stream = ipc.open_stream(source)
    except pa.ArrowInvalid:
        source.close()
        raise KeyringError(DAMAGED) from None
    except BaseException:
        source.close()
        raise
    return pa.RecordBatchReader.from_batches(stream.schema, _batches_then_close(stream, source))


def _batches_then_close(reader, source: io.BufferedReader) -> Iterator[pa.RecordBatch]:
    import pyarrow.ipc as ipc

    try:
        if isinstance(reader, ipc.RecordBatchFileReader):
            yield from (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            yield from reader
    finally:
        source.close()


def seal_table(table: pa.Table, path: Path, key: bytes) -> None:
    """Write `table` sealed; `path`'s name is bound to the ciphertext so files cannot be swapped."""
    seal_batches(table.to_batches(), table.schema, path, key)


def open_table(path: Path, key: bytes) -> pa.Table:
    return open_batches(path, key).read_all()
