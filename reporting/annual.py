"""The rapporteur's annual report: one self-contained, accessible HTML document per year, from research.duckdb."""

from __future__ import annotations

from html import escape as e
from pathlib import Path

import duckdb

from reporting import dp_figures, gaps, revised
from reporting.markup import NA, NC, SUPP, bar_chart, figure, interval_chart, line_chart, num, pct, span, table

DIMENSIONS = {
    "sex": "Sex",
    "age_group": "Age group",
    "citizenship": "Citizenship (ten largest published groups)",
    "exploitation_form": "Form of exploitation",
    "internal_or_transnational": "Internal or transnational trafficking",
    "identifying_agency": "Identifying agency",
}
SERVICES = {"service": "Services received, by type", "service_provider": "Services received, by provider"}
STAGES = ("investigated", "prosecuted", "convicted")
WORDS = {"ngo": "NGO", "nrm": "National referral mechanism", "non_state": "Non-state", "self": "Self-identified"}
QUERIES = {
    "indicators": "SELECT indicator, period, dimension, category, value, baseline_period, baseline_value, change_abs,"
    " change_pct, trend, suppressed FROM indicators ORDER BY indicator, dimension, category, period",
    "attrition": "SELECT * FROM attrition ORDER BY period",
    "sentences": "SELECT * FROM sentences ORDER BY period",
    "provider_overlap": "SELECT * FROM provider_overlap ORDER BY period, n_lists, lists",
    "submissions": "SELECT * FROM submissions ORDER BY feed, provider, received_at",
    "suspects_by_year_form": "SELECT * FROM suspects_by_year_form ORDER BY reporting_year, exploitation_form",
    "national_coverage": "SELECT * FROM national_coverage",
    "code_lists": "SELECT * FROM code_lists",
    "hidden_population": "SELECT * FROM hidden_population ORDER BY period",
}
CAVEATS = (
    "<h3>Assumptions and caveats</h3><ul>"
    "<li>The population is assumed closed during the year: no one enters or leaves it between the lists.</li>"
    "<li>Dependence between lists is modelled only through the interactions selected for the model; other "
    "dependence, and differences between persons in the chance of being listed, can bias the estimate.</li>"
    "<li>The estimate is of the population that could have been identified by these lists, not of all victims "
    "of trafficking.</li><li>Lists (providers) with fewer than 10 victims in a year are combined into one list "
    "for that year's estimate; the table's warnings name them.</li><li>Three methods are run each year: stepwise "
    "selection of interactions (as the R package SparseMSE), selection by BIC among all hierarchical models and "
    "Bayesian thresholding of interactions (both as the R package MultipleSystemsEstimation). The headline figure "
    "is the middle of the three estimates and its range runs from the lowest to the highest end of their "
    "intervals, because the methods can disagree by more than any one interval admits. The stepwise and BIC "
    "intervals come from a bootstrap that draws whole populations from the fitted model and repeats the model "
    "selection; the Bayesian interval is a posterior interval. All assume the record linkage is right. In years "
    "with fewer than about 300 estimated victims one method's 95% interval covers the true number nearer 90% of "
    "the time (docs/mse.md).</li></ul>"
)
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#fff;line-height:1.45;
max-width:60rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.8rem}h2{margin-top:2.5rem;border-bottom:2px solid #1f4e79;padding-bottom:.2rem}h3{margin-top:1.8rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
th,td{border:1px solid #bbb;padding:.25rem .55rem;vertical-align:top}thead th{background:#eef2f7}
td{text-align:right;font-variant-numeric:tabular-nums}th[scope=row]{text-align:left;font-weight:normal}
td.text{text-align:left}figure{margin:1rem 0}figcaption{font-size:.9rem;color:#444}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .lbl{fill:#222}svg .small{font-size:11px}svg .supp{fill:#555}
.fn,.note{font-size:.88rem;color:#444}.flag{font-weight:600;color:#8a1c00}abbr{text-decoration:none}nav ol{columns:2}
"""


def render_annual_report(
    research_db: Path, year: int, k: int = 5, revisions: list[dict] | None = None, dp_release: Path | None = None
) -> str:
    """The whole annual report for `year` as one HTML document (`k`: the disclosure threshold applied).

    With `revisions` (once anything has been released: see reporting.releases), a section lists the figures
    of earlier releases that have changed since. With `dp_release` (a folder of releases/dp/), the figures it
    holds are drawn from it, each with its bound, and the report says so (reporting/dp_figures.py).
    """
    data = _load(Path(research_db))
    if not _has_year(data, year):
        raise ValueError(f"no data for {year} in the research database")
    dp_note = None
    if dp_release is not None:
        manifest, cells = dp_figures.read_release(dp_release)
        data, dp_note = dp_figures.overlay(data, cells), dp_figures.note(manifest)
    return _Report(data, year, k, revisions, dp_note).document(Path(research_db).name)


def write_annual_report(
    research_db: Path,
    year: int,
    out: Path,
    k: int = 5,
    revisions: list[dict] | None = None,
    dp_release: Path | None = None,
) -> Path:
    """Render the report for `year` and write it (UTF-8) to `out`; return `out`."""
    html = render_annual_report(research_db, year, k, revisions, dp_release)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def _load(path: Path) -> dict[str, list[dict] | None]:
    """Every table the report reads, as lists of dicts; a table the database lacks is None."""
    if not path.is_file():
        raise FileNotFoundError(f"no research database at {path}")
    data: dict[str, list[dict] | None] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for name, sql in QUERIES.items():
            cur = con.execute(sql) if name in present else None
            cols = [d[0] for d in cur.description] if cur else []
            data[name] = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()] if cur else None
    return data


def _has_year(data: dict, year: int) -> bool:
    tables = [(t, "period") for t in ("indicators", "attrition", "sentences", "provider_overlap")]
    return any(
        r[col] == year for t, col in [*tables, ("suspects_by_year_form", "reporting_year")] for r in data[t] or ()
    )


def _bar(r: dict | None) -> tuple[float | None, str]:
    """A bar's length and its label text; a suppressed cell gets no bar."""
    if r is not None and r.get("suppressed"):
        return None, "\u00b7 suppressed"
    if not gaps.published(r):
        return None, "\u2013"
    bound = f" \u00b1 {r['bound_95']:,}" if r.get("bound_95") is not None else ""  # a DP figure's 95% bound
    return r["value"], f"{r['value']:,}{bound}"


class _Report:
    def __init__(self, data: dict, year: int, k: int, revisions: list[dict] | None = None, dp_note: str | None = None):
        self.d, self.year, self.k, self._n, self.dp_note = data, year, k, 0, dp_note
        self.revisions = revisions
        self.ind = data["indicators"] or []
        self.countries = {r["code"]: r["definition"] for r in data["code_lists"] or () if r["codelist"] == "country"}

    def ident(self) -> str:
        self._n += 1
        return f"chart{self._n}"

    def rows(self, indicator: str, dimension: str, period: int | None = None) -> list[dict]:
        match = (indicator, dimension)
        return [r for r in self.ind if (r["indicator"], r["dimension"]) == match and period in (None, r["period"])]

    def one(self, indicator: str, dimension: str, category: str, period: int) -> dict | None:
        return next((r for r in self.rows(indicator, dimension, period) if r["category"] == category), None)

    def label(self, dim: str, code: str) -> str:
        if dim == "citizenship":
            return "Unknown" if code == "XXX" else f"{self.countries.get(code, code)} ({code})"
        return WORDS.get(code) or code.replace("_", " ").capitalize()

    def document(self, source: str) -> str:
        y = self.year
        sections = [
            ("summary", f"Summary for {y}", self.summary()),
            ("trends", "Trends against the baseline", self.trends()),
            ("disaggregations", f"Disaggregations for {y}", self.disaggregations()),
            ("justice", "Criminal-justice funnel", self.justice()),
            ("overlap", "Overlap between providers", self.overlap()),
            ("hidden", "Hidden population", self.hidden()),
            ("gaps", "Shortfalls and gaps", gaps.section(self)),
        ]
        if self.revisions is not None:
            sections.append(("revisions", "Revisions of earlier figures", revised.section(self.revisions)))
        toc = "".join(f'<li><a href="#{i}">{e(t)}</a></li>' for i, t, _ in sections)
        body = "".join(f'<section id="{i}"><h2>{e(t)}</h2>{b}</section>' for i, t, b in sections)
        dp = f'<p class="note">{e(self.dp_note)}</p>' if self.dp_note else ""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Trafficking in human beings: annual report {y}</title><style>{CSS}</style></head><body>"
            f"<header><h1>Trafficking in human beings: annual report {y}</h1>"
            f'<p class="note">Figures from the research database <code>{e(source)}</code>, which holds aggregates '
            f"only. Symbols: {SUPP} suppressed (disclosure control, k = {self.k}); {NA} no value; {NC} not covered "
            f"by national law.</p>{dp}"
            f'<nav aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav></header>'
            f"<main>{body}</main></body></html>\n"
        )

    def summary(self) -> str:
        y = self.year
        total = self.one("unique_victims", "total", "all", y)
        if not gaps.published(total):
            lead = f"<p>The number of unique victims identified in {y} is {'suppressed' if total else 'missing'}.</p>"
        else:
            lead = f"<p>In {y}, <strong>{num(total)}</strong> unique victims were identified"
            if total["baseline_period"] not in (None, y):
                lead += f", {total['change_abs']:+,} ({pct(total['change_pct'], True)}) against the baseline year "
                lead += f"{total['baseline_period']} ({total['baseline_value']:,})"
            lead += ".</p>"
        stages = [(f"Suspects {s}", "suspects", "stage", s) for s in STAGES]
        lead += "<p>Suspects: " + ", ".join(f"{num(self.one('suspects', 'stage', s, y))} {s}" for s in STAGES)
        lead += f" in {y}.</p>"
        rows = []
        for name, indicator, dimension, category in [
            ("Unique victims identified", "unique_victims", "total", "all"),
            *stages,
        ]:
            r = self.one(indicator, dimension, category, y)
            base = [NA, NA]
            if r is not None and r["baseline_period"] is not None:  # published even when this year's cell is not
                base = [str(r["baseline_period"]), num({"value": r["baseline_value"]})]
            change = [NA] * 3
            if gaps.published(r):
                change = [NA if r["change_abs"] is None else f"{r['change_abs']:+,}", pct(r["change_pct"], True)]
                change.append(e(r["trend"] or "\u2013"))
            rows.append([e(name), num(r), num(self.one(indicator, dimension, category, y - 1)), *base, *change])
        head = ["Indicator", str(y), str(y - 1), "Baseline year", "Baseline value", "Change", "Change %"]
        caption = f"Key figures, {y}, with the change against each indicator's baseline"
        return lead + table(caption, [*head, "Trend since previous year"], rows, (7,))

    def trends(self) -> str:
        y = self.year
        tot = {r["period"]: r for r in self.rows("unique_victims", "total") if r["period"] <= y}
        by = {(r["category"], r["period"]): r for r in self.rows("unique_victims", "sex") if r["period"] <= y}
        years = sorted(set(tot) | {p for _, p in by})
        cats = sorted({c for c, _ in by})
        series = [("Total", [tot[p]["value"] if gaps.published(tot.get(p)) else None for p in years])]
        for c in cats:
            values = [by[c, p]["value"] if gaps.published(by.get((c, p))) else None for p in years]
            series += [(self.label("sex", c), values)] if any(v is not None for v in values) else []
        if not years:
            return "<p>No series of unique victims is published.</p>"
        base = (tot.get(y) or {}).get("baseline_period")
        title = f"Unique victims per year, {years[0]}\u2013{y}, total and by sex"
        desc = "Lines of unique victims identified each year, in total and by sex; a gap is a suppressed value."
        svg = line_chart(self.ident(), title, desc + " The figures are in the table below.", years, series, mark_x=base)
        out = figure(svg, f"{e(title)}. The baseline year ({base}) is marked by a dashed line.")
        rows = [
            [f"{p}{' (baseline)' if p == base else ''}", num(tot.get(p)), *(num(by.get((c, p))) for c in cats)]
            for p in years
        ]
        out += table(e(title), ["Year", "Total", *(e(self.label("sex", c)) for c in cats)], rows)
        bases = [
            f"{self.label('sex', c)} {by[c, y]['baseline_period']}"
            for c in cats
            if by.get((c, y)) and by[c, y]["baseline_period"] is not None
        ]
        out += (
            f'<p class="note">Baseline years by sex (first published year): {e(", ".join(bases))}.</p>' if bases else ""
        )
        return out + self.series_breaks(years)

    def series_breaks(self, years: list[int]) -> str:
        """In words: which yearly series of sex and age group are incomplete, and in which years."""
        broken = []
        for dim, name in (("sex", "by sex"), ("age_group", "by age group")):
            cells = {(r["category"], r["period"]): r for r in self.rows("unique_victims", dim) if r["period"] in years}
            parts = []
            for c in sorted({c for c, _ in cells}):
                gaps_ = [p for p in years if (c, p) in cells and cells[c, p]["suppressed"]]
                parts += [f"{self.label(dim, c).lower()} ({', '.join(map(str, gaps_))})"] if gaps_ else []
            broken += [f"{name}: {', '.join(parts)}"] if parts else []
        if not broken:
            return "<p>Every yearly series by sex and by age group is complete.</p>"
        return (
            "<p>Some yearly series by sex or age group are incomplete. Counts are withheld "
            f"{e('; '.join(broken))}. These are counts under {self.k}, or counts withheld so that one under "
            f"{self.k} cannot be worked out; a line breaks there rather than show a number.</p>"
        )

    def breakdown(self, indicator: str, dim: str, title: str, share: bool) -> str:
        y, out, note = self.year, f"<h3>{e(title)}</h3>", ""
        rows = self.rows(indicator, dim, y)
        if dim == "citizenship":
            top = sorted((r for r in rows if gaps.published(r) and r["category"] != "XXX"), key=lambda r: -r["value"])
            rest, rows = [r for r in rows if r not in top[:10]], top[:10]
            if rest:
                note = (
                    f'<p class="note">{len(rest)} further categories are not shown '
                    f"({sum(r['suppressed'] for r in rest)} of them suppressed). No 'other' group is formed, "
                    "so that no suppressed count can be worked out from it.</p>"
                )
        elif dim == "age_group":
            rows.sort(key=lambda r: (r["category"] == "unknown", len(r["category"]) > 5, r["category"]))
        else:
            rows.sort(key=lambda r: (r["category"] in ("unknown", "other"), r["suppressed"], -(r["value"] or 0)))
        if not rows:
            return out + f"<p>No published values for {y}.</p>"
        items = [(self.label(dim, r["category"]), *_bar(r)) for r in rows]
        if any(v is not None for _, v, _ in items):
            desc = f"Bars of {title.lower()} in {y}; suppressed values are marked, not drawn. The figures are below."
            out += figure(bar_chart(self.ident(), f"{title}, {y}", desc, items), e(f"{title}, {y}."))
        total = self.one("unique_victims", "total", "all", y) if share else None
        body = []
        for r in rows:
            ok = share and gaps.published(r) and gaps.published(total) and total["value"]
            cells = [pct(100 * r["value"] / total["value"]) if ok and total is not None else NA] if share else []
            cells += [NA if r["baseline_period"] is None else str(r["baseline_period"])]
            cells += [pct(r["change_pct"], True) if gaps.published(r) else NA]
            body.append([e(self.label(dim, r["category"])), num(r), *cells])
        head = ["Category", str(y), *(["Share of the published total"] if share else []), "Baseline year"]
        return out + table(e(f"{title}, {y}"), [*head, "Change against baseline"], body) + note

    def disaggregations(self) -> str:
        out = (
            f"<p>Unique victims identified in {self.year} by each characteristic. Shares are of the published "
            "total; categories with suppressed values are never added up.</p>"
        )
        out += "".join(self.breakdown("unique_victims", d, t, True) for d, t in DIMENSIONS.items())
        out += '<p class="note">A person can receive several services, so services do not add up to victims.</p>'
        return out + "".join(self.breakdown("services_received", d, t, False) for d, t in SERVICES.items())

    def justice(self) -> str:
        y = self.year
        stages = [(s, self.one("suspects", "stage", s, y)) for s in STAGES]
        att = {r["period"]: r for r in self.d["attrition"] or () if r["period"] <= y}
        out = f"<h3>Investigated, prosecuted and convicted in {y}</h3>"
        items = [(s.capitalize(), *_bar(r)) for s, r in stages]
        if any(v is not None for _, v, _ in items):
            desc = f"Funnel of suspects investigated, prosecuted and convicted in {y}. The figures are in the table."
            svg = bar_chart(self.ident(), f"Criminal-justice funnel, {y}", desc, items, centered=True)
            out += figure(svg, f"Suspects at each stage, {y}.")
        a = att.get(y, {})
        shares = [NA, *(pct(None if a.get(c) is None else 100 * a[c]) for c in ("prosecuted_share", "convicted_share"))]
        rows = [[s.capitalize(), num(r), sh] for (s, r), sh in zip(stages, shares, strict=True)]
        out += table(
            f"Suspects by stage and attrition, {y}", ["Stage", "Suspects", "Share of the previous stage"], rows
        )
        out += (
            '<p class="note">Shares compare the numbers recorded at each stage in the same year; they do not '
            "follow one cohort of cases through the system.</p>"
        )
        offence = self.rows("convicted_suspects", "offence", y)
        if offence:
            rows = [[e(self.label("offence", r["category"])), num(r)] for r in offence]
            out += table(f"Convicted suspects by offence, {y}", ["Offence", "Convicted suspects"], rows)
        forms = [r for r in self.d["suspects_by_year_form"] or () if r["reporting_year"] == y]
        if forms:
            rows = [[e(self.label("exploitation_form", r["exploitation_form"])), _form(r)] for r in forms]
            out += table(f"Suspect records by form of exploitation, {y}", ["Form of exploitation", "Suspects"], rows)
        out += "<h3>Attrition over the years</h3>"
        years = sorted(att)
        cols = {"prosecuted_share": "Prosecuted / investigated", "convicted_share": "Convicted / prosecuted"}
        if years:
            series = [(t, [None if att[p][c] is None else 100 * att[p][c] for p in years]) for c, t in cols.items()]
            desc = "Lines of the share of investigated suspects prosecuted and of prosecuted suspects convicted."
            svg = line_chart(
                self.ident(), f"Attrition shares, {years[0]}\u2013{y}", desc, years, series, suffix="%", y_top=100
            )
            out += figure(svg, "Attrition shares per year; the figures are in the table below.")
            rows = [
                [
                    str(p),
                    *(num(att[p], c) for c in STAGES),
                    *(NA if att[p][c] is None else pct(100 * att[p][c]) for c in cols),
                ]
                for p in years
            ]
            out += table(
                f"Attrition, {years[0]}\u2013{y}", ["Year", *(s.capitalize() for s in STAGES), *cols.values()], rows
            )
        out += "<h3>Sentences</h3>"
        sent = [r for r in self.d["sentences"] or () if r["period"] <= y]
        cols = {
            "convicted_with_sentence": "Convicted with a sentence",
            "median_months": "Median (months)",
            "p25_months": "Lower quartile (months)",
            "p75_months": "Upper quartile (months)",
        }
        rows = [[str(r["period"]), *(num(r, c) for c in cols)] for r in sent]
        caption = f"Sentences of convicted suspects, by year of conviction, up to {y}"
        return out + (table(caption, ["Year", *cols.values()], rows) if rows else "<p>No sentences published.</p>")

    def overlap(self) -> str:
        y = self.year
        rows = [r for r in self.d["provider_overlap"] or () if r["period"] == y]
        if not rows:
            return f"<p>No overlap between providers is published for {y}.</p>"
        items, groups = [], []
        for n in sorted({r["n_lists"] for r in rows}):
            cells = [r for r in rows if r["n_lists"] == n]
            hidden = any(r["suppressed"] for r in cells)
            value = None if hidden else sum(r["persons"] or 0 for r in cells)
            label = f"{n} list{'s' if n > 1 else ''}"
            items.append((label, value, "\u00b7 suppressed" if hidden else f"{value:,}"))
            groups.append([label, SUPP if hidden else f"{value:,}", str(len(cells))])
        desc = (
            f"Bars of persons identified in {y} by the number of lists they appear on; a group that contains a "
            "suppressed combination is not added up. The figures are in the table below."
        )
        out = (
            f"<p>Persons identified in {y}, by the exact combination of lists (providers) on which they appear "
            "after pseudonymised record linkage.</p>"
        )
        if any(v is not None for _, v, _ in items):
            out += figure(
                bar_chart(self.ident(), f"Persons by number of lists, {y}", desc, items),
                f"Persons by number of lists, {y}.",
            )
        else:
            out += (
                "<p>Every group holds a suppressed combination (disclosure control), so no group is added up and "
                "no chart is drawn; the published combinations are in the table below.</p>"
            )
        caption = f"Persons by number of lists, {y} (the sum of the combinations, only where none is suppressed)"
        out += table(caption, ["Number of lists", "Persons", "Combinations"], groups)
        rows = [[e(r["lists"]), str(r["n_lists"]), num(r, "persons")] for r in rows]
        return out + table(f"Persons by combination of lists, {y}", ["Lists", "Number of lists", "Persons"], rows)

    def hidden(self) -> str:
        y, estimates = self.year, self.d["hidden_population"]
        if estimates is None:
            return (
                "<p>The estimate of the hidden population is not available: the research database has no "
                "multiple systems estimate (table <code>hidden_population</code>).</p>" + CAVEATS
            )
        rows = [r for r in estimates if r.get("period") is not None and r["period"] <= y]
        now = next((r for r in rows if r["period"] == y and r.get("estimate") is not None), None)
        if now is None:
            lead = f"<p>No multiple systems estimate is available for {y}.</p>"
        else:
            lead = (
                f"<p>Multiple systems estimation puts the population that could have been identified in {y} at "
                f"<strong>{now['estimate']:,.0f}</strong> (80% range {span(_iv(now, 80))}, 95% range "
                f"{span(_iv(now, 95))}), against {num(now, 'observed')} persons observed on the lists.</p>"
                + _methods_in_words(now)
            )
        if not any(r.get("estimate") is not None for r in rows):
            return lead + CAVEATS
        title = "Estimated hidden population per year with 80% and 95% intervals"
        desc = "For each year, the estimate with its 80% and 95% intervals and the number observed; see the table."
        points = [(str(r["period"]), r.get("estimate"), _iv(r, 80), _iv(r, 95), r.get("observed")) for r in rows]
        out = lead + figure(
            interval_chart(self.ident(), title, desc, points),
            "Estimate (dot), 80% and 95% intervals (bars) and number observed (square).",
        )
        head = ["Year", "Observed", "Estimate", "80% range", "95% range", "Model", "Lists", "Warnings"]
        body = [
            [
                str(r["period"]),
                num(r, "observed"),
                num(r, "estimate"),
                span(_iv(r, 80)),
                span(_iv(r, 95)),
                *(e(_flat(r.get(c))) for c in ("model", "n_lists", "warnings")),
            ]
            for r in rows
        ]
        out += table(f"Multiple systems estimates up to {y} (combined statement)", head, body, (5, 7))
        if any(r.get(f"estimate_{m}") is not None for r in rows for m in METHOD_NAMES):
            head = ["Year", *(f"{label}: estimate (95% interval)" for label in METHOD_NAMES.values())]
            body = [
                [str(r["period"]), *(_method_cell(r, m) for m in METHOD_NAMES)]
                for r in rows
                if r.get("estimate") is not None
            ]
            out += table(f"Each method's estimate up to {y}", head, body)
        return out + CAVEATS


def _form(r: dict) -> str:
    return NC if r.get("status") == "not_covered_by_law" and not r.get("suppressed") else num(r, "suspect_records")


METHOD_NAMES = {"stepwise": "Stepwise", "bic": "BIC", "bayes": "Bayesian thresholding"}


def _method_cell(r: dict, method: str) -> str:
    value = r.get(f"estimate_{method}")
    if value is None:
        return "\u2013"
    lo, hi = r.get(f"lower_95_{method}"), r.get(f"upper_95_{method}")
    return f"{value:,.0f}" + ("" if lo is None or hi is None else f" ({span((float(lo), float(hi)))})")


def _methods_in_words(r: dict) -> str:
    """The spread between the methods in words: the caveat on model uncertainty for the year."""
    found = {m: r[f"estimate_{m}"] for m in METHOD_NAMES if r.get(f"estimate_{m}") is not None}
    if len(found) < 2:
        return ""
    low, high = min(found, key=found.__getitem__), max(found, key=found.__getitem__)
    spread = found[high] / found[low] - 1.0
    if spread < 0.10:
        judgement = "The methods agree closely: the choice of model matters little this year."
    elif spread < 0.50:
        judgement = "The choice of model moves the estimate noticeably: read the range, not the single figure."
    else:
        judgement = (
            "The methods disagree strongly: the data do not settle which model is right, and the single figure "
            "should not be quoted without the range."
        )
    each = ", ".join(f"{METHOD_NAMES[m]} {v:,.0f}" for m, v in found.items())
    return (
        f"<p>The {len(found)} methods give {each}: the highest is {spread:.0%} above the lowest "
        f"({METHOD_NAMES[high]} against {METHOD_NAMES[low]}). {judgement}</p>" + _linkage_in_words(r)
    )


def _linkage_in_words(r: dict) -> str:
    """The estimate's sensitivity to linkage error at the measured rates, in words."""
    missed, false = r.get("linkage_missed"), r.get("linkage_false")
    if missed is None or false is None:
        return ""
    return (
        "<p>Record linkage: if links between providers' records of one person were missed once more at the "
        f"rate measured (pair recall 97.4%), the stepwise estimate would move by {missed:+.1%}; if false links "
        f"were made once more at the rate measured (pair precision 99.8%), by {false:+.1%}. Missed links make "
        "one person look like two and raise the estimate; the published figure carries the same error in the "
        "same direction. These rates were measured on the synthetic generator's own noise and may be "
        "optimistic.</p>"
    )


def _iv(r: dict, level: int) -> tuple[float, float] | None:
    lo, hi = r.get(f"lower_{level}"), r.get(f"upper_{level}")
    return None if lo is None or hi is None else (float(lo), float(hi))


def _flat(v) -> str:
    if v is None or (isinstance(v, list | tuple | str) and not v):
        return "\u2013"
    return "; ".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
