"""Memory a step freed goes back before the next step allocates."""

from __future__ import annotations

import gc

import pyarrow as pa

from schemas.memory import release_memory


def test_release_memory_frees_what_only_reference_cycles_held():
    gc.disable()  # no automatic collection between the two measures
    try:
        before = pa.total_allocated_bytes()
        held = {"column": pa.array(range(2_000_000), pa.int64())}
        held["self"] = held  # a cycle: reference counting alone never frees it
        del held
        assert pa.total_allocated_bytes() - before >= 16_000_000
        release_memory()
    finally:
        gc.enable()
    assert pa.total_allocated_bytes() - before < 1_000_000
