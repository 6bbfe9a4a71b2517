"""`rapporteur dp-release`: differentially private tables and synthetic records for the public, under a budget."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.support import installation, user_errors

dp_app = typer.Typer(
    help="Differentially private public releases (tables, synthetic records) and the privacy budget.",
    no_args_is_help=True,
)

Year = Annotated[int, typer.Option("--year", help="The release's year: its tables end there; its budget year.")]
Epsilon = Annotated[float, typer.Option("--epsilon", help="The privacy loss this release spends (epsilon).")]
FromYear = Annotated[
    int | None, typer.Option("--from-year", help="First year of the release's tables (default: --year alone).")
]
MaxYears = Annotated[int, typer.Option("--max-years", help="Person-years of one person kept in the release.")]
MaxForms = Annotated[int, typer.Option("--max-forms", help="Exploitation forms of one person-year kept.")]


def _clipping(year: int, from_year: int | None, max_years: int, max_forms: int):
    from warehouse.dp_release import Clipping

    return Clipping(year, from_year or year, max_years, max_forms).check()


def _keys():
    home = installation("never")
    keyring, _ = home.keyring(create_demo=False)
    return home, keyring.key("database")


@dp_app.command()
@user_errors
def make(
    epsilon: Epsilon,
    year: Year,
    from_year: FromYear = None,
    max_years: MaxYears = 1,
    max_forms: MaxForms = 2,
) -> None:
    """Publish DP indicator tables (unique victims by disaggregation, suspects by stage, convictions) with
    their 95% bounds under releases/dp/; refused when it would exceed the year's budget."""
    from warehouse.dp_release import make_dp_release

    clip = _clipping(year, from_year, max_years, max_forms)
    home, key = _keys()
    path, manifest = make_dp_release(home.releases, home.warehouse, key, clip, epsilon)
    typer.echo(f"{path}: {sum(t['cells'] for t in manifest['tables'])} cells, epsilon {manifest['epsilon']:g} spent")


@dp_app.command()
@user_errors
def synth(
    epsilon: Epsilon,
    year: Year,
    from_year: FromYear = None,
    max_years: MaxYears = 1,
) -> None:
    """Publish DP synthetic victim records under releases/dp/, and the bureau's utility report (not public)."""
    from warehouse.dp_release import make_synthetic_release

    clip = _clipping(year, from_year, max_years, 1)
    home, key = _keys()
    path, manifest, report = make_synthetic_release(home.releases, home.reports, home.warehouse, key, clip, epsilon)
    summary = json.loads(report.read_text())["summary"]
    typer.echo(f"{path}: {manifest['rows']} synthetic records, epsilon {manifest['epsilon']:g} spent")
    typer.echo(
        f"utility (bureau only, {report}): mean distance of one-way tables {summary['one_way_mean_tvd']:g}, "
        f"of two-way tables {summary['two_way_mean_tvd']:g} (0 = identical shares, 1 = disjoint)"
    )


@dp_app.command()
@user_errors
def budget(
    year: Annotated[int | None, typer.Option("--year", help="The budget year to show or set.")] = None,
    set_epsilon: Annotated[float | None, typer.Option("--set", help="Set the year's budget (epsilon).")] = None,
    delta: Annotated[float, typer.Option("--delta", help="The year's delta, with --set (default 0).")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The privacy budget per year: allowed, spent by which releases, left. With --year and --set, set it."""
    from errors import UnusableInput
    from privacy.dp_budget import BudgetLedger
    from warehouse.dp_release import DP_FOLDER

    home = installation("never")
    ledger = BudgetLedger(home.releases / DP_FOLDER)
    if set_epsilon is not None:
        if year is None:
            raise UnusableInput("--set needs --year: the budget is set per year")
        ledger.set_budget(year, set_epsilon, delta)
    years = [ledger.year(year)] if year is not None else ledger.years()
    if as_json:
        typer.echo(json.dumps([y.as_dict() for y in years]))
        return
    if not years:
        typer.echo("no budget set and no release made yet")
    for y in years:
        typer.echo(
            f"{y.year}: budget epsilon {y.epsilon:g} (delta {y.delta:g}), spent {y.spent_epsilon:g}, "
            f"left {y.left_epsilon:g}; releases: {', '.join(y.releases) or 'none'}"
        )
