"""The inbox's layout `<feed>/<provider>/<period>/<file>`, walked without ever following a symbolic link."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

Entry = tuple[Path, str, str | None, str | None, bool]  # path, feed, provider, period, is a link


def walk(root: Path, feeds: Iterable[str]) -> Iterator[Entry]:
    """Every file of the layout and every symbolic link met on the way, in name order. A link stops the walk
    where it is (provider and period are None above it); dot names (partial writes) are left alone."""
    for feed in feeds:
        top = root / feed
        if top.is_symlink():
            yield top, feed, None, None, True
            continue
        for folder in _entries(top, folders=True):
            if folder.is_symlink():
                yield Path(folder), feed, folder.name, None, True
                continue
            for inner in _entries(folder, folders=True):
                if inner.is_symlink():
                    yield Path(inner), feed, folder.name, inner.name, True
                    continue
                for entry in _entries(inner):
                    if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                        yield Path(entry), feed, folder.name, inner.name, entry.is_symlink()


def _entries(folder: Path | os.DirEntry[str], folders: bool = False) -> list[os.DirEntry[str]]:
    """The entries of a folder in name order, dot names left out; with `folders`, only folders and links."""
    try:
        with os.scandir(folder) as it:
            found = [e for e in it if not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    kept = (e for e in found if not folders or e.is_symlink() or e.is_dir(follow_symlinks=False))
    return sorted(kept, key=lambda e: e.name)


def open_no_link(path: Path) -> BinaryIO:
    """A file opened for reading, refused (OSError) when it is a symbolic link."""
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")
