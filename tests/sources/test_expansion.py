"""Decompression bombs (XLSX shared strings, too many cells, Parquet of repeated cells) are refused before parsing."""

from __future__ import annotations

import csv
import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from errors import UnusableInput
from sources.expansion import MAX_XLSX_CELLS
from sources.reader import open_extract, open_prepared
from tests.cli.test_cli import _one_line_error, _run
from tests.robustness.inputs import shared_strings_bomb, xlsx_bytes

FEED = "victim-assistance"
HARBOUR = f"{FEED}__ngo-harbour.csv"


def _rows(sample_dir) -> list[list[str]]:
    with (sample_dir / HARBOUR).open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))[:30]


def _workbook(rows: list[list[str]]) -> bytes:
    return xlsx_bytes({"extract": rows})


def test_a_shared_strings_bomb_is_refused_at_once(sample_dir, tmp_path):
    bomb = tmp_path / f"{FEED}__ngo-harbour.xlsx"
    bomb.write_bytes(shared_strings_bomb(_rows(sample_dir)))
    assert bomb.stat().st_size < 1 << 20
    start = time.perf_counter()
    line = _one_line_error(_run("validate", "--feed", FEED, bomb))
    assert time.perf_counter() - start < 10  # was 72 s of CPU; the check reads the zip's directory only
    assert "zip bomb" in line and bomb.name in line


def test_a_workbook_of_too_many_cells_is_refused(sample_dir):
    header = _rows(sample_dir)[0]
    rows = [header] + [["x"] * len(header)] * (MAX_XLSX_CELLS // len(header) // 50)
    data = _workbook(rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sources.expansion.MAX_XLSX_CELLS", len(rows) * len(header) // 2)
        with pytest.raises(UnusableInput, match="cells"):
            open_extract(data, name="big.xlsx")


def test_a_real_workbook_passes(sample_dir):
    stream = open_extract(_workbook(_rows(sample_dir)), name="ok.xlsx")
    assert stream.format == "xlsx" and len(stream.columns) == len(_rows(sample_dir)[0])


def _parquet_bomb(rows: int, columns: list[str]) -> bytes:
    """Every column one repeated value: a few KB that read as `rows` x `columns` cells."""
    repeated = pa.DictionaryArray.from_arrays(pa.array(bytes(rows), pa.int8()).cast(pa.int32()), pa.array(["x"]))
    out = io.BytesIO()
    pq.write_table(pa.table({c: repeated for c in columns}), out, compression="zstd")
    return out.getvalue()


def test_a_parquet_bomb_is_refused_before_reading(sample_dir, tmp_path):
    bomb = tmp_path / f"{FEED}__ngo-harbour.parquet"
    bomb.write_bytes(_parquet_bomb(5_000_000, _rows(sample_dir)[0]))
    start = time.perf_counter()
    line = _one_line_error(_run("validate", "--feed", FEED, bomb))
    assert time.perf_counter() - start < 10 and "decompression bomb" in line


def test_a_prepared_parquet_bomb_is_refused(sample_dir):
    data = _parquet_bomb(5_000_000, ["a", "b"])
    table = pq.read_table(io.BytesIO(data))
    out = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({b"rapporteur.prepared_with": b"{}"}), out, compression="zstd")
    with pytest.raises(UnusableInput, match="decompression bomb"):
        open_prepared(out.getvalue(), "prepared.parquet")


def test_a_workbook_of_too_many_shared_strings_is_refused(sample_dir, monkeypatch):
    data = shared_strings_bomb(_rows(sample_dir), megabytes=1)
    monkeypatch.setattr("sources.expansion.MAX_RATIO", 10_000)  # the count, not the ratio, refuses it here
    assert open_extract(data, name="strings.xlsx").format == "xlsx"  # under the limits, it is read
    monkeypatch.setattr("sources.expansion.MAX_SHARED_STRING_COUNT", 5_000)
    with pytest.raises(UnusableInput, match="distinct texts"):
        open_extract(data, name="strings.xlsx")
