"""Property-based tests (hypothesis) of the readers, the normalisers and pseudonymisation."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from errors import UnusableInput
from privacy.keys import Keyring
from privacy.normalise import clean_sql, document_sql, name_parts_sql, skeleton_sql
from privacy.pseudonymise import pseudonymise
from schemas.standard import feed
from schemas.validation import validate
from sources.reader import Extract, read_extract
from sources.spreadsheet import FORMULA_PREFIXES, safe_cell
from tests.schemas.test_validation import GOOD, _extract

CON = duckdb.connect()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CELL = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
# Text that looks like a CSV export: short lines of cells, delimiters, quotes and odd whitespace.
CSV_TEXT = st.lists(
    st.lists(st.one_of(CELL, st.sampled_from(['"', '""', "\r", "\n", ",", ";", "\t", "|", "\ufeff"])), max_size=8),
    max_size=8,
).map(lambda rows: "\n".join(",".join(r) for r in rows))
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"])
PREFIXES = st.sampled_from([b"", b"PK\x03\x04", b"PAR1", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"a,b\n"])


def _read(data: bytes) -> Extract | None:
    try:
        extract = read_extract(data, name="f.csv")
    except UnusableInput as exc:
        message = str(exc)
        assert message.startswith("f.csv") and "\n" not in message and len(message) < 300
        return None
    assert extract.rows > 0 and extract.table.column_names[-1] == "_row"
    assert all(pa.types.is_string(t) for t in extract.table.schema.types[:-1])
    return extract


@FAST
@given(prefix=PREFIXES, data=st.binary(max_size=3000))
def test_any_bytes_are_an_extract_or_one_line(prefix, data):
    _read(prefix + data)


@FAST
@given(text=CSV_TEXT, encoding=ENCODINGS)
def test_any_csv_like_text_is_an_extract_or_one_line(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    _read(data)


WORDS = st.text(st.characters(whitelist_categories=["L", "N", "P", "Zs"]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(WORDS, min_size=3, max_size=3), min_size=1, max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_a_well_formed_csv_reads_back_cell_for_cell(rows, encoding, delimiter):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["provider_record_id", "given_name", "sex"])
    writer.writerows(rows)
    extract = _read(out.getvalue().encode(encoding))
    assert extract is not None
    assert [[r[c] for c in ("provider_record_id", "given_name", "sex")] for r in extract.table.to_pylist()] == rows


def _sql(expr: str, value: str | None):
    return CON.execute(f"SELECT {expr}", {"v": value}).fetchone()[0]


@FAST
@given(value=st.one_of(st.none(), st.text(max_size=60)))
def test_clean_is_idempotent_and_plain(value):
    once = _sql(clean_sql("$v"), value)
    assert _sql(clean_sql("$v"), once) == once
    assert set(once) <= set("abcdefghijklmnopqrstuvwxyz ") and once == once.strip() and "  " not in once


@FAST
@given(value=st.one_of(st.none(), st.text(max_size=40)))
def test_document_is_idempotent_and_plain(value):
    once = _sql(document_sql("$v"), value)
    assert once is None or (once.isascii() and once.isalnum() and once == once.upper())
    assert _sql(document_sql("$v"), once) == once


@FAST
@given(given_name=st.text(max_size=30), family=st.text(max_size=30))
def test_name_parts_ignore_order_and_never_raise(given_name, family):
    parts = name_parts_sql("$g", "$f")
    one = CON.execute(f"SELECT {parts}, {skeleton_sql(parts)}", {"g": given_name, "f": family}).fetchone()
    two = CON.execute(f"SELECT {parts}, {skeleton_sql(parts)}", {"g": family, "f": given_name}).fetchone()
    assert one == two and one[0] == sorted(one[0])


NAME = st.text(st.characters(whitelist_categories=["Lu", "Ll"]), min_size=4, max_size=20)
KEYS = st.binary(min_size=32, max_size=32)
CONTROL = {"given_name": "Qqqq", "family_name": "Xxxx", "document_number": "ZZ9999999"}  # a second person


def _tokens(row: dict, key: bytes) -> dict:
    keyring = Keyring({1: key}, 1, False, root=key[::-1])
    result = validate(_extract([row]), feed("victim-assistance"), "x", today=dt.date(2026, 11, 22))
    assert result.rows_quarantined == 0
    return pseudonymise(result.valid, "victim-assistance", "x", keyring).to_pylist()[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_name=NAME, family=NAME, document=st.from_regex(r"[A-Z]{2}[0-9]{7}", fullmatch=True), a=KEYS, b=KEYS)
def test_pseudonyms_are_deterministic_keyed_and_hold_no_input(given_name, family, document, a, b):
    assume(a != b and CONTROL["document_number"] != document)
    row = GOOD["victim-assistance"] | {"given_name": given_name, "family_name": family, "document_number": document}
    first, again, other = _tokens(row, a), _tokens(row, a), _tokens(row, b)
    names = ("record_token", "document_token", "name_dob_token", "skeleton_token")
    assert all(first[t] == again[t] for t in names)  # deterministic under one key
    made = [t for t in names if first[t] is not None]  # a name of vowels only has no skeleton
    assert "record_token" in made and all(first[t] != other[t] for t in made)  # another key, other tokens
    # Only the columns that change with the identifiers can carry them (others hold codes, dates and
    # flags: "FALS" is in "false" without any leak).
    control = _tokens(GOOD["victim-assistance"] | CONTROL, a)
    text = json.dumps({c: v for c, v in first.items() if v != control[c]}, default=str).lower()
    for value in (given_name, family, document):
        assert value.lower() not in text


@FAST
@given(value=st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)))
def test_safe_cell_never_starts_a_formula_and_keeps_numbers(value):
    cell = safe_cell(value)
    if isinstance(value, int | float):
        assert cell == str(value)  # a negative number stays a number
    else:
        assert not cell.startswith(FORMULA_PREFIXES)
        assert cell.removeprefix("'") == ("" if value is None else value) or cell == (value or "")


@pytest.mark.parametrize("value", ["-3", "=1", "+1", "@x", "\t1", "\r1"])
def test_safe_cell_quotes_text_that_looks_like_a_formula(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell(-3) == "-3" and safe_cell(-2.5) == "-2.5"
