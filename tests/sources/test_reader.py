"""The reader: formats and encodings by content, and one clear error for an unusable file."""

from __future__ import annotations

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from errors import UnusableInput
from sources.reader import read_extract

ROWS = [["r1", "Zoë", "F"], ["r2", "Łukasz; Jr", "M"]]
HEADER = ["provider_record_id", "given_name", "sex"]


def _csv(rows, delimiter=","):
    lines = [delimiter.join(HEADER)]
    lines += [delimiter.join(f'"{c}"' if delimiter in c else c for c in r) for r in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_in_any_common_encoding_and_delimiter(tmp_path, encoding, delimiter):
    rows = ROWS
    path = tmp_path / "x.csv"
    path.write_bytes(_csv(rows, delimiter).encode(encoding))
    extract = read_extract(path)
    assert extract.table.column_names == [*HEADER, "_row"]
    assert extract.table.column("given_name").to_pylist() == [r[1] for r in rows]
    assert extract.table.column("_row").to_pylist() == [1, 2]


def test_cp1252_is_detected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(_csv([["r1", "Zoë Façade", "F"]]).encode("cp1252"))
    extract = read_extract(path)
    assert extract.encoding == "cp1252"
    assert extract.table.column("given_name").to_pylist() == ["Zoë Façade"]


def test_xlsx_by_content_not_name(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Provider Record ID", "given_name", "sex"])
    sheet.append(["r1", "Ana", 1])
    sheet.append([None, None, None])
    path = tmp_path / "extract.csv"  # misnamed on purpose
    book.save(path)
    extract = read_extract(path)
    assert extract.format == "xlsx"
    assert extract.table.to_pylist() == [{"provider_record_id": "r1", "given_name": "Ana", "sex": "1", "_row": 1}]


def test_parquet(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"provider_record_id": ["r1"], "age": [31]}), path)
    assert read_extract(path).table.to_pylist() == [{"provider_record_id": "r1", "age": "31", "_row": 1}]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (b"provider_record_id,given_name\n", "no data rows"),
        (b"a,b,c\n1,2,3\n4,5\n", "do not have 3 fields"),
        (b'a,b\n1,"unbalanced\n2,3\n', "unbalanced quotes"),
        (bytes(range(256)) * 10, "not a text file"),
        (b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
        (b"a,b,A\n1,2,3\n", "names column 'a' twice"),
        (b"PK\x03\x04garbage", "XLSX file is damaged"),
        (b"onlyonecolumn\nx\n", "only one column"),
    ],
)
def test_unusable_files_give_one_line(tmp_path, content, says):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnusableInput) as err:
        read_extract(path)
    message = str(err.value)
    assert says in message
    assert "\n" not in message and message.startswith("bad.csv")


def test_error_never_quotes_row_content(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("given_name,family_name,sex\nSecretname,Hidden,F\nOnlyTwo,Fields\n")
    with pytest.raises(UnusableInput) as err:
        read_extract(path)
    assert "OnlyTwo" not in str(err.value) and "Fields" not in str(err.value)
