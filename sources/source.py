"""A provider's file as a path, its bytes, or a binary file object (a sealed submission), opened the same way."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import BinaryIO, cast

import pyarrow as pa

from errors import UnusableInput

Readable = Path | str | bytes | BinaryIO


class Source:
    """Where an extract's bytes come from; every `open()` reads it again from its first byte.

    A caller's file object is only borrowed: it is read from position 0 and never closed here.
    """

    def __init__(self, source: Readable, name: str | None):
        self.data = source if isinstance(source, bytes) else None
        self.file = source if not isinstance(source, bytes | str | Path) else None
        self.path = Path(source) if isinstance(source, str | Path) else None
        self._lock = threading.Lock()  # one reader of the caller's file at a time (pyarrow reads ahead in a thread)
        self.name = name or (self.path.name if self.path else "extract")
        if self.path is not None and not self.path.is_file():
            raise UnusableInput(f"{self.name}: no such file")

    def open(self) -> BinaryIO:
        """A Python file object from the first byte (for zipfile, openpyxl and the byte scans)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is not None:
            return self.path.open("rb")
        return self._borrowed()

    def size(self) -> int:
        """The file's size in bytes."""
        if self.data is not None:
            return len(self.data)
        if self.path is not None:
            return self.path.stat().st_size
        with self._borrowed() as f:
            return f.seek(0, io.SEEK_END)

    def arrow(self) -> str | pa.NativeFile | BinaryIO:
        """What pyarrow's readers take: a path or an in-memory buffer read natively, else the file object."""
        if self.data is not None:
            return pa.BufferReader(self.data)
        if self.path is not None:
            return str(self.path)
        return self._borrowed()

    def _borrowed(self) -> BinaryIO:
        """The caller's file, read from its start at a position of its own."""
        assert self.file is not None, "a source is bytes, a path or a file"
        return cast(BinaryIO, _Borrowed(self.file, self._lock))


class _Borrowed(io.RawIOBase):
    """The caller's file object from its start, at a position of its own (views of one file never mix their
    reads, even when a reader that stopped still reads ahead); closing it leaves the caller's file open."""

    def __init__(self, inner: BinaryIO, lock: threading.Lock):
        super().__init__()
        self._inner, self._lock, self._pos = inner, lock, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            if self._inner.tell() != self._pos:
                self._inner.seek(self._pos)
            data = self._inner.read(size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            with self._lock:
                self._pos = self._inner.seek(offset, io.SEEK_END)
        return self._pos

    def tell(self) -> int:
        return self._pos
