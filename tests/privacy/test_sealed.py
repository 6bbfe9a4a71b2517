"""Sealed files (RPTSEAL2): round trips at segment boundaries, seeks, every tampering, the old format."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import KeyringError
from privacy.sealed import (
    DAMAGED,
    HEADER,
    MAGIC_V1,
    SEGMENT_SIZE,
    TAG_SIZE,
    WRONG_KEY,
    SealedWriter,
    open_batches,
    open_sealed,
    open_table,
    seal_batches,
    seal_table,
)

KEY = b"\x02" * 32
CONTEXT = b"0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]
WHENCE = (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END)
SMALL = 16  # a segment size for the tampering tests: several segments from a few bytes


def seal(path: Path, data: bytes, segment_size: int = SEGMENT_SIZE, key: bytes = KEY, context: bytes = CONTEXT):
    with SealedWriter(path, key, context, segment_size=segment_size) as sink:
        sink.write(data)


def unseal(path: Path, key: bytes = KEY, context: bytes = CONTEXT) -> bytes:
    with open_sealed(path, key, context) as source:
        return source.read()


def seal_v1(data: bytes, key: bytes, context: bytes) -> bytes:
    """A file as the single-blob format (RPTSEAL1) wrote it: magic, nonce, AES-GCM of the whole file."""
    nonce = os.urandom(12)
    return MAGIC_V1 + nonce + AESGCM(key).encrypt(nonce, data, context)


def segments(blob: bytes, segment_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    """A sealed file's header and its sealed segments, as stored."""
    stride = segment_size + TAG_SIZE
    body = blob[HEADER.size :]
    return blob[: HEADER.size], [body[i : i + stride] for i in range(0, len(body), stride)]


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE, 3 * SEGMENT_SIZE + 5]
)
def test_round_trip_at_segment_boundaries(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "file.sealed"
    seal(path, data)
    full, last = divmod(size, SEGMENT_SIZE)
    count = max(1, full + (last > 0))
    assert path.stat().st_size == HEADER.size + size + count * TAG_SIZE
    assert unseal(path) == data
    with open_sealed(path, KEY, CONTEXT) as source:
        assert source.seekable() and source.seek(0, io.SEEK_END) == size
        source.seek(max(0, size - 3))
        assert source.read() == data[max(0, size - 3) :]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.sealed"]


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=300),
    segment_size=st.integers(1, 40),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    reads=st.lists(st.tuples(st.sampled_from(WHENCE), st.integers(-320, 320), st.integers(-1, 80)), max_size=12),
)
def test_writes_in_any_pieces_and_seeks_match_the_plaintext(tmp_path_factory, data, segment_size, cuts, reads):
    path = tmp_path_factory.mktemp("seek") / "file.sealed"
    with SealedWriter(path, KEY, CONTEXT, segment_size=segment_size) as sink:
        bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
        for start, end in zip(bounds, bounds[1:], strict=False):
            assert sink.write(data[start:end]) == end - start
        assert sink.tell() == len(data)
    model = io.BytesIO(data)
    with open_sealed(path, KEY, CONTEXT) as source:
        for whence, offset, size in reads:
            target = {io.SEEK_SET: 0, io.SEEK_CUR: model.tell(), io.SEEK_END: len(data)}[whence] + offset
            if target < 0:
                with pytest.raises(ValueError):
                    source.seek(offset, whence)
                continue
            assert source.seek(offset, whence) == model.seek(offset, whence)
            assert source.read(size) == model.read(size)
            assert source.tell() == model.tell()


def tamperings(header: bytes, segs: list[bytes], other: list[bytes]) -> dict[str, bytes]:
    """Every way to rearrange or damage a sealed file of at least three segments."""
    body = b"".join(segs)
    return {
        "reordered": header + segs[1] + segs[0] + b"".join(segs[2:]),
        "middle segment dropped": header + segs[0] + b"".join(segs[2:]),
        "truncated at a segment boundary": header + b"".join(segs[:-1]),
        "truncated inside the last segment": header + body[:-5],
        "truncated inside a tag": header + body[: -len(segs[-1]) + 3],
        "truncated inside the header": header[:20],
        "only the header": header,
        "a segment appended": header + body + segs[1],
        "bytes appended": header + body + b"\0" * 3,
        "a segment of another file spliced in": header + segs[0] + other[1] + b"".join(segs[2:]),
        "header of another file": header[:12] + os.urandom(len(header) - 12) + body,
        "segment size changed": header[:8] + (SMALL + 1).to_bytes(4, "big") + header[12:] + body,
        "a bit flipped in the first segment": header + bytes([segs[0][0] ^ 1]) + segs[0][1:] + b"".join(segs[1:]),
        "a bit flipped in a tag": header + body[:-1] + bytes([body[-1] ^ 0x80]),
        "not a sealed file": b"name,date_of_birth\n",
        "empty": b"",
    }


def test_every_tampering_is_detected(tmp_path):
    data = b"Canaryname Canarysurname 1990-01-01 " * 3  # 108 bytes: 7 segments of 16
    path, other = tmp_path / "a.sealed", tmp_path / "b.sealed"
    seal(path, data, SMALL)
    seal(other, data, SMALL)  # same key, context and plaintext: only the per-file salt and prefix differ
    header, segs = segments(path.read_bytes())
    assert len(segs) == 7 and b"Canary" not in path.read_bytes()
    for name, blob in tamperings(header, segs, segments(other.read_bytes())[1]).items():
        path.write_bytes(blob)
        with pytest.raises(KeyringError) as caught:
            unseal(path)
        assert str(caught.value) in (DAMAGED, WRONG_KEY), name
        assert "Canary" not in str(caught.value)


def test_truncation_and_extension_are_found_when_the_file_is_opened(tmp_path):
    path = tmp_path / "a.sealed"
    seal(path, os.urandom(100), SMALL)
    header, segs = segments(path.read_bytes())
    for blob in (header + b"".join(segs[:-1]), header + b"".join(segs) + segs[1]):
        path.write_bytes(blob)
        with pytest.raises(KeyringError, match="wrong key or tampered"):
            open_sealed(path, KEY, CONTEXT)


def test_a_tampered_segment_is_found_when_it_is_read_and_gives_out_none_of_its_bytes(tmp_path):
    path = tmp_path / "a.sealed"
    seal(path, bytes(range(64)), SMALL)
    header, segs = segments(path.read_bytes())
    path.write_bytes(header + segs[0] + segs[1][:-1] + bytes([segs[1][-1] ^ 1]) + segs[2] + segs[3])
    with open_sealed(path, KEY, CONTEXT) as source:
        assert source.read(SMALL) == bytes(range(SMALL))
        with pytest.raises(KeyringError, match="wrong key or tampered"):
            source.read(1)
        source.seek(2 * SMALL)
        assert source.read() == bytes(range(2 * SMALL, 64))


def test_wrong_key_or_context_does_not_open(tmp_path):
    path = tmp_path / "a.sealed"
    for size in (0, 40):
        seal(path, os.urandom(size), SMALL)
        with pytest.raises(KeyringError, match="wrong key or tampered"):
            open_sealed(path, b"\x03" * 32, CONTEXT)
        with pytest.raises(KeyringError, match="wrong key or tampered"):
            open_sealed(path, KEY, b"fedcba9876543210")


def test_files_in_the_single_blob_format_still_open(tmp_path):
    data = b"identifier,given_name\n1,Canaryname\n" * 50
    path = tmp_path / "old.sealed"
    path.write_bytes(seal_v1(data, KEY, CONTEXT))
    assert unseal(path) == data
    with open_sealed(path, KEY, CONTEXT) as source:
        source.seek(-10, io.SEEK_END)
        assert source.read() == data[-10:]
    with pytest.raises(KeyringError, match="wrong key or tampered"):
        unseal(path, key=b"\x03" * 32)


def test_a_staged_table_in_the_single_blob_format_still_opens(tmp_path):
    """RPTSEAL1 staged tables held an Arrow IPC file (not a stream)."""
    table = pa.table({"given_name": ["Canaryname", "Other"], "n": [1, 2]})
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    path = tmp_path / "validated.sealed"
    path.write_bytes(seal_v1(sink.getvalue(), KEY, path.name.encode()))
    assert open_table(path, KEY).equals(table)


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.sealed"
    seal(path, b"before")
    with pytest.raises(RuntimeError), SealedWriter(path, KEY, CONTEXT, segment_size=SMALL) as sink:
        sink.write(b"x" * 100)
        raise RuntimeError("stop")
    with pytest.raises(ValueError, match="segment_size"):
        SealedWriter(tmp_path / "c.sealed", KEY, CONTEXT, segment_size=0)
    dropped = SealedWriter(tmp_path / "b.sealed", KEY, CONTEXT)
    dropped.write(b"never closed")
    del dropped
    gc.collect()
    assert unseal(path) == b"before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sealed"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_batches_round_trip_streamed_and_bound_to_the_file_name(tmp_path):
    table = pa.table({"given_name": [f"Canaryname{i}" for i in range(5000)], "n": list(range(5000))})
    table = table.replace_schema_metadata({b"mark": b"fingerprints"})
    path = tmp_path / "validated.sealed"
    assert seal_batches(table.to_batches(max_chunksize=700), table.schema, path, KEY) == 5000
    assert b"Canaryname" not in path.read_bytes()
    reader = open_batches(path, KEY)
    assert isinstance(reader, pa.RecordBatchReader) and reader.schema.metadata == {b"mark": b"fingerprints"}
    assert [batch.num_rows for batch in reader] == [700] * 7 + [100]
    assert open_table(path, KEY).equals(table)
    with pytest.raises(KeyringError):
        open_table(path, b"\x03" * 32)
    assert seal_batches([table.slice(0, 10), table.slice(10)], table.schema, path, KEY) == 5000  # tables too
    assert open_table(path, KEY).equals(table)
    os.replace(path, tmp_path / "pseudonymised.sealed")  # a staged file put in another's place
    with pytest.raises(KeyringError, match="wrong key or tampered"):
        open_table(tmp_path / "pseudonymised.sealed", KEY)


def test_no_batches_give_an_empty_table_with_its_schema(tmp_path):
    schema = pa.schema([("given_name", pa.string())])
    assert seal_batches([], schema, tmp_path / "empty.sealed", KEY) == 0
    table = open_table(tmp_path / "empty.sealed", KEY)
    assert table.num_rows == 0 and table.schema == schema
    seal_table(schema.empty_table(), tmp_path / "again.sealed", KEY)
    assert open_table(tmp_path / "again.sealed", KEY).schema == schema


def test_a_failing_batch_source_leaves_no_file(tmp_path):
    table = pa.table({"n": list(range(10))})

    def failing():
        yield table.to_batches()[0]
        raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError, match="the step failed"):
        seal_batches(failing(), table.schema, tmp_path / "rows.sealed", KEY)
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_segment_late_in_a_batch_stream_raises_from_the_iterator(tmp_path):
    table = pa.table({"n": [str(i) for i in range(400_000)]})
    path = tmp_path / "rows.sealed"
    seal_batches(table.to_batches(max_chunksize=50_000), table.schema, path, KEY)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(KeyringError, match="wrong key or tampered"):
        for _ in open_batches(path, KEY):
            pass


def test_file_readers_read_and_seek_through_a_sealed_file(tmp_path, sample_dir):
    """pyarrow's streaming CSV reader, Parquet and openpyxl (a zip, which seeks) read from `open_sealed`."""
    csv_path = next(sample_dir.glob("law-enforcement__*.csv"))
    expected = pcsv.read_csv(csv_path)
    seal(tmp_path / "csv", csv_path.read_bytes())
    with open_sealed(tmp_path / "csv", KEY, CONTEXT) as source:
        streamed = pcsv.open_csv(source, read_options=pcsv.ReadOptions(block_size=1 << 16))
        assert pa.Table.from_batches(list(streamed)).equals(expected)

    parquet = io.BytesIO()
    pq.write_table(expected, parquet, row_group_size=200)
    seal(tmp_path / "parquet", parquet.getvalue(), segment_size=4096)
    with open_sealed(tmp_path / "parquet", KEY, CONTEXT) as source:
        assert pq.ParquetFile(source).metadata.num_row_groups > 1
        assert pq.read_table(source).equals(expected)

    xlsx_path = next(sample_dir.glob("*.xlsx"))
    seal(tmp_path / "xlsx", xlsx_path.read_bytes(), segment_size=4096)
    with open_sealed(tmp_path / "xlsx", KEY, CONTEXT) as source:
        assert zipfile.ZipFile(source).namelist() == zipfile.ZipFile(xlsx_path).namelist()
        sealed_rows = list(openpyxl.load_workbook(source, read_only=True).active.iter_rows(values_only=True))
    plain_rows = list(openpyxl.load_workbook(xlsx_path, read_only=True).active.iter_rows(values_only=True))
    assert sealed_rows == plain_rows and len(sealed_rows) > 100


def peak_rss_growth(script: str, *args: str) -> int:
    """Bytes by which a fresh interpreter's peak RSS grows while it runs `script`'s `work()`, after imports."""
    program = (
        "import resource, sys\n"
        f"{script}\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "work(*sys.argv[1:])\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


STREAM_200MB = """
import os
from pathlib import Path
from privacy.sealed import SealedWriter, open_sealed

def work(folder):
    block, key, path = os.urandom(1 << 20), b"\\x02" * 32, Path(folder) / "big.sealed"
    with SealedWriter(path, key, b"context") as sink:
        for i in range(200):
            sink.write(i.to_bytes(4, "big") + block[4:])
    with open_sealed(path, key, b"context") as source:
        for i in range(200):
            assert source.read(1 << 20)[:4] == i.to_bytes(4, "big")
        assert source.read(1) == b""
        source.seek(150 << 20)
        assert source.read(4) == (150).to_bytes(4, "big")
"""


def test_sealing_and_opening_200_mb_holds_a_few_segments_in_memory(tmp_path):
    growth = peak_rss_growth(STREAM_200MB, str(tmp_path))
    assert (tmp_path / "big.sealed").stat().st_size > 200 << 20
    assert growth < 40 << 20, f"peak RSS grew by {growth >> 20} MiB for a 200 MiB stream"
