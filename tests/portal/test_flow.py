"""What a provider does in the portal: upload and see the report, submit, follow the status, download documents."""

from __future__ import annotations

import csv
import io

import pytest

from application.steps import check_dataset, load_staged, stage_pseudonymised, stage_validated, validate_file
from schemas.validation_report import report_sections
from tests.portal.conftest import CANARY_CODE, sign_in, submit, token_of, upload


def test_a_valid_file_is_reported_valid(client, harbour_csv):
    sign_in(client, "ngo-harbour")
    answer = upload(client, harbour_csv, name="harbour.csv")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "The extract is valid" in page and '<h2 id="by-rule">Failures by rule</h2>' in page
    assert "No row failed a rule." in page and "Submit this file" in page
    warned = page.count('<td class="warn">warning</td>')
    assert warned and f"{warned} {'dataset check warns' if warned == 1 else 'dataset checks warn'} (see" in page


def test_a_bad_file_shows_the_same_report_as_validate(client, harbour_bad_csv):
    sign_in(client, "ngo-harbour")
    token = token_of(upload(client, harbour_bad_csv, name="bad.csv").headers["location"])
    page = client.get(f"/uploads/{token}").text
    expected = validate_file(harbour_bad_csv, "victim-assistance", "ngo-harbour", "all", name="bad.csv")
    failures = expected.failures.to_pylist()
    assert {(f["row_number"], f["column_name"], f["rule"]) for f in failures} >= {
        (1, "sex", "unmapped_code"),
        (2, "identification_date", "invalid_date"),
    }
    assert f"{expected.rows_quarantined} of {expected.rows_in} rows fail a rule" in page
    report = check_dataset(expected, "victim-assistance", "ngo-harbour", [], None, "bad.csv", show_values=True)
    fragment = report_sections(
        "bad.csv", "victim-assistance", "ngo-harbour", expected, report, f"/uploads/{token}/failures.csv"
    )
    assert fragment in page, "the result page shows the validate report's sections unchanged"
    assert f"<td>{CANARY_CODE}</td>" in page, "the provider sees the value found in their own file"
    download = client.get(f"/uploads/{token}/failures.csv")
    assert download.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(int(r["row_number"]), r["column_name"], r["rule"]) for r in rows] == [
        (f["row_number"], f["column_name"], f["rule"]) for f in failures
    ]


def test_an_unusable_file_is_one_plain_message(client):
    sign_in(client, "ngo-harbour")
    answer = upload(client, b"provider_record_id,sex\n", name="empty.csv")
    assert answer.status_code == 422
    assert "This file cannot be used" in answer.text and "no data rows" in answer.text


def test_a_prepared_extract_is_checked_and_its_key_verified(home, client, harbour_csv, tmp_path):

    from application.steps import prepare_file
    from privacy.pseudonymise import first_level_keys

    source = tmp_path / "harbour.csv"
    source.write_bytes(harbour_csv)
    sign_in(client, "ngo-harbour")
    for keys, expected in (
        (first_level_keys(home.keyring()[0]), 303),
        ({"victim": bytes(32), "suspect": bytes(32)}, 422),  # a key the bureau never issued
    ):
        out = tmp_path / "prepared.parquet"
        prepare_file(source, "victim-assistance", "ngo-harbour", "all", keys, out)
        answer = upload(client, out.read_bytes(), name="prepared.parquet")
        assert answer.status_code == expected
        if expected == 303:
            assert "The extract is valid" in client.get(answer.headers["location"]).text
        else:
            assert "prepared with a key the bureau does not hold" in answer.text


def test_submitting_places_the_file_sealed_in_the_inbox(client, inbox, harbour_csv):
    sign_in(client, "ngo-harbour")
    token = token_of(upload(client, harbour_csv, period="2024").headers["location"])
    answer = submit(client, token)
    sid = answer.headers["location"].split("/")[-1].split("?")[0]
    page = client.get(answer.headers["location"]).text
    assert "Submitted: the file is encrypted in the inbox" in page and "received" in page
    sub = inbox.get(sid)
    assert (sub.feed, sub.provider, sub.period, sub.status) == ("victim-assistance", "ngo-harbour", "2024", "received")
    assert sub.path.suffix == ".sealed" and harbour_csv[:40] not in sub.path.read_bytes()
    assert inbox.read(sub) == harbour_csv
    assert client.get(f"/uploads/{token}").status_code == 404, "a submitted upload is no longer held"
    again = submit(client, token_of(upload(client, harbour_csv, period="2024").headers["location"]))
    assert "had already been submitted" in client.get(again.headers["location"]).text


@pytest.mark.integration
def test_status_shows_counts_and_supersession_after_the_pipeline_ran(home, client, inbox, harbour_csv, harbour_bad_csv):
    keyring, _ = home.keyring()
    sign_in(client, "ngo-harbour")
    sids = []
    for extract in (harbour_bad_csv, harbour_csv):
        answer = submit(client, token_of(upload(client, extract).headers["location"]))
        sid = answer.headers["location"].split("/")[-1].split("?")[0]
        sids.append(sid)
        for step in (stage_validated, stage_pseudonymised, load_staged):  # what the inbox sensor's run does
            step(home, inbox, inbox.get(sid), keyring)
    first, second = (inbox.get(s) for s in sids)
    ledger = {r["submission_id"]: r for r in inbox.ledger()}
    page = client.get("/submissions").text
    assert page.count("<td>superseded</td>") == 1 and page.count("<td>loaded</td>") == 1
    detail = client.get(f"/submissions/{first.submission_id}").text
    assert "<dt>Status</dt><dd>superseded</dd>" in detail
    row = ledger[first.submission_id]
    assert row["rows_quarantined"] >= 2 and row["rows_in"] == row["rows_loaded"] + row["rows_quarantined"]
    assert f"<dt>Rows quarantined</dt><dd>{row['rows_quarantined']}</dd>" in detail
    assert "<dt>Status</dt><dd>loaded</dd>" in client.get(f"/submissions/{second.submission_id}").text


def test_documents_download(client):
    sign_in(client, "ngo-harbour")
    page = client.get("/documents").text
    assert "/mappings/ngo-harbour.yaml" in page and "ngo-lighthouse" not in page
    dictionary = client.get("/dictionary.md")
    assert dictionary.headers["content-disposition"] == 'attachment; filename="data-dictionary.md"'
    assert "#codelist-sex" in dictionary.text or "codelist-sex" in dictionary.text
    assert "<!DOCTYPE html>" in client.get("/dictionary.html").text
    assert "provider: ngo-harbour" in client.get("/mappings/ngo-harbour.yaml").text
    assert "ngo-harbour" in client.get("/mappings/ngo-harbour.md").text
    assert (
        client.get("/dictionary.pdf").status_code == 404 and client.get("/mappings/ngo-harbour.py").status_code == 404
    )
    assert client.get("/signin").headers["location"] == "/submissions", "signed in already"
