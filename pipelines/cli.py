"""The `rapporteur` command line: the same steps as the Dagster assets, for people and scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli_keys import keys_app
from pipelines.cli_portal import portal, users_app
from pipelines.cli_support import installation, keyring_or_demo, user_errors
from pipelines.home import Home
from sources.errors import RapporteurError
from sources.inbox import FEEDS

app = typer.Typer(
    help="Collect, validate, pseudonymise and load trafficking data for a national rapporteur.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
FeedOpt = Annotated[str, typer.Option("--feed", help="law-enforcement or victim-assistance")]
PeriodOpt = Annotated[str, typer.Option("--period", help="'all', a year (2024) or a quarter (2024-Q1)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
DBS = {"victims": "victims.duckdb", "law-enforcement": "law_enforcement.duckdb", "research": "research.duckdb"}
EXAMPLE_SQL = "SELECT * FROM victims_by_year_sex ORDER BY reporting_year, sex"
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.command()(portal)


@app.command()
@user_errors
def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extracts to.")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows per feed, split across its providers.")] = 2000,
    providers: Annotated[int, typer.Option("--providers", min=1, help="Providers per feed.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 0,
) -> None:
    """Write synthetic provider extracts of both feeds, with their ground truth."""
    from synthetic.generator import generate

    summary = _with_progress(lambda progress: generate(out, rows, providers, seed, progress), 2 * rows, "generating")
    typer.echo(f"wrote {len(summary['files'])} files to {out} (ground truth in {out / 'ground_truth'})")


@app.command()
@user_errors
def validate(
    file: Annotated[Path, typer.Argument(help="The extract: CSV, XLSX or Parquet.")],
    feed: FeedOpt,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="Your provider id (its code mapping applies); default: from a file named <feed>__<provider>.csv",
        ),
    ] = None,
    period: PeriodOpt = "all",
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="XLSX only: the sheet to read (default: the first).")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write report.html, failures.csv and Great Expectations Data Docs to this folder."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an extract against the common data set; nothing is loaded. Exit 0 valid, 1 failures, 2 unusable.

    Row rules decide the exit code; dataset-level expectations (completeness, share of unknown) only warn.
    """
    from pipelines.steps import check_dataset
    from sources.inbox import check_submission_args

    provider = provider or _provider_from_name(file, feed)
    check_submission_args(feed, provider, period)
    result = _validate_bounded(file, feed, provider, period, sheet, report)
    expectations = check_dataset(result, feed, provider, [], report, file.name, show_values=True)
    warnings = [f"{w.name}: {w.observed} (expected {w.expected})" for w in expectations.warnings]
    failures = result.failures.to_pylist()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "file": file.name,
                    "feed": feed,
                    "provider": provider,
                    "rows_in": result.rows_in,
                    "rows_valid": result.rows_valid,
                    "rows_quarantined": result.rows_quarantined,
                    "failure_count": result.failure_count,
                    "failures": failures,  # the first MAX_HELD; every one is in the report's failures.csv
                    "warnings": warnings,
                    "notes": result.notes,
                    "report": str(report / "report.html") if report else None,
                }
            )
        )
    else:
        _print_failures(result)
        for w in warnings:
            typer.echo(f"warning: {w}")
        typer.echo(
            f"{file.name}: {result.rows_in} rows, {result.rows_valid} valid, "
            f"{result.rows_quarantined} would be quarantined, {len(warnings)} warning(s)"
        )
        if report:
            typer.echo(f"report: {report / 'report.html'}")
    raise typer.Exit(1 if result.failure_count else 0)


def _validate_bounded(file: Path, feed: str, provider: str, period: str, sheet: str | None, report: Path | None):
    """Validate holding the first MAX_HELD failures only; with `report`, every failure is written to its
    `failures.csv` as found (it appears there only when the file could be read to its end)."""
    from pipelines.steps import validate_file
    from schemas.failure_log import MAX_HELD, FailureLog

    if report is None:
        return validate_file(file, feed, provider, period, sheet=sheet, keep_valid=False, failures=FailureLog(MAX_HELD))
    report.mkdir(parents=True, exist_ok=True)
    partial = report / ".failures.csv.partial"
    try:
        with partial.open("wb") as out:
            failures = FailureLog(MAX_HELD, out)
            result = validate_file(file, feed, provider, period, sheet=sheet, keep_valid=False, failures=failures)
        partial.replace(report / "failures.csv")
    finally:
        partial.unlink(missing_ok=True)
    return result


def _print_failures(result) -> None:
    """Notes and the first 50 failures by row, column and rule (the provider's own machine: values shown)."""
    failures = result.failures.slice(0, 50).to_pylist()
    for note in result.notes:
        typer.echo(f"note: {note}")
    for f in failures:
        shown = f" (found '{f['value']}')" if f["value"] is not None else ""
        typer.echo(f"row {f['row_number']}: {f['column_name']}: {f['rule']}: {f['message']}{shown}")
    if result.failure_count > len(failures):
        typer.echo(
            f"... and {result.failure_count - len(failures)} more failures (validate --report DIR lists them all "
            "in DIR/failures.csv)"
        )


@app.command()
@user_errors
def prepare(
    file: Annotated[Path, typer.Argument(help="Your extract: CSV, XLSX or Parquet.")],
    feed: FeedOpt,
    out: Annotated[Path, typer.Option("--out", help="The prepared extract to write (.parquet).")],
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", help="The key file the bureau issued to you (default: the keyring of this installation)."
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Your provider id (default: from the file name).")
    ] = None,
    period: PeriodOpt = "all",
) -> None:
    """Pseudonymise an extract on your own machine: the output holds tokens and generalised fields only.

    Rows that fail validation are left out and listed (exit 1); submit the .parquet file as usual.
    """
    from pipelines.steps import prepare_file
    from privacy.keys import load_provider_keys
    from privacy.pseudonymise import first_level_keys
    from sources.inbox import check_submission_args

    provider = provider or _provider_from_name(file, feed)
    check_submission_args(feed, provider, period)
    if out.suffix != ".parquet":
        raise RapporteurError(f"{out.name}: the prepared extract must be a .parquet file")
    keys = load_provider_keys(key_file) if key_file else first_level_keys(Home.from_env().keyring()[0])
    result, rows = prepare_file(file, feed, provider, period, keys, out)
    _print_failures(result)
    typer.echo(
        f"wrote {out} ({rows} rows; {result.rows_quarantined} left out, listed above); "
        "it holds no names, dates of birth, document numbers, phones or addresses"
    )
    raise typer.Exit(1 if result.rows_quarantined else 0)


@app.command()
@user_errors
def submit(
    file: Annotated[Path, typer.Argument(help="The extract to submit.")],
    feed: FeedOpt,
    provider: Annotated[str, typer.Option("--provider", help="Your provider id, e.g. ngo-harbour.")],
    period: PeriodOpt = "all",
) -> None:
    """Place a file in the inbox (atomically); the next run picks it up."""
    from sources.inbox import check_submission_args

    check_submission_args(feed, provider, period)  # before anything is created
    home = installation()
    sub, new = home.sealed_inbox(keyring_or_demo(home)).place(file, feed, provider, period)
    if new:
        typer.echo(f"submitted {file.name} as {sub.submission_id} ({feed}, {provider}, period {period})")
    else:
        typer.echo(f"{file.name} was already received as {sub.submission_id} (status {sub.status}); nothing to do")


@app.command()
@user_errors
def ingest(
    file: Annotated[Path, typer.Argument(help="The extract to ingest.")],
    feed: FeedOpt,
    provider: Annotated[str, typer.Option("--provider", help="The provider id.")],
    period: PeriodOpt = "all",
    as_json: JsonOpt = False,
) -> None:
    """Take one submission through validation, pseudonymisation and loading now. Exit 1 if rows were quarantined."""
    from pipelines.steps import ingest_file
    from sources.inbox import check_submission_args

    check_submission_args(feed, provider, period)
    home = installation()
    keyring = keyring_or_demo(home)
    inbox = home.sealed_inbox(keyring)
    outcome = ingest_file(home, inbox, file, feed, provider, period, keyring)
    if as_json:
        typer.echo(json.dumps(outcome.as_dict()))
    else:
        typer.echo(
            f"{outcome.submission_id}: {outcome.status}, {outcome.rows_in} rows in, "
            f"{outcome.rows_loaded} loaded, {outcome.rows_quarantined} quarantined"
            + (f" ({outcome.message})" if outcome.message else "")
        )
    _fail_unless_reconciled(home, inbox, keyring, [feed])
    raise typer.Exit(1 if outcome.rows_quarantined else 0)


@app.command()
@user_errors
def run(
    demo_rows: Annotated[
        int, typer.Option("--demo-rows", min=1, help="Rows per feed of the demo data placed when the inbox is empty.")
    ] = 3000,
) -> None:
    """Run the main job: ingest every waiting submission of both feeds and rebuild the research database."""
    from pipelines.runner import place_demo_submissions, run_main_job, summary_lines
    from schemas.dictionary import write_dictionary

    home = installation()
    keyring = keyring_or_demo(home)
    inbox = home.sealed_inbox(keyring)
    if inbox.is_empty():
        placed = place_demo_submissions(home, inbox, demo_rows)
        typer.echo(f"inbox was empty: placed {placed} demo submissions from the sample generator")
    failures = _with_spinner(lambda: run_main_job(home), "running the main job")
    write_dictionary(home.reports)
    for line in summary_lines(home, inbox, keyring.key("database")):
        typer.echo(line)
    for line in failures:
        typer.echo(f"rapporteur: {line}", err=True)
    _fail_unless_reconciled(home, inbox, keyring, FEEDS)
    if failures:
        raise typer.Exit(1)
    typer.echo(f'try:  rapporteur sql --db research -c "{EXAMPLE_SQL}"')


@app.command()
@user_errors
def report(
    year: Annotated[int, typer.Option("--year", help="The reporting year.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The HTML file (default: reports/annual-report-YEAR.html).")
    ] = None,
) -> None:
    """Write the annual report for YEAR: trends against baseline, disaggregations, funnel, overlap, hidden
    population, shortfalls and gaps; one self-contained HTML file from the research database."""
    from reporting import write_annual_report

    home = Home.from_env()
    research = home.warehouse / DBS["research"]
    if not research.exists():
        raise RapporteurError(f"{research} does not exist yet; run `make run` (or `rapporteur run`) first")
    out = out or home.reports / f"annual-report-{year}.html"
    try:
        path = write_annual_report(research, year, out, k=home.disclosure_k())
    except ValueError as exc:
        raise RapporteurError(str(exc)) from None
    typer.echo(f"wrote {path}")


@app.command()
@user_errors
def mse(
    file: Annotated[Path, typer.Argument(help="Capture histories: one 0/1 column per list and a `count` column.")],
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates (0: none).")] = 1000,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the bootstrap.")] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="conditional: SparseMSE's bootstrap (resamples the observed cases); population: also lets the "
            "number observed vary, wider intervals that cover better (docs/mse.md).",
        ),
    ] = "conditional",
    as_json: JsonOpt = False,
) -> None:
    """Estimate the hidden population by multiple systems estimation (as R's SparseMSE, stepwise)."""
    from estimation import MSEInputError, estimate, read_capture_histories

    try:
        lists, histories, counts = read_capture_histories(file)
        result = estimate(lists, histories, counts, nboot=bootstrap, seed=seed, method=method)
    except MSEInputError as exc:
        raise RapporteurError(f"{file.name}: {exc}") from None
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(f"observed: {result.observed}")
    typer.echo(f"estimated population: {result.estimate:.1f}")
    typer.echo(f"model: {' + '.join(result.model)}")
    for name, (low, high) in result.intervals.items():
        typer.echo(f"{name} interval (BCa, {bootstrap} {method} replicates): {low:.1f} to {high:.1f}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}")


@app.command()
@user_errors
def sql(
    db: Annotated[str, typer.Option("--db", help="victims, law-enforcement or research")] = "research",
    command: Annotated[str | None, typer.Option("-c", "--command", help="Run one query and exit.")] = None,
) -> None:
    """Query a database read-only: one query with -c, else statements from standard input.

    The research database needs no key. The two repositories are encrypted: opening them needs the
    bureau's keyring (and its passphrase in RAPPORTEUR_KEY_PASSPHRASE when it is protected).
    """
    from pipelines.sql_shell import run_sql

    if db not in DBS:
        raise RapporteurError(f"unknown database '{db[:40]}': use one of {', '.join(DBS)}")
    home = Home.from_env()
    path = home.warehouse / DBS[db]
    if not path.exists():
        raise RapporteurError(f"{path} does not exist yet; run `make run` (or `rapporteur run`) first")
    key = None if db == "research" else home.keyring()[0].key("database")
    run_sql(path, command, key)


@app.command()
@user_errors
def status(
    failures: Annotated[int, typer.Option("--failures", min=0, help="How many recent failed runs to list.")] = 10,
) -> None:
    """Show the submissions per feed and status, and the latest failed runs (from the inbox ledger)."""
    from collections import Counter

    from sources.inbox import Inbox

    inbox = Inbox(Home.from_env().inbox)
    counts = Counter((r["feed"], r["status"]) for r in inbox.ledger())
    for feed in sorted({f for f, _ in counts}):
        typer.echo(f"{feed}: " + ", ".join(f"{n} {s}" for (f, s), n in sorted(counts.items()) if f == feed))
    if not counts:
        typer.echo("no submissions yet")
    recent = inbox.run_failures(failures)
    typer.echo(f"failed runs: {len(recent) or 'none'}")
    for r in recent:
        typer.echo(f"  {r['failed_at']}  {r['job']}  step {r['step']}  {r['error_type']}  run {r['run_id']}")


def _fail_unless_reconciled(home: Home, inbox, keyring, feeds) -> None:
    """Exit 1, loudly, when any submission's rows do not add up (rows_in = loaded + quarantined, as stored)."""
    from warehouse.accounting import unreconciled

    ledger = inbox.ledger()
    problems = [p for f in feeds for p in unreconciled(home.warehouse, f, keyring.key("database"), ledger)]
    for problem in problems:
        typer.echo(f"rapporteur: {problem}", err=True)
    if problems:
        raise typer.Exit(1)


def _provider_from_name(file: Path, feed: str) -> str:
    stem = file.name.split(".")[0]
    prefix = f"{feed}__"
    if stem.startswith(prefix):
        return stem[len(prefix) :]
    raise RapporteurError(f"{file.name}: give --provider (or name the file {feed}__<provider>.csv)")


def _with_progress(work, total: int, label: str):
    if not sys.stderr.isatty():
        return work(None)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        return work(lambda n: bar.update(task, completed=n))


def _with_spinner(work, label: str):
    if not sys.stderr.isatty():
        return work()
    from rich.console import Console

    with Console(stderr=True).status(label):
        return work()


def main() -> None:  # pragma: no cover - the console script
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
