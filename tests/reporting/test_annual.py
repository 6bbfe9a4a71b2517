"""The annual report against the research database it is built from: sections, numbers, suppression, safety."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import duckdb
import pytest

from reporting import render_annual_report, write_annual_report
from reporting.annual import DIMENSIONS, WORDS

pytestmark = pytest.mark.integration

SECTIONS = [
    "Summary for {y}",
    "Trends against the baseline",
    "Disaggregations for {y}",
    "Criminal-justice funnel",
    "Overlap between providers",
    "Hidden population",
    "Shortfalls and gaps",
]
SUPPRESSED = "\u00b7"


class _Outline(HTMLParser):
    """Headings, and tables as {caption: [[cell text, ...], ...]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._text: list[str] | None = None
        self._where = ""
        self._caption = ""
        self._rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]|caption|th|td", tag):
            self._text, self._where = [], tag
        elif tag == "tr":
            self._rows.append([])
        elif tag == "table":
            self._rows = []

    def handle_endtag(self, tag):
        if tag == self._where and self._text is not None:
            text = " ".join("".join(self._text).split())
            if tag.startswith("h") and tag != "th":
                self.headings.append((int(tag[1]), text))
            elif tag == "caption":
                self._caption = text
            else:
                self._rows[-1].append(text)
            self._text = None
        elif tag == "table":
            self.tables[self._caption] = self._rows

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def query(db, sql, *params):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def html(research_db, report_year) -> str:
    return render_annual_report(research_db, report_year)


def test_every_section_in_order_with_headings_that_do_not_skip_levels(html, report_year):
    heads = outline(html).headings
    level2 = [t for lvl, t in heads if lvl == 2 and t != "Contents"]
    assert level2 == [s.format(y=report_year) for s in SECTIONS]
    assert [lvl for lvl, _ in heads].count(1) == 1 and heads[0][0] == 1
    for (before, _), (after, text) in zip(heads, heads[1:], strict=False):
        assert after <= before + 1, text
    assert '<html lang="en">' in html


def test_key_figures_equal_database(html, research_db, report_year):
    y = report_year
    rows = dict(
        query(
            research_db,
            "SELECT indicator || '/' || category, value FROM indicators "
            "WHERE period = ? AND ((indicator = 'unique_victims' AND dimension = 'total') OR indicator = 'suspects')",
            y,
        )
    )
    assert f"<strong>{rows['unique_victims/all']:,}</strong> unique victims" in html
    table = outline(html).tables[f"Key figures, {y}, with the change against each indicator's baseline"]
    got = {r[0]: r[1] for r in table[1:]}
    assert got["Unique victims identified"] == f"{rows['unique_victims/all']:,}"
    for stage in ("investigated", "prosecuted", "convicted"):
        assert got[f"Suspects {stage}"] == f"{rows[f'suspects/{stage}']:,}"


def test_disaggregations_equal_database_and_suppressed_cells_are_marked(html, research_db, report_year):
    tables = outline(html).tables
    seen_suppressed = 0
    for dim, title in DIMENSIONS.items():
        shown = {r[0]: r[1] for r in tables[f"{title}, {report_year}"][1:]}
        cells = query(
            research_db,
            "SELECT category, value, suppressed FROM indicators "
            "WHERE indicator = 'unique_victims' AND dimension = ? AND period = ?",
            dim,
            report_year,
        )
        assert shown, dim
        for category, value, suppressed in cells:
            names = {category.replace("_", " ").lower(), WORDS.get(category, "").lower()}
            label = next((k for k in shown if k.endswith(f"({category})") or k.lower() in names), None)
            if label is None:  # citizenship shows the ten largest published groups only
                assert dim == "citizenship"
                continue
            if suppressed:
                assert value is None and shown[label] == SUPPRESSED, (dim, category)
                seen_suppressed += 1
            else:
                assert shown[label] == f"{value:,}", (dim, category)
    assert seen_suppressed, "the sample has suppressed cells in the year (e.g. sex 'other')"


def test_trend_table_equals_database(html, research_db, report_year):
    tables = outline(html).tables
    table = next(t for c, t in tables.items() if c.startswith("Unique victims per year,") and c.endswith("by sex"))
    got = {int(r[0].split()[0]): r[1] for r in table[1:]}
    want = dict(
        query(
            research_db,
            "SELECT period, value FROM indicators WHERE indicator='unique_victims' AND dimension='total' "
            "AND period <= ?",
            report_year,
        )
    )
    assert got == {p: f"{v:,}" for p, v in want.items()}


def test_overlap_groups_are_not_added_up_over_suppressed_cells(html, research_db, report_year):
    rows = query(research_db, "SELECT n_lists, persons, suppressed FROM provider_overlap WHERE period = ?", report_year)
    table = outline(html).tables[
        f"Persons by number of lists, {report_year} (the sum of the combinations, only where none is suppressed)"
    ]
    for label, persons, _ in table[1:]:
        n = int(label.split()[0])
        group = [r for r in rows if r[0] == n]
        if any(s for _, _, s in group):
            assert persons == SUPPRESSED
        else:
            assert persons == f"{sum(p for _, p, _ in group):,}"


def test_self_contained_without_scripts_or_urls(html):
    assert "<script" not in html.lower()
    assert not re.search(r"https?:", html) and "url(" not in html and " src=" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)  # no event-handler attributes


def test_every_chart_is_an_accessible_image_next_to_its_data_table(html):
    charts = re.findall(r"<svg\b[^>]*>.*?</svg>", html, flags=re.S)
    assert len(charts) >= 10
    for svg in charts:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    for figure in re.findall(r"</figure>(.{0,200})", html, flags=re.S):
        assert figure.lstrip().startswith(("<table", "<h3", "<p", "</section"))
    assert html.count("<figure>") == len(charts)
    assert all("<caption>" in t for t in re.findall(r"<table>.*?</table>", html, flags=re.S))
    assert 'scope="col"' in html and 'scope="row"' in html


def test_text_from_the_database_is_escaped(research_db, report_year, tmp_path):
    db = tmp_path / "research.duckdb"
    shutil.copy(research_db, db)
    nasty = '<img src=x onerror="alert(1)">&co'
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO indicators (indicator, period, dimension, category, value, suppressed) "
            "VALUES ('unique_victims', ?, 'exploitation_form', ?, 999, false)",
            [report_year, nasty],
        )
    html = render_annual_report(db, report_year)
    assert nasty not in html and "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;co" in html


def test_a_year_without_data_is_refused(research_db):
    with pytest.raises(ValueError, match=r"^no data for 1990 in the research database$"):
        render_annual_report(research_db, 1990)


def test_missing_hidden_population_is_said_not_available(research_db, report_year, tmp_path):
    db = tmp_path / "research.duckdb"
    shutil.copy(research_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE IF EXISTS hidden_population")
    section = render_annual_report(db, report_year).split('<section id="hidden">')[1].split("</section>")[0]
    assert "The estimate of the hidden population is not available" in section and "<svg" not in section
    assert "closed" in section and "could have been identified" in section


def test_hidden_population_as_published(html, research_db, report_year):
    rows = query(
        research_db, "SELECT estimate, lower_80, upper_80 FROM hidden_population WHERE period = ?", report_year
    )
    if not rows:
        pytest.skip("no hidden_population estimate for the year in this research database")
    estimate, lo, hi = rows[0]
    section = html.split('<section id="hidden">')[1].split("</section>")[0]
    assert f"<strong>{estimate:,.0f}</strong>" in section and f"{lo:,.0f}\u2013{hi:,.0f}" in section
    assert "<svg" in section and "closed" in section


def test_hidden_population_estimates_are_shown_with_intervals(research_db, report_year, tmp_path):
    db = tmp_path / "research.duckdb"
    shutil.copy(research_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE IF EXISTS hidden_population")
        con.execute(
            "CREATE TABLE hidden_population (period INTEGER, observed BIGINT, estimate DOUBLE, lower_80 DOUBLE,"
            " upper_80 DOUBLE, lower_95 DOUBLE, upper_95 DOUBLE, model VARCHAR[], n_lists INTEGER,"
            " warnings VARCHAR[])"
        )
        con.execute(
            "INSERT INTO hidden_population VALUES (?, 250, 612.4, 480, 790, 430, 905, ['A', 'B', 'A:B'], 4, []),"
            " (?, 230, 555.0, 440, 700, 400, 800, ['A'], 4, ['few cases'])",
            [report_year, report_year - 1],
        )
    html = render_annual_report(db, report_year)
    section = html.split('<section id="hidden">')[1].split("</section>")[0]
    assert "<strong>612</strong>" in section and "480\u2013790" in section and "430\u2013905" in section
    assert "<svg" in section and "A; B; A:B" in section and "few cases" in section
    assert "not available" not in section


def test_write_annual_report(research_db, report_year, tmp_path):
    out = write_annual_report(research_db, report_year, tmp_path / "out" / "annual.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_broken_series_of_sex_and_age_group_are_named_in_words(html, research_db, report_year):
    rows = query(
        research_db,
        "SELECT dimension, category, list(period ORDER BY period) FROM indicators WHERE indicator = 'unique_victims' "
        "AND dimension IN ('sex', 'age_group') AND suppressed AND period <= ? GROUP BY ALL",
        report_year,
    )
    assert rows, "the sample has withheld sex or age cells"
    text = re.sub(r"<[^>]+>", "", html)
    assert "Some yearly series by sex or age group are incomplete" in text
    for dimension, category, years in rows:
        words = "by sex:" if dimension == "sex" else "by age group:"
        assert words in text
        assert f"({', '.join(map(str, years))})" in text, (dimension, category)


def test_each_method_and_the_spread_between_them_are_stated(research_db, report_year, tmp_path):
    db = tmp_path / "research.duckdb"
    shutil.copy(research_db, db)
    methods = ("stepwise", "bic", "bayes")
    extra = ", ".join(
        f"{c}_{m} {'VARCHAR' if c == 'model' else 'DOUBLE'}"
        for m in methods
        for c in ("estimate", "lower_95", "upper_95", "model")
    )
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE IF EXISTS hidden_population")
        con.execute(
            "CREATE TABLE hidden_population (period INTEGER, observed BIGINT, estimate DOUBLE, lower_80 DOUBLE,"
            f" upper_80 DOUBLE, lower_95 DOUBLE, upper_95 DOUBLE, model VARCHAR, {extra}, spread DOUBLE,"
            " linkage_missed DOUBLE, linkage_false DOUBLE, n_lists INTEGER, warnings VARCHAR)"
        )
        con.execute(
            "INSERT INTO hidden_population VALUES (?, 123, 157.2, 137, 399, 123, 482, 'b + c + d + b:c',"
            " 268.8, 123.4, 481.6, 'b + c + d + b:c', 157.2, 132.9, 390.3, 'b + c + d + b:c + c:d',"
            " 153.8, 134.5, 202.9, 'b + c + d + b:c + c:d', 0.748, 0.037, -0.004, 3, '')",
            [report_year],
        )
    section = render_annual_report(db, report_year).split('<section id="hidden">')[1].split("</section>")[0]
    assert "<strong>157</strong>" in section and "123\u2013482" in section
    assert "Stepwise 269, BIC 157, Bayesian thresholding 154" in section
    assert "the highest is 75% above the lowest (Stepwise against Bayesian thresholding)" in section
    assert "disagree strongly" in section and "269 (123\u2013482)" in section
    assert "would move by +3.7%" in section and "by -0.4%" in section
