"""The upload page as a provider meets it: unregistered ids, workbooks with a cover page or several data
sheets, messages that point to the allowed codes, row numbers, and decompression bombs."""

from __future__ import annotations

import csv
import io
import time

from tests.portal.conftest import CANARY_CODE, csrf_of, sign_in, submit, token_of, upload
from tests.robustness.inputs import shared_strings_bomb, xlsx_bytes

COVER = [["Quarterly extract"], ["Prepared by", "the data officer"]]


def _rows(extract: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(extract.decode("utf-8"))))


def test_an_account_that_is_not_a_registered_provider_is_told_so(accounts, client, harbour_csv):
    accounts.add("ngo-harbur", "provider", "harbur-password-1")
    assert sign_in(client, "ngo-harbur", "harbur-password-1").status_code == 303
    answer = upload(client, harbour_csv)
    assert answer.status_code == 422
    assert "unknown provider id" in answer.text and "ngo-harbour, ngo-lighthouse, nrm-central" in answer.text


def test_a_cover_page_is_skipped(client, harbour_csv):
    sign_in(client, "ngo-harbour")
    answer = upload(client, xlsx_bytes({"Cover": COVER, "Data": _rows(harbour_csv)}), name="extract.xlsx")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "The extract is valid" in page and "read the sheet &#x27;Data&#x27;" in page


def test_several_data_sheets_ask_for_the_sheet_on_the_form(client, home, harbour_csv):
    sign_in(client, "ngo-harbour")
    rows = _rows(harbour_csv)
    data = xlsx_bytes({"Cover": COVER, "2023": rows, "2024": rows[:11]})
    asked = upload(client, data, name="extract.xlsx")
    assert asked.status_code == 422 and '<select id="sheet" name="sheet"' in asked.text
    assert '<option value="2024">' in asked.text and "--sheet" not in asked.text
    csrf = csrf_of(asked.text)
    chosen = client.post(
        "/upload",
        data={"csrf_token": csrf, "feed": "victim-assistance", "period": "all", "sheet": "2024"},
        files={"file": ("extract.xlsx", data, "application/octet-stream")},
    )
    assert chosen.status_code == 303
    page = client.get(chosen.headers["location"]).text
    assert "all 10 rows pass" in page and "sheet <strong>2024</strong>" in page
    placed = submit(client, token_of(chosen.headers["location"]))
    assert placed.status_code == 303
    keyring = home.keyring()[0]
    (sub,) = home.sealed_inbox(keyring).pending("victim-assistance", "received")
    assert sub.sheet == "2024"


def test_a_code_that_is_not_allowed_links_to_its_code_list(client, harbour_bad_csv):
    sign_in(client, "ngo-harbour")
    answer = upload(client, harbour_bad_csv)
    page = client.get(answer.headers["location"]).text
    assert 'href="/dictionary.html#codelist-sex"' in page and CANARY_CODE in page
    assert "not a sex code" not in page and "row 1 is the first data row" in page
    dictionary = client.get("/dictionary.html")
    assert dictionary.status_code == 200 and 'id="codelist-sex"' in dictionary.text


def test_a_decompression_bomb_is_refused_at_once(client, harbour_csv):
    sign_in(client, "ngo-harbour")
    bomb = shared_strings_bomb(_rows(harbour_csv)[:20])
    start = time.perf_counter()
    answer = upload(client, bomb, name="extract.xlsx")
    assert time.perf_counter() - start < 10  # was 152 s
    assert answer.status_code == 422 and "zip bomb" in answer.text


def test_a_renamed_column_is_named_with_its_likely_match(client, harbour_csv):
    sign_in(client, "ngo-harbour")
    renamed = harbour_csv.replace(b"citizenship", b"nationality", 1)
    answer = upload(client, renamed)
    assert answer.status_code == 422
    assert "&#39;nationality&#39; (column 9; did you mean citizenship?)" in answer.text
    assert 'href="/dictionary.html"' in answer.text
