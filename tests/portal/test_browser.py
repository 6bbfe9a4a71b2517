"""The portal end to end in a real browser: `rapporteur portal` in its own process, Debian's chromium through
Playwright, JavaScript switched off (every page must work without it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.portal.conftest import CANARY_NAME, PASSWORDS, running_portal, with_failures
from tests.reporting.test_browser import ARGS, CHROMIUM, _playwright

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SCREENSHOT_ENV = "RAPPORTEUR_PORTAL_SCREENSHOT"  # set to docs/portal-upload-result.png to refresh the docs' image


@pytest.fixture
def server(tmp_path, home):
    """`rapporteur portal` on a free port over a fresh installation with three accounts; yields (url, log)."""
    log = tmp_path / "portal.log"
    with running_portal(home, log) as url:
        yield url, log


def _sign_in(page, url: str, org: str) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Organisation id").fill(org)
    page.get_by_label("Password").fill(PASSWORDS[org])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=f"Submissions of {org}").wait_for()


def _upload(page, url: str, path: Path) -> str:
    page.goto(f"{url}/upload")
    page.get_by_label("Feed").select_option("victim-assistance")
    page.get_by_label("Period").fill("all")
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("heading", name=f"Validation result: {path.name}").wait_for()
    return page.url


def test_provider_uploads_submits_and_cannot_see_another_provider(server, tmp_path, harbour_csv):
    sync_playwright = _playwright()
    url, log = server
    good, bad = tmp_path / "harbour-extract.csv", tmp_path / "harbour-extract-v2.csv"
    good.write_bytes(harbour_csv)
    bad.write_bytes(with_failures(harbour_csv, code="W"))
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, url, "ngo-harbour")

            _upload(page, url, good)
            assert "The extract is valid" in page.locator("main").inner_text()
            page.get_by_role("button", name="Submit this file").click()
            page.get_by_text("Submitted: the file is encrypted in the inbox").wait_for()
            sid = page.url.split("/")[-1].split("?")[0]
            assert page.locator("dl.summary").inner_text().count("received") == 1

            held = _upload(page, url, bad)
            main = page.locator("main").inner_text()
            assert "2 of" in main and "rows fail a rule" in main
            by_row = page.locator("table", has_text="Failures by row").inner_text()
            assert "unmapped_code" in by_row and "sex" in by_row and "invalid_date" in by_row
            page.screenshot(path=str(tmp_path / "upload-result.png"), full_page=True)
            if os.environ.get(SCREENSHOT_ENV):
                shutil.copyfile(tmp_path / "upload-result.png", os.environ[SCREENSHOT_ENV])
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("heading", name="Sign in").wait_for()

            _sign_in(page, url, "ngo-lighthouse")
            assert sid not in page.content()
            for direct in (f"{url}/submissions/{sid}", held):
                answer = page.goto(direct)
                assert answer.status == 404
                assert page.get_by_role("heading", name="Not found").is_visible()
                assert sid not in page.content()
        finally:
            browser.close()
    assert errors == []
    assert (tmp_path / "upload-result.png").stat().st_size > 10_000
    logged = log.read_text()
    assert "GET /uploads/{token} 200" in logged and "Traceback" not in logged
    assert CANARY_NAME not in logged and sid not in logged.replace(f"/submissions/{sid}", "")


def test_provider_signs_off_and_a_resubmission_to_an_approved_period_asks_for_a_reason(server, tmp_path, harbour_csv):
    from tests.cli.test_cli import _run

    sync_playwright = _playwright()
    url, log = server
    first, late = tmp_path / "harbour-2024.csv", tmp_path / "harbour-late.csv"
    first.write_bytes(harbour_csv)
    late.write_bytes(with_failures(harbour_csv, code="W"))
    ingested = _run("ingest", "--feed", "victim-assistance", "--provider", "ngo-harbour", "--json", first)
    sid = ingested.stdout.split('"submission_id": "')[1][:16]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            _sign_in(page, url, "ngo-harbour")
            page.goto(f"{url}/submissions/{sid}")
            page.get_by_role("button", name="Sign off as final").click()
            page.get_by_text("Signed off: the bureau sees this submission as final").wait_for()
            assert "Sign off as final" not in page.content()
            assert _run("period", "status", "--json", "all").stdout.count('"signed_off"') == 1

            assert _run("period", "approve", "--period", "2024").exit_code == 0
            _upload(page, url, late)
            assert "held as a proposed revision" in page.locator("main").inner_text()
            page.get_by_label("Why do you resubmit this period?").fill("   ")
            page.get_by_role("button", name="Submit this file").click()
            page.get_by_role("alert").wait_for()
            assert "needs a reason" in page.get_by_role("alert").inner_text()
            page.get_by_label("Why do you resubmit this period?").fill("two records corrected")
            page.get_by_role("button", name="Submit this file").click()
            page.get_by_text("Submitted: the file is encrypted in the inbox").wait_for()
            assert "held" in page.locator("dl.summary").inner_text()
        finally:
            browser.close()
    listed = _run("revision", "list").stdout
    assert "two records corrected" in listed and "ngo-harbour" in listed
    assert "two records corrected" not in log.read_text()
