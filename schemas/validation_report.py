"""The provider's validation report: one self-contained HTML page and a CSV of every failure.

The report is produced on the provider's own machine (`rapporteur validate`), so it may show the value
found in an unmapped code cell; it is never written by the pipeline. Every value is escaped; the page
has no JavaScript and no external assets.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from schemas.expectations import ExpectationReport
from schemas.failure_log import MAX_HELD, FailureLog
from schemas.standard import feed
from schemas.validation import Validation

MAX_ROWS_SHOWN = MAX_HELD

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; background: #fff; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #767676; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #e8e8e8; }
td.num { text-align: right; }
.warn { color: #8a4b00; font-weight: bold; }
.pass { color: #1e6b1e; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.25rem 1rem; }
dl.summary dt { font-weight: bold; }
dl.summary dd { margin: 0; }
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(
    caption: str, headers: list[str], rows: list[list[object]], numeric: frozenset[int] | set[int] = frozenset()
) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "\n".join(
        "<tr>"
        + "".join(f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return (
        f"<table>\n<caption>{_e(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _write_csv(path: Path, validation: Validation) -> None:
    """`failures.csv` from a validation that holds every failure; one that held only the first ones was given
    the CSV stream as it ran (`FailureLog`), which wrote them all there."""
    if validation.failures_all_held:
        with path.open("wb") as out:
            log = FailureLog(held=0, csv_out=out)
            log.add(validation.failures)
            log.finish()
    elif not path.exists():
        raise ValueError("a validation that held only its first failures wrote none to this report's failures.csv")


def write_validation_report(
    out_dir: Path,
    filename: str,
    feed: str,
    provider: str,
    validation: Validation,
    expectations: ExpectationReport | None,
) -> Path:
    """Write `report.html` and `failures.csv` in `out_dir`; return the report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "failures.csv", validation)
    docs_href = None
    if expectations is not None and expectations.docs_index is not None:
        index = Path(expectations.docs_index).resolve()
        try:
            docs_href = Path(os.path.relpath(index, out_dir.resolve())).as_posix()
        except ValueError:  # another drive (Windows): no relative path exists
            docs_href = index.as_uri()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Validation report: {_e(filename)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>Validation report: {_e(filename)}</h1>",
        report_sections(filename, feed, provider, validation, expectations, "failures.csv", docs_href),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    report = out_dir / "report.html"
    report.write_text("\n".join(parts), encoding="utf-8")
    return report


def allowed_codes(feed_name: str, validation: Validation) -> list[tuple[str, str]]:
    """(column, its code list) of each column where a code was not allowed (counted over every failure)."""
    spec = feed(feed_name)
    columns = dict.fromkeys(column for rule, column, *_ in validation.failures_by_rule or () if rule == "unmapped_code")
    return [(c, spec.columns[c].code_list) for c in columns if c in spec.columns]


def report_sections(
    filename: str,
    feed: str,
    provider: str,
    validation: Validation,
    expectations: ExpectationReport | None,
    failures_href: str,
    docs_href: str | None = None,
) -> str:
    """The report's sections (summary, failures by rule and by row, dataset checks) as an HTML fragment;
    the portal shows the same fragment on its upload result page."""
    total = validation.failure_count
    parts = [
        '<section aria-labelledby="summary">',
        '<h2 id="summary">Summary</h2>',
        '<dl class="summary">',
        f"<dt>File</dt><dd>{_e(filename)}</dd>",
        f"<dt>Feed</dt><dd>{_e(feed)}</dd>",
        f"<dt>Provider</dt><dd>{_e(provider)}</dd>",
        f"<dt>Rows in</dt><dd>{validation.rows_in:,}</dd>",
        f"<dt>Valid rows</dt><dd>{validation.rows_valid:,}</dd>",
        f"<dt>Rows that would be quarantined</dt><dd>{validation.rows_quarantined:,}</dd>",
        f"<dt>Failures</dt><dd>{total:,}</dd>",
    ]
    if expectations is not None:
        parts.append(f"<dt>Dataset warnings</dt><dd>{len(expectations.warnings):,}</dd>")
    parts.append("</dl>")
    if validation.notes:
        parts.append("<h3>Notes</h3>\n<ul>" + "".join(f"<li>{_e(n)}</li>" for n in validation.notes) + "</ul>")
    parts.append("</section>")

    parts += ['<section aria-labelledby="by-rule">', '<h2 id="by-rule">Failures by rule</h2>']
    if total:
        rows: list[list[object]] = [list(counted) for counted in validation.failures_by_rule or ()]
        parts.append(_table("Failures grouped by rule and column", ["Rule", "Column", "Rows", "Message"], rows, {2}))
        listed = ", ".join(f"{c} (code list {cl})" for c, cl in allowed_codes(feed, validation))
        if listed:
            parts.append(f"<p>The allowed codes of {_e(listed)} are in the data dictionary, under Code lists.</p>")
    else:
        parts.append("<p>No row failed a rule.</p>")
    parts.append("</section>")

    parts += ['<section aria-labelledby="by-row">', '<h2 id="by-row">Failures by row</h2>']
    if total:
        shown = validation.failures.slice(0, MAX_ROWS_SHOWN).to_pylist()
        if total > len(shown):
            parts.append(
                f"<p><strong>Only the first {len(shown):,} of {total:,} failures are shown here.</strong> "
                f'Every failure is listed in <a href="{_e(failures_href)}">failures.csv</a>.</p>'
            )
        else:
            parts.append(f'<p>The same list is in <a href="{_e(failures_href)}">failures.csv</a>.</p>')
        rows = [[f["row_number"], f["column_name"], f["rule"], f["message"], f["value"] or ""] for f in shown]
        parts.append(
            _table(
                "Failures by row (row 1 is the first data row after the header)",
                ["Row", "Column", "Rule", "Message", "Value found"],
                rows,
                {0},
            )
        )
    else:
        parts.append("<p>No failures.</p>")
    parts.append("</section>")

    if expectations is not None:
        parts += [
            '<section aria-labelledby="dataset">',
            '<h2 id="dataset">Dataset checks</h2>',
            "<p>These checks look at the submission as a whole. They are warnings: they never stop a load.</p>",
        ]
        if expectations.results:
            rows = [[r.name, r.observed, r.expected, "pass" if r.success else "warning"] for r in expectations.results]
            table = _table("Dataset checks", ["Check", "Observed", "Expected", "Result"], rows)
            # Mark the result cells for styling; the words "pass"/"warning" carry the meaning on their own.
            table = table.replace("<td>warning</td>", '<td class="warn">warning</td>').replace(
                "<td>pass</td>", '<td class="pass">pass</td>'
            )
            parts.append(table)
        if docs_href is not None:
            parts.append(f'<p>Details: <a href="{_e(docs_href)}">Great Expectations Data Docs</a>.</p>')
        parts.append("</section>")
    return "\n".join(parts)
