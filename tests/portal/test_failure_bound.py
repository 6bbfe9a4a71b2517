"""An upload whose rows nearly all fail: the page lists the first failures and counts them all, failures.csv
lists them all, and what the portal holds in memory does not grow with the failures."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from schemas.failure_log import MAX_HELD
from tests.portal.conftest import sign_in, token_of, upload

ROWS = 1_600  # two failures a row: 3,200 failures, over three times what a page lists


@pytest.fixture(scope="module")
def failing_csv(harbour_csv) -> bytes:
    """ngo-harbour's valid extract repeated to ROWS rows, each with an unmapped sex code and an impossible date."""
    rows = list(csv.DictReader(io.StringIO(harbour_csv.decode("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for n in range(ROWS):
        bad = {"provider_record_id": f"R{n:06d}", "sex": "Qsexcode", "identification_date": "31/02/2015"}
        writer.writerow(rows[n % len(rows)] | bad)
    return out.getvalue().encode("utf-8")


def _held(app):
    (held,) = app.app.state.portal.held._held.values()
    return held


def test_the_page_lists_the_first_failures_and_counts_them_all(app, client, failing_csv):
    sign_in(client, "ngo-harbour")
    token = token_of(upload(client, failing_csv, name="failing.csv").headers["location"])
    page = client.get(f"/uploads/{token}").text
    assert f"Only the first {MAX_HELD:,} of {2 * ROWS:,} failures are shown here." in page
    by_rule = page[page.index('id="by-rule"') : page.index('id="by-row"')]
    assert f'<td>unmapped_code</td><td>sex</td><td class="num">{ROWS}</td>' in by_rule, "every failure is counted"
    by_row = page[page.index('id="by-row"') : page.index('id="dataset"')]
    assert by_row.count("<tr><td") == MAX_HELD
    download = client.get(f"/uploads/{token}/failures.csv")
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert len(rows) == 2 * ROWS and {r["value"] for r in rows if r["rule"] == "unmapped_code"} == {"Qsexcode"}
    assert [int(r["row_number"]) for r in rows] == sorted(int(r["row_number"]) for r in rows)


def test_the_held_upload_holds_at_most_the_listed_failures(app, client, failing_csv, home):
    sign_in(client, "ngo-harbour")
    upload(client, failing_csv, name="failing.csv")
    held = _held(app)
    assert held.failures == 2 * ROWS
    for field in dataclasses.fields(held):
        value = getattr(held, field.name)
        if isinstance(value, str):  # the report, and nothing else that lists failures
            assert value.count("Qsexcode") <= MAX_HELD, field.name
    sealed = list((home.root / "portal" / "held").iterdir())
    assert len(sealed) == 1 and b"Qsexcode" not in sealed[0].read_bytes(), "failures.csv is sealed on disk"


def test_failures_csv_goes_with_its_upload(app, client, failing_csv, home):
    sign_in(client, "ngo-harbour")
    tokens = [token_of(upload(client, failing_csv, name=f"{n}.csv").headers["location"]) for n in range(4)]
    held = home.root / "portal" / "held"
    assert len(list(held.iterdir())) == 3, "three uploads are held at most, and only their files are kept"
    assert client.get(f"/uploads/{tokens[0]}/failures.csv").status_code == 404
    app.app.state.portal.held.drop(tokens[-1])
    assert len(list(held.iterdir())) == 2


def test_an_unusable_upload_leaves_no_file(client, home, failing_csv):
    sign_in(client, "ngo-harbour")
    assert upload(client, failing_csv + b"\x00\xff\xfe" * 10, name="broken.csv").status_code == 422
    assert list((home.root / "portal" / "held").iterdir()) == []
