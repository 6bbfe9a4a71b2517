"""Dataset-level expectations (Great Expectations) and the provider's HTML report."""

from __future__ import annotations

import csv
import subprocess
import sys
import tracemalloc
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from application.steps import validate_file
from schemas.expectations import ExpectationReport, ExpectationResult, concat_compact, run_expectations
from schemas.standard import codelists, feed
from schemas.standardise import standardise_sql
from schemas.validation import FAILURE_SCHEMA, Validation, conform_columns, validate
from schemas.validation_report import MAX_ROWS_SHOWN, write_validation_report
from sources.spreadsheet import safe_cell
from tests.conftest import sample_files
from tests.schemas.test_validation import GOOD, TODAY, _extract

SECRET = "SECRET-ID-1"


def _good_row(feed_name: str) -> dict:
    """GOOD, with every coded column of the standard that GOOD leaves out given a known code."""
    row = dict(GOOD[feed_name])
    lists = codelists()
    for col in feed(feed_name).columns.values():
        if col.name in row:
            continue
        assert col.type in ("code", "codes"), f"no good value known for {col.name} ({col.type})"
        codes = [c for c in lists[col.codelist] if c != "unknown"]
        row[col.name] = "no" if "no" in codes else codes[0]
    return row


def _rows(feed_name: str, n: int, **columns: list) -> list[dict]:
    """`n` good rows with distinct record ids; `columns` overrides a column row by row."""
    rows = [_good_row(feed_name) | {"provider_record_id": f"r{i}", "case_id": f"C{i}"} for i in range(n)]
    if feed_name == "victim-assistance":
        rows = [{k: v for k, v in r.items() if k != "case_id"} for r in rows]
    for name, values in columns.items():
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return rows


def _frame(feed_name: str, rows: list[dict], provider: str = "no-mapping") -> pd.DataFrame:
    """The frame `validate` hands to pandera: standardised rows without the identifier columns."""
    f = feed(feed_name)
    table, _ = conform_columns(_extract(rows), f, "extract")
    con = duckdb.connect()
    con.register("extract", table)
    sql, params = standardise_sql(f, provider)
    standard = con.execute(sql, params).to_arrow_table()
    con.close()
    return standard.drop_columns(f.identifiers).to_pandas(date_as_object=False)


def _run(feed_name: str, n: int, previous_row_counts=(), **columns: list) -> ExpectationReport:
    return run_expectations(_frame(feed_name, _rows(feed_name, n, **columns)), feed(feed_name), previous_row_counts)


def _warned(report: ExpectationReport) -> set[str]:
    return {r.name for r in report.warnings}


@pytest.mark.parametrize("feed_name", list(GOOD))
def test_a_clean_frame_passes_every_expectation(feed_name, capfd):
    report = run_expectations(_frame(feed_name, _rows(feed_name, 50)), feed(feed_name), previous_row_counts=[45, 55])
    assert report.warnings == []
    names = {r.name for r in report.results}
    f = feed(feed_name)
    expected_completeness = {f"completeness:{c.name}" for c in f.columns.values() if not c.identifier}
    assert expected_completeness <= names
    assert not any(n.startswith("completeness:") and n.split(":")[1] in f.identifiers for n in names)
    assert {"unique:provider_record_id", "row_count_plausible", "unknown_share:sex"} <= names
    assert "unknown_share:citizenship" not in names  # the country list has no "unknown" code
    assert all(r.severity == "warning" for r in report.results)
    assert report.docs_index is None
    out = capfd.readouterr()
    assert "Calculating Metrics" not in out.err + out.out  # no GX progress bars


def test_a_frame_from_validate_passes():
    """The valid rows `validate` returns, as a frame, are accepted too."""
    f = feed("law-enforcement")
    result = validate(_extract(_rows("law-enforcement", 10)), f, "no-mapping", today=TODAY)
    assert result.rows_valid == 10
    frame = result.valid.drop_columns(f.identifiers).to_pandas(date_as_object=False)
    assert run_expectations(frame, f).warnings == []


def test_unknown_share_above_a_fifth_warns():
    sexes = ["unknown"] * 30 + ["female"] * 70
    report = run_expectations(
        _frame("victim-assistance", _rows("victim-assistance", 100, sex=sexes)), feed("victim-assistance")
    )
    assert _warned(report) == {"unknown_share:sex"}
    (warning,) = report.warnings
    assert warning.column == "sex"
    assert "30.0% unknown" in warning.observed


def test_unknown_share_of_a_fifth_passes():
    sexes = ["unknown"] * 20 + ["male"] * 80
    report = run_expectations(
        _frame("victim-assistance", _rows("victim-assistance", 100, sex=sexes)), feed("victim-assistance")
    )
    assert report.warnings == []


def test_duplicated_record_ids_warn():
    ids = [f"r{i}" for i in range(18)] + ["r0", "r1"]
    frame = _frame("victim-assistance", _rows("victim-assistance", 20, provider_record_id=ids))
    report = run_expectations(frame, feed("victim-assistance"))
    assert _warned(report) == {"unique:provider_record_id"}
    assert report.warnings[0].observed.startswith("4 rows")


def test_row_count_far_below_previous_submissions_warns():
    frame = _frame("victim-assistance", _rows("victim-assistance", 12))
    report = run_expectations(frame, feed("victim-assistance"), previous_row_counts=[1000, 1200, 1400])
    assert _warned(report) == {"row_count_plausible"}
    (warning,) = report.warnings
    assert warning.observed == "12 rows vs 1,000-1,400 before"
    assert warning.expected.startswith("600-2,400 rows")


def test_row_count_far_above_previous_submissions_warns_and_within_passes():
    frame = _frame("victim-assistance", _rows("victim-assistance", 30))
    assert _warned(run_expectations(frame, feed("victim-assistance"), [10, 12, 14])) == {"row_count_plausible"}
    assert run_expectations(frame, feed("victim-assistance"), [20, 40, 59]).warnings == []


def test_without_previous_submissions_there_is_no_row_count_expectation():
    report = run_expectations(_frame("victim-assistance", _rows("victim-assistance", 3)), feed("victim-assistance"))
    assert "row_count_plausible" not in {r.name for r in report.results}


def test_blanks_in_a_required_column_warn_completeness():
    sexes = [""] * 5 + ["female"] * 95
    report = run_expectations(
        _frame("victim-assistance", _rows("victim-assistance", 100, sex=sexes)), feed("victim-assistance")
    )
    assert _warned(report) == {"completeness:sex"}
    assert report.warnings[0].observed == "95.0% complete (5 of 100 blank)"
    # One blank in a hundred is within the 99% threshold of a required column.
    sexes = [""] + ["female"] * 99
    report = run_expectations(
        _frame("victim-assistance", _rows("victim-assistance", 100, sex=sexes)), feed("victim-assistance")
    )
    assert report.warnings == []


def test_an_optional_column_may_be_half_blank():
    feed_name = "victim-assistance"
    half = [""] * 50 + ["2020-03-02"] * 50
    assert (
        run_expectations(_frame(feed_name, _rows(feed_name, 100, assistance_start_date=half)), feed(feed_name)).warnings
        == []
    )
    most = [""] * 60 + ["2020-03-02"] * 40
    report = _run(feed_name, 100, assistance_start_date=most)
    assert _warned(report) == {"completeness:assistance_start_date"}


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_data_docs_are_written_only_under_docs_dir_and_never_show_raw_ids(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    feed_name = "law-enforcement"
    ids = [SECRET, SECRET, "SECRET-ID-2", "SECRET-ID-3"]
    frame = _frame(feed_name, _rows(feed_name, 4, provider_record_id=ids, case_id=["CASE-SECRET"] * 4))
    # Even an identifier column left in by a caller never reaches Great Expectations.
    frame["given_name"] = "Ana-Secret-Name"
    docs = tmp_path / "docs"
    report = run_expectations(frame, feed(feed_name), previous_row_counts=[4], docs_dir=docs, run_name="2026-Q3")
    assert "unique:provider_record_id" in _warned(report)
    assert report.docs_index == docs.resolve() / "index.html"
    assert report.docs_index.is_file()
    assert list(cwd.iterdir()) == []
    assert {p.name for p in docs.iterdir()} <= {"index.html", "static", "expectations", "validations"}
    text = _all_text(docs)
    assert "values must be unique" in text
    assert "2026-Q3" in text
    for secret in ("SECRET-ID", "CASE-SECRET", "Ana-Secret-Name", "given_name"):
        assert secret not in text
    # The duplicated id appears in Data Docs only as the data row where it first occurs.
    assert "provider_record_id__first_row" in text


def test_without_docs_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_expectations(_frame("victim-assistance", _rows("victim-assistance", 3)), feed("victim-assistance"))
    assert list(tmp_path.iterdir()) == []


def _failures(records: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(FAILURE_SCHEMA.names, r, strict=True)) for r in records], schema=FAILURE_SCHEMA
    )


def test_report_escapes_values_and_failures_csv_neutralises_formulas(tmp_path):
    feed_name = "victim-assistance"
    rows = _rows(feed_name, 3, sex=["<script>alert(1)</script>", '=HYPERLINK("x")', "female"])
    result = validate(_extract(rows), feed(feed_name), "no-mapping", filename="<b>extract</b>.csv", today=TODAY)
    assert result.rows_quarantined == 2
    expectations = ExpectationReport(
        [
            ExpectationResult("unknown_share:sex", "sex", False, "30.0% unknown", "at most 20%", "warning"),
            ExpectationResult("completeness:sex", "sex", True, "100.0% complete", "at least 99%", "warning"),
        ],
        docs_index=tmp_path / "docs" / "index.html",
    )
    out = tmp_path / "out"
    path = write_validation_report(out, "<b>extract</b>.csv", feed_name, "no-mapping", result, expectations)
    assert path == out / "report.html"
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;extract&lt;/b&gt;.csv" in html
    assert '<html lang="en">' in html and "<caption>" in html and 'scope="col"' in html
    assert "http://" not in html and "https://" not in html  # no external assets
    assert 'href="../docs/index.html"' in html
    assert "unknown_share:sex" in html and "30.0% unknown" in html
    assert "unmapped_code" in html
    with (out / "failures.csv").open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.DictReader(f))
    values = {r["value"] for r in records}
    assert '\'=HYPERLINK("x")' in values
    assert "<script>alert(1)</script>" in values  # the CSV is data, not HTML
    assert {r["rule"] for r in records} == {"unmapped_code"}


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_prefixes_are_neutralised(cell):
    assert safe_cell(cell) == "'" + cell
    assert safe_cell("ok " + cell) == "ok " + cell
    assert safe_cell(None) == ""


def test_report_caps_the_by_row_table_and_csv_keeps_every_failure(tmp_path):
    n = MAX_ROWS_SHOWN + 25
    failures = _failures([(i, "sex", "unmapped_code", "not a code", "-bad") for i in range(1, n + 1)])
    validation = Validation(n, 0, failures)
    path = write_validation_report(tmp_path, "x.csv", "victim-assistance", "p", validation, None)
    html = path.read_text(encoding="utf-8")
    assert f"Only the first {MAX_ROWS_SHOWN:,} of {n:,} failures" in html
    assert html.count("<td>not a code</td>") == MAX_ROWS_SHOWN + 1  # by row, plus the by-rule row
    assert f'<td class="num">{n:,}</td>' not in html  # the count shown by rule is unformatted
    assert f'<td class="num">{n}</td>' in html
    assert "Dataset checks" not in html
    with (tmp_path / "failures.csv").open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == n
    assert records[0]["value"] == "'-bad"


def test_report_end_to_end_with_data_docs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    feed_name = "victim-assistance"
    rows = _rows(feed_name, 10, sex=["unknown"] * 5 + ["female"] * 5)
    result = validate(_extract(rows), feed(feed_name), "no-mapping", today=TODAY)
    out = tmp_path / "report"
    expectations = run_expectations(_frame(feed_name, rows), feed(feed_name), docs_dir=out / "data_docs")
    path = write_validation_report(out, "extract.csv", feed_name, "no-mapping", result, expectations)
    html = path.read_text(encoding="utf-8")
    assert 'href="data_docs/index.html"' in html
    assert (out / "data_docs" / "index.html").is_file()
    assert "No row failed a rule." in html
    assert '<td class="warn">warning</td>' in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_modules_the_suite_never_uses_are_imported_only_on_first_use():
    """Great Expectations' import defers scipy.stats and altair; the suite runs without them, and a later
    use of either gets the real module. In a fresh process: this one may have imported them already."""
    script = """
import sys
import tempfile
from pathlib import Path
from schemas.expectations import run_expectations
from schemas.standard import feed
from tests.schemas.test_expectations import _frame, _rows
frame = _frame("law-enforcement", _rows("law-enforcement", 20))
docs = Path(tempfile.mkdtemp())  # Data Docs wanted: the suite runs in Great Expectations
assert run_expectations(frame, feed("law-enforcement"), docs_dir=docs).warnings == []
assert type(sys.modules["scipy.stats"]).__name__ == "_Deferred"
assert type(sys.modules["altair"]).__name__ == "_Deferred"
from scipy import stats
import altair
assert abs(stats.norm.cdf(0) - 0.5) < 1e-12 and altair.Chart
assert type(sys.modules["scipy.stats"]).__name__ == "module"
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]


def _traced_peak(frame: pd.DataFrame, docs: Path) -> int:
    tracemalloc.start()
    try:
        run_expectations(frame, feed("victim-assistance"), previous_row_counts=[len(frame)], docs_dir=docs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_suite_holds_under_a_hundred_bytes_per_row(sample_dir, tmp_path):
    """GX keeps each filtered expectation's row labels until the suite is done: they must be 32-bit.

    The cost per row is the growth of the traced peak between two sizes of a generated extract's compact
    frame (the fixed cost of GX cancels out); with 64-bit labels it was over a hundred bytes.
    """
    path, _, provider = next(f for f in sample_files(sample_dir) if f[1] == "victim-assistance")
    one = validate_file(path, "victim-assistance", provider).frame
    small, large = (concat_compact([one] * (n // len(one))) for n in (100_000, 400_000))
    docs = tmp_path / "docs"  # Data Docs wanted: the suite runs in Great Expectations
    run_expectations(one, feed("victim-assistance"), docs_dir=docs)  # imports, outside the measure
    per_row = (_traced_peak(large, docs) - _traced_peak(small, docs)) / (len(large) - len(small))
    assert per_row < 100, f"{per_row:.0f} bytes per row"


def _gx_and_measured(frame: pd.DataFrame, feed_name: str, previous: list[int], docs: Path) -> tuple[list, list]:
    measured = run_expectations(frame, feed(feed_name), previous).results
    by_gx = run_expectations(frame, feed(feed_name), previous, docs_dir=docs).results
    return measured, by_gx


@pytest.mark.parametrize(
    ("feed_name", "n", "previous", "columns"),
    [
        ("victim-assistance", 0, [], {}),
        ("victim-assistance", 10, [4, 5], {"sex": ["unknown"] * 2 + ["female"] * 8}),  # 20%: the bound itself
        ("victim-assistance", 10, [20, 40], {"sex": ["unknown"] * 3 + [None] * 7}),  # all but 3 blank
        ("victim-assistance", 8, [16], {"sex": [None] * 8, "provider_record_id": ["a", "a", None] + list("bcdef")}),
        ("law-enforcement", 12, [5, 30], {"provider_record_id": ["x"] * 12}),
        ("law-enforcement", 200, [1], {"case_id": [None] * 3 + ["C"] * 197}),  # 98.5% of a required column
    ],
)
def test_measured_without_data_docs_as_great_expectations_measures(tmp_path, feed_name, n, previous, columns):
    """Without Data Docs the suite is measured in pandas: the same results, word for word, as GX gives."""
    frame = _frame(feed_name, _rows(feed_name, max(n, 1), **columns)).iloc[:n]  # n = 0: no row at all
    measured, by_gx = _gx_and_measured(frame, feed_name, previous, tmp_path / "docs")
    assert measured == by_gx


def test_measured_as_great_expectations_measures_on_a_generated_extract(sample_dir, tmp_path):
    for path, feed_name, provider in sample_files(sample_dir):
        frame = validate_file(path, feed_name, provider).frame
        measured, by_gx = _gx_and_measured(frame, feed_name, [len(frame) * 3], tmp_path / feed_name)
        assert measured == by_gx, path.name
