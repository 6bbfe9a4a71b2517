"""A bounded failure log holds the first failures whatever the file, counts and streams them all; `rapporteur
validate --report` lists every failure in failures.csv while holding only the first ones."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
from typer.testing import CliRunner

from schemas.failure_log import MAX_HELD, FailureLog
from schemas.standard import feed
from schemas.validation import Validator
from tests.schemas.test_validation import GOOD, TODAY


def _rows(n: int) -> list[dict]:
    bad = {"sex": "Qsex", "identification_date": "31/02/2015"}
    return [GOOD["victim-assistance"] | bad | {"provider_record_id": f"r{i}"} for i in range(n)]


def _validate(rows: list[dict], log: FailureLog, batch_rows: int = 7):
    spec = feed("victim-assistance")
    table = pa.Table.from_pylist(rows)
    table = table.append_column("_row", pa.array(range(1, len(rows) + 1), pa.int64()))
    validator = Validator(spec, "x", table.column_names, today=TODAY, failures=log)
    for start in range(0, table.num_rows, batch_rows):
        validator.check(table.slice(start, batch_rows))
    return validator.result()


def test_a_bounded_log_holds_the_first_failures_and_counts_and_writes_them_all():
    everything = _validate(_rows(40), FailureLog())
    out = io.BytesIO()
    bounded = _validate(_rows(40), FailureLog(held=5, csv_out=out))
    assert everything.failure_count == bounded.failure_count == 80 and everything.failures.num_rows == 80
    assert bounded.failures.num_rows == 5 and bounded.failures.equals(everything.failures.slice(0, 5))
    assert bounded.failures_by_rule == everything.failures_by_rule
    assert sum(n for _, _, n, _ in bounded.failures_by_rule) == 80
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert [(int(r["row_number"]), r["rule"]) for r in rows] == [
        (f["row_number"], f["rule"]) for f in everything.failures.to_pylist()
    ]


def test_validate_report_lists_every_failure_and_holds_the_first(tmp_path, home):
    from cli.main import app

    rows = _rows(MAX_HELD)  # two failures a row
    extract = tmp_path / "victim-assistance__ngo-harbour.csv"
    with extract.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["validate", str(extract), "--feed", "victim-assistance", "--report", str(report), "--json"]
    )
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["failure_count"] == 2 * MAX_HELD and len(out["failures"]) == MAX_HELD
    listed = list(csv.DictReader(io.StringIO((report / "failures.csv").read_text("utf-8-sig"))))
    assert len(listed) == 2 * MAX_HELD and sorted(p.name for p in report.iterdir() if p.is_file()) == [
        "failures.csv",
        "report.html",
    ]
    assert f"Only the first {MAX_HELD:,} of {2 * MAX_HELD:,} failures" in (report / "report.html").read_text()


def test_the_held_failures_do_not_keep_their_batch_alive():
    everything = _validate(_rows(40), FailureLog(), batch_rows=40)
    bounded = _validate(_rows(40), FailureLog(held=5), batch_rows=40)
    assert bounded.failures.num_rows == 5
    assert bounded.failures.get_total_buffer_size() * 4 < everything.failures.get_total_buffer_size()
