"""The annual report in a real browser (Debian's chromium through Playwright): every chart is drawn."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reporting import write_annual_report

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Per chart: its box, and the box of every drawn mark (bars, lines, points, interval bars).
MEASURE = """svg => ({
    box: svg.getBoundingClientRect().toJSON(),
    title: (svg.querySelector(':scope > title') || {}).textContent || '',
    marks: [...svg.querySelectorAll('.mark')].map(m => {
        const b = m.getBoundingClientRect();
        return {tag: m.tagName, width: b.width, height: b.height};
    }),
})"""


def _unavailable(reason: str):
    """Fail in CI (the environment must provide the browser), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


def _playwright():
    """Playwright's sync entry point, once the package and Debian's chromium are both there."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright==1.56.0; never `playwright install`)")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


def test_every_chart_is_drawn(research_db, report_year, tmp_path):
    sync_playwright = _playwright()
    report = write_annual_report(research_db, report_year, tmp_path / "annual.html")
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(report.as_uri())
            charts = page.locator("svg[role=img]")
            measured = [charts.nth(i).evaluate(MEASURE) for i in range(charts.count())]
            page.screenshot(path=str(tmp_path / "annual.png"), full_page=True)
        finally:
            browser.close()
    assert len(measured) >= 10
    for chart in measured:
        name = chart["title"]
        assert name, "every chart has a title"
        assert chart["box"]["width"] > 0 and chart["box"]["height"] > 0, name
        assert chart["marks"], f"{name}: nothing drawn"
        assert all(m["width"] > 0 or m["height"] > 0 for m in chart["marks"]), name
        assert any(m["width"] > 0 and m["height"] > 0 for m in chart["marks"]), name
    assert requests == [report.as_uri()], "the report loads nothing but itself"
    assert errors == []
    assert (tmp_path / "annual.png").stat().st_size > 10_000
