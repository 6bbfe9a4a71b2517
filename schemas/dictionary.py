"""The data dictionary of the common data set, generated from the schemas (Markdown and accessible HTML).

Everything is read from the YAML files beside this module (through `schemas.standard` where it offers a
loader) and from `schemas.rules`, so a column, code list, coverage entry or mapping added there appears
here without a change to this module. Both renderings come from one document model, so they say the same.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from schemas.crosswalk import FORMATS, crosswalk
from schemas.providers import MAPPINGS, providers
from schemas.research_tables import research_tables
from schemas.rules import feed_rules
from schemas.standard import (
    FEEDS,
    HERE,
    PROVIDER_ID,
    UNKNOWN_COUNTRY,
    codelist_version,
    codelists,
    feed,
    read_yaml,
)

TITLE = "Data dictionary of the common data set"
FORMAT_TITLES = ["IC-TIP", "GLOTIP", "Eurostat", "SDG 16.2.2"]
MD_NAME = "data-dictionary.md"
HTML_NAME = "data-dictionary.html"

TYPE_NOTES = {
    "text": "text",
    "date": "date",
    "integer": "whole number",
    "code": "one code",
    "codes": "several codes, separated by ';'",
    "services": "several service:provider pairs, separated by ';'",
}

# What happens on arrival to a direct identifier; any other identifier is only used to compute keyed pseudonyms.
IDENTIFIER_TREATMENT = {
    "date_of_birth": "generalised: stored only as birth year and age at the event (with age group); "
    "before that, used with the names to compute keyed linkage pseudonyms",
    "address": "generalised: stored only as its region",
    "phone": "dropped on arrival",
}
DEFAULT_TREATMENT = "replaced by keyed pseudonyms (HMAC linkage tokens), then discarded"


# --- document model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """Inline literal: a column name, a code, a file name."""

    text: str


@dataclass(frozen=True)
class Link:
    text: str | Code
    href: str


Inline = str | Code | Link
Cell = Inline | list[Inline]


@dataclass(frozen=True)
class Heading:
    level: int
    text: list[Inline]
    id: str


@dataclass(frozen=True)
class Para:
    parts: list[Inline]


@dataclass(frozen=True)
class Bullets:
    items: list[list[Inline]]


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


Block = Heading | Para | Bullets | Table


def _parts(cell: Cell) -> list[Inline]:
    return cell if isinstance(cell, list) else [cell]


# --- Markdown rendering ---------------------------------------------------------------------------------


def _md_text(text: str, in_table: bool) -> str:
    text = text.replace("\\", "\\\\").replace("<", "&lt;").replace("*", "\\*")
    if in_table:
        text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text


def _md_code(text: str, in_table: bool) -> str:
    text = text.replace("\n", " ")
    if in_table:
        text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_inline(parts: list[Inline], in_table: bool = False) -> str:
    out = []
    for p in parts:
        if isinstance(p, Code):
            out.append(_md_code(p.text, in_table))
        elif isinstance(p, Link):
            label = _md_code(p.text.text, in_table) if isinstance(p.text, Code) else _md_text(p.text, in_table)
            out.append(f"[{label}]({p.href})")
        else:
            out.append(_md_text(p, in_table))
    return "".join(out)


def render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out += [f'<a id="{html.escape(b.id)}"></a>', "", f"{'#' * b.level} {_md_inline(b.text)}", ""]
        elif isinstance(b, Para):
            out += [_md_inline(b.parts), ""]
        elif isinstance(b, Bullets):
            out += [f"- {_md_inline(item)}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out += [f"*{_md_text(b.caption, False)}*", ""]
            out.append("| " + " | ".join(_md_text(h, True) for h in b.headers) + " |")
            out.append("|" + "|".join("---" for _ in b.headers) + "|")
            for row in b.rows:
                out.append("| " + " | ".join(_md_inline(_parts(c), True) for c in row) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- HTML rendering -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1a1a1a;
background:#fff;margin:0 auto;max-width:75rem;padding:1rem 1.5rem}
a{color:#0b4f9c}a:focus{outline:3px solid #f5a700;outline-offset:2px}
.skip{position:absolute;left:-999rem}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
code{font-family:ui-monospace,Consolas,monospace;background:#f2f2f2;padding:0 .2em;border-radius:3px}
.table-wrap{overflow-x:auto;margin:0 0 1.5rem}
table{border-collapse:collapse;min-width:50%}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#e8eef6}tbody th{font-weight:normal}
@media print{.skip,nav{display:none}.table-wrap{overflow:visible}}
"""


def _html_inline(parts: list[Inline]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Code):
            out.append(f"<code>{html.escape(p.text)}</code>")
        elif isinstance(p, Link):
            label = _html_inline([p.text])
            out.append(f'<a href="{html.escape(p.href)}">{label}</a>')
        else:
            out.append(html.escape(p))
    return "".join(out)


def render_html(blocks: list[Block], title: str) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        '<a class="skip" href="#main">Skip to content</a>',
        '<main id="main">',
    ]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f'<h{b.level} id="{html.escape(b.id)}">{_html_inline(b.text)}</h{b.level}>')
        elif isinstance(b, Para):
            out.append(f"<p>{_html_inline(b.parts)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            cap = html.escape(b.caption)
            out.append(f'<div class="table-wrap" role="region" aria-label="{cap}" tabindex="0">')
            out.append(f"<table><caption>{cap}</caption>")
            out.append("<thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in b.headers))
            out.append("</tr></thead><tbody>")
            for row in b.rows:
                cells = [
                    f'<th scope="row">{_html_inline(_parts(c))}</th>'
                    if i == 0
                    else f"<td>{_html_inline(_parts(c))}</td>"
                    for i, c in enumerate(row)
                ]
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table></div>")
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- sources --------------------------------------------------------------------------------------------


def _yaml(path: Path) -> dict:
    data = read_yaml(path)
    return data if isinstance(data, dict) else {}


def _feed_names() -> list[str]:
    """Every feed in feeds.yaml, in file order (the loader's `FEEDS` when the file lists none)."""
    names = list((_yaml(HERE / "feeds.yaml").get("feeds") or {}).keys())
    return names or list(FEEDS)


def _countries_version() -> str | None:
    path = HERE / "countries.yaml"
    version = _yaml(path).get("version") if path.exists() else None
    return None if version is None else str(version)


def _coverage() -> dict | None:
    path = HERE / "coverage.yaml"
    if not path.exists():
        return None
    return _yaml(path)


def _mapping_files() -> list[Path]:
    """The mapping file of every registered provider (schemas/providers.py)."""
    return [MAPPINGS / f"{p}.yaml" for p in providers()]


def _codelist_of(column: str, feed_name: str | None = None) -> str | None:
    """The code list of `column` in `feed_name` (or in any feed); a code-list name is its own code list."""
    names = [feed_name] if feed_name else _feed_names()
    for name in names:
        try:
            col = feed(name).columns.get(column)
        except KeyError:
            continue
        if col is not None and col.codelist:
            return col.codelist
    return column if column in codelists() else None


def _codelist_link(name: str | None) -> Cell:
    if not name:
        return ""
    if name in codelists():
        return Link(Code(name), f"#codelist-{name}")
    return Code(name)


# --- sections -------------------------------------------------------------------------------------------


def _how_to_read(coverage: dict | None) -> list[Block]:
    unknown_lists = [n for n, codes in codelists().items() if "unknown" in codes]
    items: list[list[Inline]] = [
        [
            "Blank is not “unknown”. A blank cell is missing: the provider did not say. The code ",
            Code("unknown"),
            " means the provider recorded that it does not know. Code lists with an ",
            Code("unknown"),
            f" code: {', '.join(unknown_lists) or 'none'}; the unknown country is ",
            Code(UNKNOWN_COUNTRY),
            ". Count the two separately and never read either as zero.",
        ],
        [
            "“Not covered by national law” is not zero. In a year before national law made a form an offence, "
            "there can be no count for it: such a cell is shown as not covered, never as 0"
            + (" (see " if coverage is not None else "."),
            *([Link("National-law coverage", "#coverage"), ")."] if coverage is not None else list[Inline]()),
        ],
        [
            "Identifiers are never stored. Columns marked as identifiers are read only on arrival, replaced by "
            "keyed pseudonyms or generalised (birth year and age, region), and never stored, logged or shown.",
        ],
        [
            "Required columns are the mandatory disaggregations: a blank cell in one of them fails validation "
            "and the row is not loaded.",
        ],
        [
            "Providers may send their own local codes; they are translated to the standard codes by the "
            "provider's mapping (see ",
            Link("Provider mappings", "#mappings"),
            "). A value that is neither a standard code nor mapped fails validation.",
        ],
    ]
    return [Heading(2, ["How to read this dictionary"], "how-to-read"), Bullets(items)]


def _feed_section(name: str) -> list[Block]:
    f = feed(name)
    blocks: list[Block] = [
        Heading(2, ["Feed ", Code(name)], f"feed-{name}"),
        Para([f.description]),
        Para(["Repository: ", Code(f.repository), "."]),
        Heading(3, ["Columns of ", Code(name)], f"columns-{name}"),
    ]
    rows: list[list[Cell]] = []
    for col in f.columns.values():
        note = TYPE_NOTES.get(col.type)
        rows.append(
            [
                Code(col.name),
                [Code(col.type), *([f" ({note})"] if note and note != col.type else [])],
                "yes (required)" if col.required else "no",
                "yes (identifier)" if col.identifier else "no",
                _codelist_link(col.codelist),
                col.description,
            ]
        )
    blocks.append(
        Table(
            f"Columns of {name}",
            ["Column", "Type", "Required (mandatory disaggregation)", "Identifier", "Code list", "Description"],
            rows,
        )
    )
    blocks.append(Heading(3, ["Identifiers in ", Code(name)], f"identifiers-{name}"))
    if f.identifiers:
        blocks.append(Para(["Direct identifiers are never stored, logged or shown. On arrival each is:"]))
        blocks.append(
            Bullets([[Code(i), ": " + IDENTIFIER_TREATMENT.get(i, DEFAULT_TREATMENT) + "."] for i in f.identifiers])
        )
    else:
        blocks.append(Para(["This feed has no identifier columns."]))
    blocks.append(Heading(3, ["Validation rules of ", Code(name)], f"rules-{name}"))
    blocks.append(
        Para(
            [
                "A row failing any rule is quarantined with the message shown ({provider} is filled in with the "
                "provider id; the value found in a coded cell is shown beside it, on the provider's own report only). "
                "Rows are numbered from 1, the first data row after the header. "
                "Rules that depend on the submission's period (outside_period) are added when a period is given."
            ]
        )
    )
    blocks.append(
        Table(
            f"Validation rules of {name}",
            ["Rule", "Column", "Message"],
            [[Code(r.name), Code(r.column), r.message] for r in feed_rules(f)],
        )
    )
    return blocks


def _codelist_sections() -> list[Block]:
    lists = codelists()
    used: dict[str, list[str]] = {}
    for name in _feed_names():
        for col in feed(name).columns.values():
            if col.codelist:
                used.setdefault(col.codelist, []).append(f"{name}.{col.name}")
    blocks: list[Block] = [
        Heading(2, ["Code lists"], "codelists"),
        Para([f"Code lists version {codelist_version()}. Every code with its definition."]),
        Bullets([[Link(Code(n), f"#codelist-{n}"), f" ({len(c)} codes)"] for n, c in lists.items()]),
    ]
    countries_version = _countries_version()
    for name, codes in lists.items():
        blocks.append(Heading(3, ["Code list ", Code(name)], f"codelist-{name}"))
        users = used.get(name)
        blocks.append(
            Para(["Used by: ", *_join([Code(u) for u in users]), "."] if users else ["Not used by any feed column."])
        )
        if name == "country":
            blocks.append(
                Para(
                    [
                        "ISO 3166-1 alpha-3"
                        + (f" ({countries_version})" if countries_version else "")
                        + "; the standard's own code for an unknown country is ",
                        Code(UNKNOWN_COUNTRY),
                        ".",
                    ]
                )
            )
        blocks.append(Table(f"Codes of {name}", ["Code", "Definition"], [[Code(c), d] for c, d in codes.items()]))
    return blocks


def _join(parts: list[Inline], sep: str = ", ") -> list[Inline]:
    out: list[Inline] = []
    for i, p in enumerate(parts):
        if i:
            out.append(sep)
        out.append(p)
    return out


def _coverage_section(spec: dict) -> list[Block]:
    coverage = spec.get("coverage") or {}
    keys: list[str] = []
    for codes in coverage.values():
        for entry in (codes or {}).values():
            for k in entry if isinstance(entry, dict) else ["note"]:
                if k not in keys:
                    keys.append(k)
    version = spec.get("version")
    blocks: list[Block] = [
        Heading(2, ["National-law coverage"], "coverage"),
        Para(
            [
                "Codes that national law did not cover in some reporting years"
                + (f" (coverage version {version})" if version is not None else "")
                + ". A count for such a code in a year it was not covered is “not covered by national law”, "
                "never zero. This is the national configuration, not part of the international standard."
            ]
        ),
    ]
    lists = codelists()
    rows: list[list[Cell]] = []
    for column, codes in coverage.items():
        listname = _codelist_of(str(column))
        for code, entry in (codes or {}).items():
            entry = entry if isinstance(entry, dict) else {"note": entry}
            definition = lists.get(listname or "", {}).get(str(code), "")
            rows.append(
                [Code(str(column)), _codelist_link(listname), Code(str(code)), definition]
                + ["" if entry.get(k) is None else str(entry[k]) for k in keys]
            )
    headers = ["Column or code list", "Code list", "Code", "Definition"] + [
        k.replace("_", " ").capitalize() for k in keys
    ]
    blocks.append(Table("National-law coverage", headers, rows))
    return blocks


def _mapping_blocks(path: Path, level: int, standalone: bool = False) -> list[Block]:
    spec = _yaml(path)
    provider = str(spec.get("provider") or path.stem)
    feed_name = str(spec.get("feed") or "")
    lists = codelists()
    blocks: list[Block] = [
        Heading(level, ["Provider ", Code(provider)], f"mapping-{provider}"),
        Para(
            [
                "Feed: ",
                (Code(feed_name) if standalone else Link(Code(feed_name), f"#feed-{feed_name}"))
                if feed_name
                else "(none)",
                ". File: ",
                Code(f"schemas/mappings/{path.name}"),
                ". Local codes match after trimming and ignoring case.",
            ]
        ),
    ]
    rows: list[list[Cell]] = []
    for column, codes in (spec.get("codes") or {}).items():
        listname = _codelist_of(str(column), feed_name or None)
        known = lists.get(listname or "", {})
        for local, standard in (codes or {}).items():
            definition = known.get(str(standard), "(not a standard code)" if listname else "")
            rows.append([Code(str(column)), Code(str(local)), Code(str(standard)), definition])
    if not rows:  # e.g. the synthetic generator's providers beyond the demo's
        return [*blocks, Para(["This provider sends the standard codes."])]
    blocks.append(
        Table(
            f"Code mapping of provider {provider}",
            ["Column", "Local code", "Standard code", "Definition of the standard code"],
            rows,
        )
    )
    return blocks


def _mappings_section() -> list[Block]:
    files = _mapping_files()
    blocks: list[Block] = [
        Heading(2, ["Provider mappings"], "mappings"),
        Para(
            [
                "Each provider's local codes and the standard codes they are translated to. "
                "A provider without a mapping file must send standard codes."
            ]
        ),
    ]
    if not files:
        blocks.append(Para(["No provider has a mapping file."]))
    for path in files:
        blocks += _mapping_blocks(path, 3)
    return blocks


def _research_section() -> list[Block]:
    """The research database's tables, from schemas/research_tables.yaml (the source of its comments too)."""
    suppression, tables = research_tables()
    blocks: list[Block] = [
        Heading(2, ["Research database"], "research"),
        Para(
            [
                "The aggregate tables researchers query in ",
                Code("research.duckdb"),
                " (",
                Code("rapporteur sql --db research"),
                "). The same text is in the database's comments (",
                Code("duckdb_columns().comment"),
                ").",
            ]
        ),
        Para(["How suppression shows: ", suppression]),
        Bullets([[Link(Code(t.name), f"#research-{t.name}"), f": {t.counts}"] for t in tables]),
    ]
    for t in tables:
        blocks += [
            Heading(3, ["Table ", Code(t.name)], f"research-{t.name}"),
            Para([t.description]),
            Bullets([["Counts: ", t.counts], ["Suppression: ", t.suppression]]),
            Table(
                f"Columns of {t.name}",
                ["Column", "Unit", "Description"],
                [[Code(c.name), c.unit or "", c.description] for c in t.columns],
            ),
        ]
    return blocks


def _crosswalk_section() -> list[Block]:
    """The crosswalk of schemas/crosswalks/ictip.yaml: per code, its IC-TIP category and each format's code."""
    spec = crosswalk()
    blocks: list[Block] = [
        Heading(2, ["Crosswalk to IC-TIP and the international formats"], "crosswalk"),
        Para(
            [
                f"Version {spec['version']} of ",
                Code("schemas/crosswalks/ictip.yaml"),
                f" (checked against code lists version {spec['codelist_version']}), used by ",
                Code("rapporteur export glotip|eurostat|sdg"),
                " (docs/exports.md). A dash: the format counts the code in its total only. "
                "A judgement is a choice, not a match.",
            ]
        ),
        Bullets([[Code(name), ": ", " ".join(str(text).split())] for name, text in spec["sources"].items()]),
    ]
    for name, codes in spec["codelists"].items():
        rows: list[list[Cell]] = [
            [Code(str(code))] + [_target_cell(entry[fmt]) for fmt in FORMATS] + [entry.get("judgement", "")]
            for code, entry in codes.items()
        ]
        blocks += [
            Heading(3, ["Code list ", Code(name)], f"crosswalk-{name}"),
            Table(f"Crosswalk of {name}", ["Code", *FORMAT_TITLES, "Judgement"], rows),
        ]
    rows = [
        [Code(group), _target_cell(entry.get("group") or entry.get("code"))]
        + [_target_cell(entry[fmt]) for fmt in FORMATS]
        for group, entry in spec["citizenship"].items()
    ]
    blocks += [
        Heading(3, ["Citizenship groups"], "crosswalk-citizenship"),
        Para(
            [
                "A country code falls into one group: the reporting country (",
                Code("RAPPORTEUR_COUNTRY"),
                "), another member of a group of ",
                Code("countries.yaml"),
                ", any other country, or unknown.",
            ]
        ),
        Table("Crosswalk of citizenship", ["Group", "Countries", *FORMAT_TITLES], rows),
        Heading(3, ["Gaps"], "crosswalk-gaps"),
        Bullets([[" ".join(str(gap).split())] for gap in spec["gaps"]]),
    ]
    return blocks


def _target_cell(value) -> Cell:
    return "–" if value is None else Code(str(value))


def _document() -> tuple[str, list[Block]]:
    version = codelist_version()
    title = f"{TITLE} (code lists version {version})"
    coverage = _coverage()
    names = _feed_names()
    toc: list[list[Inline]] = [[Link("How to read this dictionary", "#how-to-read")]]
    toc += [["Feed ", Link(Code(n), f"#feed-{n}")] for n in names]
    toc += [[Link("Code lists", "#codelists")]]
    toc += [[Link("National-law coverage", "#coverage")]] if coverage is not None else []
    toc += [[Link("Provider mappings", "#mappings")]]
    toc += [[Link("Research database", "#research")]]
    toc += [[Link("Crosswalk to IC-TIP and the international formats", "#crosswalk")]]
    blocks: list[Block] = [
        Heading(1, [title], "top"),
        Para(
            [
                "Generated from ",
                Code("schemas/"),
                " (feeds, code lists, rules, coverage, mappings and research tables); do not edit by hand. "
                f"Code lists version {version}.",
            ]
        ),
        Bullets(toc),
    ]
    blocks += _how_to_read(coverage)
    for n in names:
        blocks += _feed_section(n)
    blocks += _codelist_sections()
    if coverage is not None:
        blocks += _coverage_section(coverage)
    blocks += _mappings_section()
    blocks += _research_section()
    blocks += _crosswalk_section()
    return title, blocks


# --- public API -----------------------------------------------------------------------------------------


def dictionary_markdown() -> str:
    """The data dictionary as Markdown, with explicit anchors (`#codelist-sex`, `#feed-law-enforcement`, ...)."""
    _, blocks = _document()
    return render_markdown(blocks)


def dictionary_html() -> str:
    """The same data dictionary as one self-contained, accessible HTML page (no script, no external asset)."""
    title, blocks = _document()
    return render_html(blocks, title)


def write_dictionary(out_dir: Path) -> tuple[Path, Path]:
    """Write `data-dictionary.md` and `data-dictionary.html` into `out_dir`; return both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / MD_NAME, out_dir / HTML_NAME
    md.write_text(dictionary_markdown(), encoding="utf-8")
    page.write_text(dictionary_html(), encoding="utf-8")
    return md, page


def provider_mapping_markdown(provider: str) -> str:
    """One provider's mapping as Markdown: column, local code -> standard code and its definition."""
    path = HERE / "mappings" / f"{provider}.yaml"
    if not PROVIDER_ID.fullmatch(provider) or not path.exists():
        blocks: list[Block] = [
            Heading(1, ["Provider ", Code(provider)], f"mapping-{provider}"),
            Para(["This provider has no mapping file: it must send the standard codes of the code lists."]),
        ]
    else:
        blocks = _mapping_blocks(path, 1, standalone=True)
    return render_markdown(blocks)
