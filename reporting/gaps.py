"""Shortfalls and gaps for the annual report, found from published (disclosure-controlled) values only."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as e
from typing import TypeGuard

from reporting.markup import NA, NC, SUPP, num, pct, table

UNKNOWN_CODES = ("unknown", "XXX")
UNKNOWN_SHARE = 0.10
BREAK_CHANGE = 0.50


def published(row: dict | None) -> TypeGuard[dict]:
    """A row whose value may be shown and used (not suppressed, not missing)."""
    return row is not None and not row.get("suppressed") and row.get("value") is not None


def missing_providers(indicators: list[dict], submissions: list[dict], year: int) -> list[dict]:
    """Providers with victim records in year-1 and none in `year`, with their current submissions."""
    by = {
        (r["category"], r["period"]): r
        for r in indicators
        if r["indicator"] == "victim_records" and r["dimension"] == "provider"
    }
    out = []
    for name in sorted({c for c, p in by if p == year - 1}):
        before, now = by.get((name, year - 1)), by.get((name, year))
        had = before is not None and (before["suppressed"] or (before["value"] or 0) > 0)
        has = now is not None and (now["suppressed"] or (now["value"] or 0) > 0)
        if not had or has:
            continue
        feed, _, provider = name.partition(": ")
        current = [s for s in submissions if s["provider"] == provider and s["feed"] == feed and not s["superseded"]]
        out.append({"provider": provider, "feed": feed, "before": before, "current": current})
    return out


def unknown_shares(indicators: list[dict], year: int, threshold: float = UNKNOWN_SHARE) -> list[dict]:
    """Per unique_victims dimension: the published 'unknown' count as a share of the published total."""
    rows = [r for r in indicators if r["indicator"] == "unique_victims" and r["period"] == year]
    total = next((r for r in rows if r["dimension"] == "total"), None)
    out = []
    for dim in sorted({r["dimension"] for r in rows} - {"total"}):
        unknown = next((r for r in rows if r["dimension"] == dim and r["category"] in UNKNOWN_CODES), None)
        share = None
        if published(unknown) and published(total) and total["value"]:
            share = unknown["value"] / total["value"]
        out.append(
            {
                "dimension": dim,
                "row": unknown,
                "share": share,
                "flagged": share is not None and share > threshold,
            }
        )
    return out


def series_breaks(indicators: list[dict], year: int, threshold: float = BREAK_CHANGE) -> list[dict]:
    """Series with a published value above 0 in year-1 and either no value or a change above `threshold`
    in `year`. A value suppressed in `year` is not a break (it exists but is withheld)."""
    by = {(r["indicator"], r["dimension"], r["category"], r["period"]): r for r in indicators}
    out = []
    for ind, dim, cat, period in sorted(k for k in by if k[3] == year - 1):
        before, now = by[(ind, dim, cat, period)], by.get((ind, dim, cat, year))
        if not published(before) or before["value"] <= 0:
            continue
        if now is not None and now["suppressed"]:
            continue
        if not published(now):
            out.append(
                {
                    "indicator": ind,
                    "dimension": dim,
                    "category": cat,
                    "before": before["value"],
                    "after": None,
                    "change": None,
                }
            )
            continue
        change = (now["value"] - before["value"]) / before["value"]
        if abs(change) > threshold:
            out.append(
                {
                    "indicator": ind,
                    "dimension": dim,
                    "category": cat,
                    "before": before["value"],
                    "after": now["value"],
                    "change": change,
                }
            )
    return out


def not_covered(forms: list[dict], coverage: list[dict], year: int) -> list[dict]:
    """Forms of exploitation not covered by national law in `year`, with the coverage note."""
    notes = {r["code"]: r for r in coverage if r["column_name"] == "exploitation_form"}
    codes = {r["exploitation_form"] for r in forms if r["reporting_year"] == year and r["status"] != "counted"}
    codes |= {code for code, r in notes.items() if r["covered_from"] is not None and r["covered_from"] > year}
    return [
        {"form": code, "covered_from": notes.get(code, {}).get("covered_from"), "note": notes.get(code, {}).get("note")}
        for code in sorted(codes)
    ]


def suppressed_counts(tables: Iterable[tuple[str, list[dict]]]) -> list[dict]:
    """Withheld cells per table (why each is withheld stays in the bureau's records)."""
    return [
        {"table": name, "cells": len(rows), "withheld": sum(bool(r.get("suppressed")) for r in rows)}
        for name, rows in tables
    ]


def _words(code: str) -> str:
    return code.replace("_", " ")


def section(report) -> str:
    """Section 7 of the annual report (`report`: its year, k, loaded tables and category labels)."""
    y, d, ind = report.year, report.d, report.ind
    out = [f"<h3>Providers without data for {y}</h3>"]
    missing = missing_providers(ind, d["submissions"] or [], y)
    rows = [
        [e(m["provider"]), e(m["feed"]), num(m["before"]), e(", ".join(_received(s) for s in m["current"]) or "none")]
        for m in missing
    ]
    head = ["Provider", "Feed", f"Victim records {y - 1}", "Current submissions"]
    earlier = any(r["period"] == y - 1 for r in ind)
    if not earlier:
        out.append(f"<p>No figures are published for {y - 1}, so there is no earlier year to compare with.</p>")
    elif rows:
        out.append(table(f"Providers with victim records in {y - 1} and none in {y}", head, rows, (1, 3)))
    else:
        out.append(f"<p>Every provider with victim records in {y - 1} also has records in {y}.</p>")
    subs = [s for s in d["submissions"] or () if not s["superseded"]]
    cols = ("rows_in", "rows_loaded", "rows_quarantined")
    rows = [
        [e(s["provider"]), e(s["feed"]), e(_received(s)), *(SUPP if s[c] is None else f"{s[c]:,}" for c in cols)]
        for s in subs
    ]
    head = ["Provider", "Feed", "Submission", "Rows in", "Loaded", "Quarantined"]
    out.append(table("Current submissions and rows quarantined by validation", head, rows, (1, 2)) if rows else "")

    out.append(f"<h3>Unknown values in {y}</h3>")
    shares = unknown_shares(ind, y)
    flagged = ", ".join(_words(s["dimension"]) for s in shares if s["flagged"])
    out.append(
        f"<p>Characteristics with more than {UNKNOWN_SHARE:.0%} of the published total recorded as unknown: "
        f"{e(flagged or 'none')}. A suppressed unknown count has no share.</p>"
    )
    rows = [
        [e(_words(s["dimension"]).capitalize()), num(s["row"]), pct(None if s["share"] is None else 100 * s["share"])]
        + ['<span class="flag">yes</span>' if s["flagged"] else "no"]
        for s in shares
    ]
    head = ["Characteristic", "Unknown", "Share of the published total", f"Above {UNKNOWN_SHARE:.0%}"]
    out.append(table(f"Unknown values among unique victims, {y}", head, rows) if rows else "")

    out.append(f"<h3>Breaks in series in {y}</h3>")
    breaks = series_breaks(ind, y)
    rows = [
        [e(f"{_words(b['indicator'])} / {_words(b['dimension'])}: {report.label(b['dimension'], b['category'])}")]
        + [f"{b['before']:,}", NA if b["after"] is None else f"{b['after']:,}"]
        + ["no value" if b["change"] is None else pct(100 * b["change"], True)]
        for b in breaks
    ]
    out.append(
        f"<p>Series with a published value in {y - 1} and no value in {y}, or a change of more than "
        f"{BREAK_CHANGE:.0%}; {len(rows)} found. Small counts can change by large shares by chance.</p>"
        if earlier
        else f"<p>No figures are published for {y - 1}: breaks in series cannot be assessed.</p>"
    )
    out.append(
        table(f"Breaks in series, {y - 1} to {y}", ["Series", str(y - 1), str(y), "Change"], rows) if rows else ""
    )

    out.append("<h3>Forms of exploitation not covered by national law</h3>")
    forms = not_covered(d["suspects_by_year_form"] or [], d["national_coverage"] or [], y)
    items = "".join(f"<li>{e(_words(f['form']).capitalize())}: {e(f['note'] or 'no note')}</li>" for f in forms)
    out.append(
        f"<p>In {y} national law did not cover these forms, so no suspects are counted for them ({NC}):</p>"
        f"<ul>{items}</ul>"
        if forms
        else f"<p>Every form of exploitation in the standard was covered by national law in {y}.</p>"
    )
    notes = " ".join(r["note"] for r in d["national_coverage"] or () if r.get("note"))
    out.append(f'<p class="note">Coverage history: {e(notes)}</p>' if notes else "")

    out.append(f'<h3 id="disclosure">Suppressed cells (disclosure control, k = {report.k})</h3>')
    out.append(
        f"<p>Counts of fewer than {report.k} persons are withheld, and further counts are withheld so that no "
        "withheld count can be worked out, exactly or within a narrow range, from anything published: the "
        "cells of every table are chosen together, and checked by an attacker's audit before publication. "
        f"Withheld counts are shown as {SUPP}, never as 0 or blank, and this report adds up no categories that "
        "include a withheld count: totals are shown only as published.</p>"
    )
    counts = suppressed_counts(
        [
            ("Indicators", [r for r in ind if r["period"] == y]),
            ("Provider overlap", [r for r in d["provider_overlap"] or () if r["period"] == y]),
            (
                "Suspects by form of exploitation",
                [r for r in d["suspects_by_year_form"] or () if r["reporting_year"] == y],
            ),
            ("Sentences", [r for r in d["sentences"] or () if r["period"] == y]),
        ]
    )
    rows = [[e(c["table"]), *(str(c[k]) for k in ("cells", "withheld"))] for c in counts]
    out.append(table(f"Suppressed cells, {y}", ["Table", "Cells", "Withheld"], rows))
    return "".join(out)


def _received(s: dict) -> str:
    when = s["received_at"]
    return f"period {s['period']}, received {when:%Y-%m-%d}" if when else f"period {s['period']}"
