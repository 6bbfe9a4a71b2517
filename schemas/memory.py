"""Give memory that a finished step freed back to the system before the next step allocates its own."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache

import pyarrow as pa


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_memory() -> None:
    """Collect reference cycles, then return the free pages of Arrow's pool and of the C heap to the system.

    Between the steps of a large submission, memory freed by one step stays with the allocator that held it
    (Arrow's pool, glibc's heap), where the next step (pandas in Great Expectations) cannot use it: the
    process's peak is then the sum of the steps instead of the largest. Where glibc is not the C library,
    only the first two are done.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
