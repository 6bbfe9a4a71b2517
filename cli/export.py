"""`rapporteur export glotip|eurostat|sdg`: the international exports of one reporting year or a range."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.support import installation, user_errors

export_app = typer.Typer(
    help="International exports from the published figures: UNODC's GLOTIP, Eurostat's crim_thb, SDG 16.2.2.",
    no_args_is_help=True,
)
YearOpt = Annotated[int, typer.Option("--year", min=1900, max=2100, help="The (first) reporting year.")]
ToOpt = Annotated[int | None, typer.Option("--to", min=1900, max=2100, help="The last reporting year of a range.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder to write the export into (created if needed).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
ReleaseOpt = Annotated[
    str | None,
    typer.Option(
        "--release", help="Export the figures of a release (e.g. 2025-r1) instead of the research database now."
    ),
]


def _export(
    kind: str,
    year: int,
    to: int | None,
    out: Path,
    as_json: bool,
    release_name: str | None,
    population: Path | None = None,
) -> None:
    from reporting.exports.run import make_export, year_range
    from warehouse.protection import RECORD_FILE, read_record
    from warehouse.research import RESEARCH_FILE

    years = year_range(year, to)
    home = installation("never")  # an export needs an installation that has run; it never creates one
    country = home.settings.country
    chosen = None
    if release_name is not None:
        from reporting.releases import release

        chosen = release(home.releases, release_name)
    keyring, _ = home.keyring(create_demo=False)
    record = read_record(home.warehouse / RECORD_FILE, keyring.key("database"))
    result = make_export(
        kind,
        home.warehouse / RESEARCH_FILE,
        years,
        out,
        country,
        record,
        home.settings.disclosure_k,
        population,
        chosen,
    )
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]} to {years[-1]}"
    typer.echo(f"{kind} export of {span} ({country}) in {out}:")
    for path in result.files:
        typer.echo(f"  {path.name}")
    cells = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(result.statuses.items()))
    typer.echo(f"cells: {cells}")
    source = f"release {release_name}" if release_name else "the research database"
    typer.echo(f"checked: every file read back against its structure; totals agree with {source}")
    if "skipped" in result.audit:
        typer.echo(
            f"disclosure audit not run ({result.audit['skipped']}); sums are shown only where its cells give them"
        )
    else:
        typer.echo(f"the disclosure audit with the export's {result.audit['export_sums']} new sums finds nothing new")


@export_app.command()
@user_errors
def glotip(year: YearOpt, out: OutOpt, to: ToOpt = None, release: ReleaseOpt = None, as_json: JsonOpt = False) -> None:
    """UNODC's GLOTIP questionnaire tables as glotip.xlsx and one CSV per table."""
    _export("glotip", year, to, out, as_json, release)


@export_app.command()
@user_errors
def eurostat(
    year: YearOpt, out: OutOpt, to: ToOpt = None, release: ReleaseOpt = None, as_json: JsonOpt = False
) -> None:
    """Eurostat's crim_thb dataflows as SDMX-CSV (schemas/sdmx/crim_thb.xml), with Eurostat's flags."""
    _export("eurostat", year, to, out, as_json, release)


@export_app.command()
@user_errors
def sdg(
    year: YearOpt,
    out: OutOpt,
    population: Annotated[
        Path,
        typer.Option(
            "--population",
            help="National population figures (CSV: year,sex,age,population; docs/exports.md).",
        ),
    ],
    to: ToOpt = None,
    release: ReleaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """SDG 16.2.2 as SDMX-CSV (schemas/sdmx/sdg_16_2_2.xml): detected victims, number and per 100,000 population."""
    _export("sdg", year, to, out, as_json, release, population)
