"""The generated data dictionary documents every column, code, rule, coverage entry and mapping."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

import schemas.dictionary as dictionary
from schemas.dictionary import dictionary_html, dictionary_markdown, provider_mapping_markdown, write_dictionary
from schemas.rules import feed_rules
from schemas.standard import HERE, codelist_version, codelists, feed

FEEDS = list(yaml.safe_load((HERE / "feeds.yaml").read_text(encoding="utf-8"))["feeds"])
MAPPING_FILES = sorted((HERE / "mappings").glob("*.yaml"))
SOME_COUNTRIES = ["ABW", "FRA", "ROU", "NGA", "XXX"]


@pytest.fixture(scope="module")
def md() -> str:
    return dictionary_markdown()


@pytest.fixture(scope="module")
def page() -> str:
    return dictionary_html()


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i + len(start))]


def _md_row(section: str, first: str) -> list[str]:
    """The cells after the first of the Markdown table row whose first cell is `first` (as `_html_row`)."""
    for line in section.splitlines():
        if line.startswith(f"| `{first}` |"):
            return [c.strip() for c in re.split(r"(?<!\\)\|", line)[2:-1]]
    raise AssertionError(f"no row for {first}")


def _html_row(section: str, first: str) -> list[str]:
    m = re.search(rf'<tr><th scope="row"><code>{re.escape(html.escape(first))}</code></th>(.*?)</tr>', section)
    assert m, f"no row for {first}"
    return re.findall(r"<td>(.*?)</td>", m.group(1))


def test_title_carries_the_code_list_version(md, page):
    version = codelist_version()
    assert md.startswith('<a id="top"></a>\n\n# ') and version in md.splitlines()[2]
    assert re.search(rf"<title>[^<]*{re.escape(version)}[^<]*</title>", page)
    assert re.search(rf"<h1[^>]*>[^<]*{re.escape(version)}", page)


def test_sections_come_in_order(md, page):
    for text, fmt in ((md, '<a id="{}"></a>'), (page, 'id="{}"')):
        ids = ["how-to-read", *(f"feed-{f}" for f in FEEDS), "codelists"]
        ids += ["coverage"] if (HERE / "coverage.yaml").exists() else []
        ids += ["mappings"]
        positions = [text.index(fmt.format(i)) for i in ids]
        assert positions == sorted(positions)


def test_how_to_read_explains_blank_coverage_and_identifiers(md, page):
    for text, fmt in ((md, '<a id="{}"></a>'), (page, 'id="{}"')):
        intro = _between(text, fmt.format("how-to-read"), fmt.format(f"feed-{FEEDS[0]}"))
        assert "Blank is not" in intro and "unknown" in intro
        assert "not covered by national law" in intro.lower() and "zero" in intro
        assert "never stored" in intro


@pytest.mark.parametrize("name", FEEDS)
def test_every_column_is_documented_with_required_and_identifier_marked(md, page, name):
    f = feed(name)
    md_cols = _between(md, f'<a id="columns-{name}"></a>', f'<a id="identifiers-{name}"></a>')
    page_cols = _between(page, f'id="columns-{name}"', f'id="identifiers-{name}"')
    assert f.description in md and html.escape(f.description) in page
    assert f"`{f.repository}`" in md and f"<code>{html.escape(f.repository)}</code>" in page
    for col in f.columns.values():
        md_row, page_row = _md_row(md_cols, col.name), _html_row(page_cols, col.name)
        for row in (md_row, page_row):
            assert row[1].startswith(("yes", "no"))
            assert row[1].startswith("yes") == col.required, col.name
            assert row[2].startswith("yes") == col.identifier, col.name
        if col.codelist:
            assert f"(#codelist-{col.codelist})" in md_row[3]
            assert f'href="#codelist-{col.codelist}"' in page_row[3]
        assert html.escape(col.description) in page_row[4]


@pytest.mark.parametrize("name", FEEDS)
def test_identifier_handling_is_stated(md, page, name):
    idents = feed(name).identifiers
    md_sec = _between(md, f'<a id="identifiers-{name}"></a>', f'<a id="rules-{name}"></a>')
    page_sec = _between(page, f'id="identifiers-{name}"', f'id="rules-{name}"')
    for ident in idents:
        assert f"- `{ident}`: " in md_sec
        assert f"<li><code>{ident}</code>: " in page_sec
    expected = {"date_of_birth": "birth year and age", "address": "region", "phone": "dropped"}
    for ident, words in expected.items():
        if ident in idents:
            line = next(x for x in md_sec.splitlines() if x.startswith(f"- `{ident}`"))
            assert words in line


@pytest.mark.parametrize("name", FEEDS)
def test_every_rule_is_listed(md, page, name):
    md_rules = _between(md, f'<a id="rules-{name}"></a>', '<a id="' + _next_anchor(name) + '"></a>')
    page_rules = _between(page, f'id="rules-{name}"', f'id="{_next_anchor(name)}"')
    for rule in feed_rules(feed(name)):
        assert f"| `{rule.name}` | `{rule.column}` |" in md_rules
        assert (
            f'<th scope="row"><code>{rule.name}</code></th><td><code>{rule.column}</code></td>'
            f"<td>{html.escape(rule.message)}</td>"
        ) in page_rules


def _next_anchor(name: str) -> str:
    i = FEEDS.index(name)
    return f"feed-{FEEDS[i + 1]}" if i + 1 < len(FEEDS) else "codelists"


def test_every_code_of_every_code_list_with_its_definition(md, page):
    for name, codes in codelists().items():
        assert f'<a id="codelist-{name}"></a>' in md
        assert f'id="codelist-{name}"' in page
        section_md = _between(md + "<a id=", f'<a id="codelist-{name}"></a>', "<a id=")
        section_page = _between(page + " id=", f'id="codelist-{name}"', " id=")
        sample = SOME_COUNTRIES if name == "country" else list(codes)
        for code in sample:
            assert code in codes, code
            assert _md_row(section_md, code) == [codes[code]]
            assert _html_row(section_page, code) == [html.escape(codes[code])]


def test_countries_are_one_table(md):
    section = _between(md, '<a id="codelist-country"></a>', "\n\n<a id=")
    rows = [x for x in section.splitlines() if x.startswith("| `")]
    assert len(rows) == len(codelists()["country"])


def test_coverage_lists_every_entry(md, page):
    path = HERE / "coverage.yaml"
    if not path.exists():
        pytest.skip("no coverage.yaml")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    md_sec = _between(md, '<a id="coverage"></a>', '<a id="mappings"></a>')
    page_sec = _between(page, 'id="coverage"', 'id="mappings"')
    for column, codes in spec["coverage"].items():
        for code, entry in codes.items():
            line = next(x for x in md_sec.splitlines() if f"| `{column}` |" in x and f"| `{code}` |" in x)
            assert str(entry["covered_from"]) in line
            assert f"<code>{html.escape(str(code))}</code>" in page_sec
            if entry.get("note"):
                assert html.escape(entry["note"]) in page_sec


def test_coverage_section_is_generic_and_optional(monkeypatch):
    fake = {
        "version": "9.9",
        "coverage": {"sex": {"other": {"covered_from": 2020, "covered_until": 2030, "note": "Test <note>."}}},
    }
    monkeypatch.setattr(dictionary, "_coverage", lambda: fake)
    md, page = dictionary_markdown(), dictionary_html()
    line = next(x for x in md.splitlines() if x.startswith("| `sex` |") and "`other`" in x)
    assert "2020" in line and "2030" in line and "Test &lt;note>." in line
    assert "Covered until" in md and "Test &lt;note&gt;." in page
    monkeypatch.setattr(dictionary, "_coverage", lambda: None)
    md, page = dictionary_markdown(), dictionary_html()
    assert 'id="coverage"' not in md and 'id="coverage"' not in page
    assert "#coverage" not in md and "#coverage" not in page
    assert "not covered by national law" in md.lower()


def test_every_provider_mapping_file_appears(md, page):
    assert MAPPING_FILES
    lists = codelists()
    for path in MAPPING_FILES:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        provider = spec["provider"]
        md_sec = _between(md + '<a id="', f'<a id="mapping-{provider}"></a>', '<a id="')
        page_sec = _between(page + "</main>", f'id="mapping-{provider}"', "</table>")
        assert f"`{spec['feed']}`" in md_sec and f"<code>{spec['feed']}</code>" in page_sec
        single = provider_mapping_markdown(provider)
        for column, codes in spec["codes"].items():
            codelist = feed(spec["feed"]).columns[column].codelist
            for local, standard in codes.items():
                row = f"| `{column}` | `{local}` | `{standard}` | {lists[codelist][standard]} |"
                assert row in md_sec and row in single
                assert f"<td><code>{html.escape(str(local))}</code></td><td><code>{standard}</code></td>" in page_sec


def test_provider_without_mapping_file():
    text = provider_mapping_markdown("no-such-provider")
    assert "no-such-provider" in text and "standard codes" in text
    assert "standard codes" in provider_mapping_markdown("../feeds")


def test_html_is_self_contained_and_links_resolve(page):
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    lowered = page.lower()
    for forbidden in ("<script", " src=", "<link", "<iframe", "<img", "http://", "https://", "@import"):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"<[^>]+\son\w+=", lowered)
    ids = set(re.findall(r' id="([^"]+)"', page))
    hrefs = set(re.findall(r' href="#([^"]+)"', page))
    assert hrefs <= ids
    assert "codelist-sex" in ids
    assert page.count("<table>") == page.count("<caption>") == page.count("</table>")
    assert '<th scope="col">' in page


def test_markdown_links_resolve(md):
    ids = set(re.findall(r'<a id="([^"]+)"></a>', md))
    assert set(re.findall(r"\]\(#([^)]+)\)", md)) <= ids


def test_html_escapes_definitions(monkeypatch):
    lists = {k: dict(v) for k, v in codelists().items()}
    lists["sex"]["other"] = 'Under <b>5</b> & "x" <script>alert(1)</script> | pipe'
    monkeypatch.setattr(dictionary, "codelists", lambda: lists)
    page, md = dictionary_html(), dictionary_markdown()
    assert "<script" not in page and "<b>" not in page
    assert "Under &lt;b&gt;5&lt;/b&gt; &amp; &quot;x&quot; &lt;script&gt;alert(1)&lt;/script&gt; | pipe" in page
    assert "<script" not in md
    assert _md_row(_between(md, '<a id="codelist-sex"></a>', "\n\n<a id="), "other")[0].endswith("\\| pipe")


def test_write_dictionary(tmp_path, md, page):
    out = tmp_path / "docs" / "out"
    md_path, page_path = write_dictionary(out)
    assert md_path == out / "data-dictionary.md" and page_path == out / "data-dictionary.html"
    assert md_path.read_text(encoding="utf-8") == md
    assert page_path.read_text(encoding="utf-8") == page
    assert isinstance(md_path, Path)


def test_committed_dictionary_is_current():
    """docs/data-dictionary.md (linked from the README) is what the schemas generate today."""
    committed = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"
    assert committed.read_text(encoding="utf-8") == dictionary_markdown(), (
        'regenerate: python -c "from schemas.dictionary import dictionary_markdown; '
        "open('docs/data-dictionary.md', 'w').write(dictionary_markdown())\""
    )
