"""The streaming reader: batches that add up to the file, row numbers across batches, late errors, bounded memory."""

from __future__ import annotations

import csv
import gc
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import UnusableInput
from sources import csv_stream
from sources.reader import ROW, open_extract, read_extract
from sources.undecodable_rows import counted

VA_FILE = "victim-assistance__ngo-harbour"


def _reference(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows as Python's csv module reads the generator's UTF-8 CSV (the oracle)."""
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def _collect(source, batch_rows: int, **kw) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    """(columns, rows, row numbers, batch sizes) of everything `open_extract` streams."""
    with open_extract(source, batch_rows=batch_rows, **kw) as stream:
        rows, numbers, sizes = [], [], []
        for batch in stream.batches():
            assert batch.schema == stream.schema
            assert all(batch.column(c).null_count == 0 for c in stream.columns)
            sizes.append(batch.num_rows)
            table = batch.to_pydict()
            numbers += table.pop(ROW)
            rows += [list(r) for r in zip(*table.values(), strict=True)]
    return stream.columns, rows, numbers, sizes


def _variants(sample_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """The generator's extract as UTF-8, cp1252, UTF-16, semicolon, tab, XLSX and Parquet files."""
    header, rows = _reference(sample_dir / f"{VA_FILE}.csv")
    files = {
        "utf-8": sample_dir / f"{VA_FILE}.csv",
        "cp1252": sample_dir / f"{VA_FILE}.cp1252.csv",
        "xlsx": sample_dir / f"{VA_FILE}.xlsx",
    }
    for name, encoding, delimiter in (("utf-16", "utf-16", ","), ("semicolon", "utf-8", ";"), ("tab", "utf-8", "\t")):
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_bytes(out.getvalue().encode(encoding))
    files["parquet"] = tmp_path / "x.parquet"
    table = pa.table(dict(zip(header, zip(*rows, strict=True), strict=True)))
    pq.write_table(table, files["parquet"], row_group_size=97)  # several row groups
    return files


@pytest.mark.parametrize("variant", ["utf-8", "cp1252", "utf-16", "semicolon", "tab", "xlsx", "parquet"])
def test_batches_add_up_to_the_file_at_any_batch_size(sample_dir, tmp_path, variant):
    header, rows = _reference(sample_dir / f"{VA_FILE}.csv")
    path = _variants(sample_dir, tmp_path)[variant]
    whole = read_extract(path)
    for batch_rows in (7, 1000, 100_000):
        columns, got, numbers, sizes = _collect(path, batch_rows)
        assert columns == header and got == rows, batch_rows
        assert numbers == list(range(1, len(rows) + 1))  # continuing across batches
        assert all(s == batch_rows for s in sizes[:-1]) and 0 < sizes[-1] <= batch_rows
    assert whole.table.column_names == [*header, ROW] and whole.rows == len(rows)
    assert [list(r.values())[:-1] for r in whole.table.to_pylist()] == rows


@pytest.mark.parametrize("variant", ["utf-8", "utf-16", "xlsx", "parquet"])
def test_bytes_and_a_borrowed_file_object_read_like_the_path(sample_dir, tmp_path, variant):
    path = _variants(sample_dir, tmp_path)[variant]
    expected = _collect(path, 50)
    assert _collect(path.read_bytes(), 50) == expected
    with path.open("rb") as f:
        f.read(100)  # not at the start: the reader reads from the first byte all the same
        assert _collect(f, 50) == expected
        assert not f.closed  # the caller's file stays the caller's
        f.seek(0)
        assert f.read(4) == path.read_bytes()[:4]


def _repeated_rows(sample_dir: Path, size: int) -> tuple[bytes, bytes, int]:
    """The generator's header and its rows repeated to `size` bytes (each line a valid row), and the count."""
    text = (sample_dir / f"{VA_FILE}.csv").read_bytes()
    head, body = text.split(b"\n", 1)
    copies = size // len(body) + 1
    return head + b"\n", body * copies, body.count(b"\n") * copies


def test_a_short_row_late_in_the_file_is_raised_by_the_iterator(sample_dir):
    head, body, rows = _repeated_rows(sample_dir, 3 * csv_stream.BLOCK_BYTES)
    data = head + body + b"a,b\n" + body[:10_000].rsplit(b"\n", 1)[0] + b"\n"
    with open_extract(data, name="late.csv", batch_rows=1000) as stream:
        given = 0
        with pytest.raises(UnusableInput) as err:
            for batch in stream.batches():
                given += batch.num_rows
    assert str(err.value) == (
        f"late.csv: 1 row(s) do not have 23 fields (first at data row {rows + 1}); "
        "the file looks truncated or has unbalanced quotes"
    )
    assert 0 < given <= rows  # some batches came before the error, none after the bad row


def test_an_undecodable_short_row_late_is_counted_silently_and_the_hook_is_restored(sample_dir, capfd):
    head, body, _ = _repeated_rows(sample_dir, 3 * csv_stream.BLOCK_BYTES)
    data = head + body + "Zoë,Zoë\n".encode("cp1252")  # pyarrow cannot decode this row to hand it over
    hook = sys.unraisablehook
    with open_extract(data, name="late.csv") as stream:
        assert sys.unraisablehook is hook
        with pytest.raises(UnusableInput, match=r"^late\.csv: 1 row\(s\) do not have 23 fields \(first at a row\)"):
            for _ in stream.batches():
                assert sys.unraisablehook is hook  # swapped only while pyarrow parses a block
    assert sys.unraisablehook is hook
    assert capfd.readouterr().err == ""  # no traceback of the undecodable row on stderr


def test_other_unraisable_errors_reach_the_previous_hook(monkeypatch):
    seen, counts = [], []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)

    class Noisy:
        def __del__(self):
            raise ValueError("from someone else's object")

    def handler():
        pass

    with counted(handler, lambda: counts.append(1)):
        Noisy()
        gc.collect()
    assert counts == [] and [type(u.exc_value) for u in seen] == [ValueError]
    assert sys.unraisablehook == seen.append


def test_a_long_row_mid_file_is_read_again_with_room_for_it(sample_dir):
    """A 2 MB row after the first blocks: the reader re-reads with larger blocks and gives each row once."""
    header, rows = _reference(sample_dir / f"{VA_FILE}.csv")
    given = header.index("given_name")
    long_row = list(rows[0])
    long_row[given] = "x" * (2 << 20)
    many = rows * (3 * csv_stream.BLOCK_BYTES // len((sample_dir / f"{VA_FILE}.csv").read_bytes()) + 1)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *many, long_row, *rows])
    data = out.getvalue().encode()
    for source in (data, io.BytesIO(data)):  # a file object too: the second read has its own position
        _, got, numbers, _ = _collect(source, 1000)
        assert got == [*many, long_row, *rows]
        assert numbers == list(range(1, len(got) + 1))


def test_a_header_without_rows_and_a_too_long_row_are_errors_up_front(tmp_path):
    with pytest.raises(UnusableInput, match="header but no data rows"):
        open_extract(b"a,b,c\n\n\n", name="x.csv")
    with pytest.raises(UnusableInput, match="a row is larger than 8 MB"):
        open_extract(b"a,b\n" + b"x" * (20 << 20) + b",1\n", name="x.csv")
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.int64())}), path)
    with pytest.raises(UnusableInput, match="header but no data rows"):
        open_extract(path)


def test_a_parquet_column_that_is_not_text_is_one_line(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"a": ["1"], "b": [[1, 2]]}), path)
    with pytest.raises(UnusableInput, match=r"^nested\.parquet: column 2 holds nested"):
        open_extract(path)


def test_batches_are_read_once_and_never_cut_short_by_closing(sample_dir):
    stream = open_extract(b"a,b\n1,2\n")
    assert [b.num_rows for b in stream.batches()] == [1]
    with pytest.raises(RuntimeError):
        stream.batches()
    head, body, _ = _repeated_rows(sample_dir, 3 * csv_stream.BLOCK_BYTES)
    with open_extract(head + body, batch_rows=1000) as stream:
        batches = stream.batches()
        next(batches)
    with pytest.raises(RuntimeError, match="closed before"):  # not a silently shorter file
        list(batches)


WORD = st.text(st.characters(whitelist_categories=["L", "N", "P", "Zs"]), max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.lists(WORD, min_size=3, max_size=3), min_size=1, max_size=30),
    batch_rows=st.integers(1, 12),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_any_batch_size_gives_the_rows_in_order(rows, batch_rows, delimiter):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([["a", "b", "c"], *rows])
    columns, got, numbers, sizes = _collect(out.getvalue().encode(), batch_rows)
    assert columns == ["a", "b", "c"] and got == rows and numbers == list(range(1, len(rows) + 1))
    assert max(sizes) <= batch_rows


# The peak RSS of this process's own memory (VmHWM): ru_maxrss would include the parent's at fork.
MEASURE = textwrap.dedent(
    """
    import json, re, sys
    from pathlib import Path
    from sources.reader import open_extract

    def peak():
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024

    before = peak()
    rows = 0
    with open_extract(sys.argv[1]) as stream:
        for batch in stream.batches():
            rows += batch.num_rows
    print(json.dumps({"rows": rows, "growth_bytes": peak() - before}))
    """
)


def _growth(sample_dir: Path, folder: Path, size: int) -> tuple[int, int]:
    """(file bytes, peak RSS growth in bytes) of reading a `size`-byte extract in a fresh process."""
    head, body, rows = _repeated_rows(sample_dir, size)
    path = folder / f"{size}.csv"
    path.write_bytes(head + body)
    del body
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["rows"] == rows
    size = path.stat().st_size
    path.unlink()
    return size, out["growth_bytes"]


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(sample_dir, tmp_path):
    """A 300 MB extract costs about what a 75 MB one does: a few batches, not the file (no timing)."""
    small, small_growth = _growth(sample_dir, tmp_path, 75 << 20)
    large, large_growth = _growth(sample_dir, tmp_path, 300 << 20)
    # Holding the rows would add at least the 225 MB more of file; the stream adds (next to) nothing.
    assert large_growth - small_growth < (large - small) / 4, (small_growth, large_growth)
    assert large_growth < large, large_growth
