"""Count the bad CSV rows that pyarrow cannot even hand to our handler, without printing them.

pyarrow decodes a bad row's text before it calls `invalid_row_handler`. When the row is not valid
UTF-8 (a short row in another encoding) the decoding fails inside pyarrow's callback, which reports
it through `sys.unraisablehook` with our handler as the object, prints a traceback on stderr and
fails the parse. `counted()` installs a hook only while pyarrow parses (one block at a time, in
our own call), takes the reports whose object is a handler being read and counts them, and passes
every other report on to the hook that was there before. Nested and concurrent reads share one
installation; it is removed when the last read's block is parsed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_counters: dict[int, tuple[object, Callable[[], None]]] = {}
_previous: list = []  # the hook to restore, while ours is installed


def _hook(unraisable) -> None:
    entry = _counters.get(id(unraisable.object))
    if entry is not None and entry[0] is unraisable.object:
        entry[1]()  # never look at the row: its text may hold identifiers
        return
    (_previous[0] if _previous else sys.__unraisablehook__)(unraisable)


@contextmanager
def counted(handler: object, count: Callable[[], None]) -> Iterator[None]:
    """While inside, a row that `handler` could not be given calls `count()` instead of printing."""
    with _lock:
        if not _counters:
            _previous[:] = [sys.unraisablehook]
            sys.unraisablehook = _hook
        _counters[id(handler)] = (handler, count)
    try:
        yield
    finally:
        with _lock:
            _counters.pop(id(handler), None)
            if not _counters:
                if sys.unraisablehook is _hook:  # unless someone installed their own meanwhile
                    sys.unraisablehook = _previous[0]
                _previous.clear()
