"""The `rapporteur` command line: the same steps as the Dagster assets, for people and scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from application.home import Home
from cli.cycle import agreements_app, period_app, release_app, revision_app
from cli.disclosure import disclosure_app
from cli.dp import dp_app
from cli.export import export_app
from cli.keys import keys_app
from cli.portal import portal, users_app
from cli.support import installation, keyring_or_demo, user_errors
from errors import RapporteurError
from schemas.standard import FEEDS

app = typer.Typer(
    help="Collect, validate, pseudonymise and load trafficking data for a national rapporteur.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
FeedOpt = Annotated[str, typer.Option("--feed", help="law-enforcement or victim-assistance")]
PeriodOpt = Annotated[str, typer.Option("--period", help="'all', a year (2024) or a quarter (2024-Q1)")]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="XLSX only: the sheet to read (default: the one whose first row is the header)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
ReasonOpt = Annotated[
    str | None,
    typer.Option("--reason", help="Why you resubmit a period the bureau has approved (locked); never a name."),
]
DBS = {"victims": "victims.duckdb", "law-enforcement": "law_enforcement.duckdb", "research": "research.duckdb"}
ROW_NUMBERS = "rows are numbered from 1, the first data row after the header"
EXAMPLE_SQL = "SELECT * FROM victims_by_year_sex ORDER BY reporting_year, sex"
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(period_app, name="period")
app.add_typer(revision_app, name="revision")
app.add_typer(release_app, name="release")
app.add_typer(agreements_app, name="agreements")
app.add_typer(disclosure_app, name="disclosure")
app.add_typer(export_app, name="export")
app.add_typer(dp_app, name="dp-release")
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
    written = summary["files"]["written"]
    truth = [name for name in written if name.startswith("ground_truth/")]
    typer.echo(
        f"wrote {len(written)} files to {out}: {len(written) - len(truth)} extracts, "
        f"and the ground truth ({len(truth)} files) in {out / 'ground_truth'}"
    )
    for skipped in summary["files"]["skipped"]:
        typer.echo(f"skipped {skipped['file']}: {skipped['reason']}")
    from schemas.providers import providers as registered

    extra = [p for ids in summary["providers"].values() for p in ids if p not in registered()]
    if extra:
        typer.echo(
            f"note: {', '.join(extra)} are not registered providers, so validate and ingest refuse their files "
            "until each has a file in schemas/mappings/ (see its README)"
        )


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
    sheet: SheetOpt = None,
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
    from application.steps import check_dataset
    from schemas.providers import check_submission

    provider = provider or _provider_from_name(file, feed)
    check_submission(feed, provider, period)
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
                    "row_numbers": ROW_NUMBERS,
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
    from application.steps import validate_file
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
    if failures:
        typer.echo(ROW_NUMBERS)
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
    sheet: SheetOpt = None,
) -> None:
    """Pseudonymise an extract on your own machine: the output holds tokens and generalised fields only.

    Rows that fail validation are left out and listed (exit 1); submit the .parquet file as usual.
    """
    from application.steps import prepare_file
    from privacy.keys import load_provider_keys
    from privacy.pseudonymise import first_level_keys
    from schemas.providers import check_submission

    provider = provider or _provider_from_name(file, feed)
    check_submission(feed, provider, period)
    if out.suffix != ".parquet":
        raise RapporteurError(f"{out.name}: the prepared extract must be a .parquet file")
    keys = load_provider_keys(key_file) if key_file else first_level_keys(installation("never").keyring()[0])
    result, rows = prepare_file(file, feed, provider, period, keys, out, sheet)
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
    reason: ReasonOpt = None,
    sheet: SheetOpt = None,
) -> None:
    """Place a file in the inbox (atomically); the next run picks it up. A file for a period the bureau has
    approved is held as a proposed revision until the bureau accepts it (give --reason)."""
    from schemas.providers import check_submission

    check_submission(feed, provider, period)  # before anything is created
    home = installation()
    sub, new = home.sealed_inbox(keyring_or_demo(home)).place(file, feed, provider, period, reason, sheet)
    if new and sub.status == "held":
        typer.echo(
            f"submitted {file.name} as {sub.submission_id} ({feed}, {provider}, period {period}): the period is "
            "approved and locked, so it is held as a proposed revision until the bureau accepts it"
        )
    elif new:
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
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
    reason: ReasonOpt = None,
) -> None:
    """Take one submission through validation, pseudonymisation and loading now. Exit 1 if rows were quarantined.

    A file for a period the bureau has approved is only held as a proposed revision (status `held`)."""
    from application.steps import ingest_file
    from schemas.providers import check_submission

    check_submission(feed, provider, period)
    home = installation()
    keyring = keyring_or_demo(home)
    inbox = home.sealed_inbox(keyring)
    outcome = ingest_file(home, inbox, file, feed, provider, period, keyring, reason, sheet)
    # What is done is done: a check that cannot run now says so, and never turns a load into a failure.
    checked = _reconcile(home, inbox, keyring, [feed])
    if as_json:
        typer.echo(json.dumps(outcome.as_dict() | {"reconciliation": checked.as_dict()}))
    else:
        typer.echo(
            f"{outcome.submission_id}: {outcome.status}, {outcome.rows_in} rows in, "
            f"{outcome.rows_loaded} loaded, {outcome.rows_quarantined} quarantined"
            + (f" ({outcome.message})" if outcome.message else "")
            + _unchecked(checked)
        )
    raise typer.Exit(1 if checked.problems or outcome.rows_quarantined else 0)


@app.command()
@user_errors
def run(
    demo_rows: Annotated[
        int, typer.Option("--demo-rows", min=1, help="Rows per feed of the demo data placed when the inbox is empty.")
    ] = 3000,
) -> None:
    """Run the main job: ingest every waiting submission of both feeds and rebuild the research database."""
    from application.run import place_demo_submissions, run_account, summary_lines
    from pipelines.runner import run_main_job
    from schemas.dictionary import write_dictionary

    home = installation("here")
    keyring = keyring_or_demo(home)
    inbox = home.sealed_inbox(keyring)
    if inbox.is_empty():
        placed = place_demo_submissions(home, inbox, demo_rows)
        typer.echo(f"inbox was empty: placed {placed} demo submissions from the sample generator")
    before = inbox.ledger()
    failures = _with_spinner(lambda: run_main_job(home), "running the main job")
    write_dictionary(home.reports)
    typer.echo(run_account(before, inbox.ledger()))
    for line in summary_lines(home, inbox, keyring.key("database")):
        typer.echo(line)
    for line in failures:
        typer.echo(f"rapporteur: {line}", err=True)
    checked = _reconcile(home, inbox, keyring, FEEDS)
    if checked.unchecked:
        typer.echo(f"reconciliation{_unchecked(checked)}")
    if failures or checked.problems:
        raise typer.Exit(1)
    typer.echo(f'try:  rapporteur sql --db research -c "{EXAMPLE_SQL}"')


@app.command()
@user_errors
def report(
    year: Annotated[int, typer.Option("--year", help="The reporting year.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The HTML file (default: reports/annual-report-YEAR.html).")
    ] = None,
    dp_release: Annotated[
        str | None,
        typer.Option("--dp-release", help="Draw the public figures from this DP release (e.g. 2025-dp1), with bounds."),
    ] = None,
) -> None:
    """Write the annual report for YEAR: trends against baseline, disaggregations, funnel, overlap, hidden
    population, shortfalls and gaps; one self-contained HTML file from the research database."""
    from application.cycle import published_revisions
    from intake.inbox import Inbox
    from reporting import write_annual_report
    from warehouse.dp_release import dp_release_folder

    home = installation("never")
    research = home.warehouse / DBS["research"]
    if not research.exists():
        raise RapporteurError(f"{research} does not exist yet; run `make run` (or `rapporteur run`) first")
    out = out or home.reports / f"annual-report-{year}.html"
    try:
        revised = published_revisions(home, Inbox(home.inbox))
        dp_folder = dp_release_folder(home.releases, dp_release) if dp_release else None
        path = write_annual_report(
            research, year, out, k=home.settings.disclosure_k, revisions=revised, dp_release=dp_folder
        )
    except ValueError as exc:
        raise RapporteurError(str(exc)) from None
    typer.echo(f"wrote {path}")


@app.command()
@user_errors
def mse(
    file: Annotated[Path, typer.Argument(help="Capture histories: one 0/1 column per list and a `count` column.")],
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates (0: none).")] = 1000,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the bootstrap or of the posterior sample.")
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="stepwise (SparseMSE), bic (BIC over hierarchical models) or bayes (Bayesian thresholding), as "
            "MultipleSystemsEstimation; all: the three and the combined statement (docs/mse.md).",
        ),
    ] = "stepwise",
    resample: Annotated[
        str,
        typer.Option(
            "--resample",
            help="Bootstrap of stepwise and bic. conditional: resamples the observed cases (the R packages'); "
            "population: also lets the number observed vary, wider intervals that cover better.",
        ),
    ] = "conditional",
    as_json: JsonOpt = False,
) -> None:
    """Estimate the hidden population by multiple systems estimation (stepwise, BIC or Bayesian thresholding)."""
    from estimation import MSEInputError, read_capture_histories
    from estimation.methods import available, combine, run_method

    if method in ("conditional", "population"):  # the option's meaning before the three methods
        method, resample = "stepwise", method
    if method not in ("stepwise", "bic", "bayes", "all"):
        raise RapporteurError(f"--method must be stepwise, bic, bayes or all, not {method!r}")
    try:
        lists, histories, counts = read_capture_histories(file)
        methods = available(len(lists)) if method == "all" else (method,)
        results = {
            m: run_method(m, lists, histories, counts, nboot=bootstrap, seed=seed, resample=resample) for m in methods
        }
        combined = combine(results) if method == "all" else None
    except MSEInputError as exc:
        raise RapporteurError(f"{file.name}: {exc}") from None
    if as_json:
        payload = results[method].as_dict() if combined is None else {m: r.as_dict() for m, r in results.items()}
        if combined is not None:
            payload["combined"] = {"estimate": combined.estimate, "intervals": combined.intervals}
        typer.echo(json.dumps(payload))
        return
    for name, result in results.items():
        if len(results) > 1:
            typer.echo(f"== {name}")
        typer.echo(f"observed: {result.observed}")
        typer.echo(f"estimated population: {result.estimate:.1f}")
        typer.echo(f"model: {' + '.join(result.model)}")
        kind = "posterior" if name == "bayes" else f"BCa, {bootstrap} {resample} replicates"
        for level, (low, high) in result.intervals.items():
            typer.echo(f"{level} interval ({kind}): {low:.1f} to {high:.1f}")
        for warning in result.warnings:
            typer.echo(f"warning: {warning}")
    if combined is not None:
        typer.echo("== combined (median of the estimates, envelope of the intervals)")
        typer.echo(f"estimated population: {combined.estimate:.1f}")
        for level, (low, high) in combined.intervals.items():
            typer.echo(f"{level} range: {low:.1f} to {high:.1f}")
        typer.echo(
            f"the methods' estimates run from {combined.lowest[1]:.1f} ({combined.lowest[0]}) to "
            f"{combined.highest[1]:.1f} ({combined.highest[0]}), {combined.spread:.0%} apart"
        )


@app.command()
@user_errors
def sql(
    db: Annotated[str, typer.Option("--db", help="victims, law-enforcement or research")] = "research",
    command: Annotated[str | None, typer.Option("-c", "--command", help="Run one query and exit.")] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Why you open a repository (victims, law-enforcement): kept in the access log."),
    ] = None,
) -> None:
    """Query a database read-only: one query with -c, else statements from standard input.

    The research database needs no key. The two repositories are encrypted: opening them needs the
    bureau's keyring (and its passphrase in RAPPORTEUR_KEY_PASSPHRASE when it is protected) and a
    --purpose, which the access log keeps with who opened them and when.
    """
    from cli.sql_shell import run_sql
    from privacy import access_log

    if db not in DBS:
        raise RapporteurError(f"unknown database '{db[:40]}': use one of {', '.join(DBS)}")
    if db != "research":
        if not (purpose or "").strip():
            raise RapporteurError(f"opening the {db} repository needs --purpose (why; kept in the access log)")
        access_log.act_as("sql", f"sql --db {db}", purpose=purpose)
    home = installation("never")
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

    from intake.inbox import Inbox

    home = installation("never")
    inbox = Inbox(home.inbox)
    counts = Counter((r["feed"], r["status"]) for r in inbox.ledger())
    for feed in sorted({f for f, _ in counts}):
        typer.echo(f"{feed}: " + ", ".join(f"{n} {s}" for (f, s), n in sorted(counts.items()) if f == feed))
    if not counts:
        typer.echo("no submissions yet")
    recent = inbox.run_failures(failures)
    typer.echo(f"failed runs: {len(recent) or 'none'}")
    for r in recent:
        typer.echo(f"  {r['failed_at']}  {r['job']}  step {r['step']}  {r['error_type']}  run {r['run_id']}")
    _status_reconciliation(home, inbox)


def _status_reconciliation(home: Home, inbox) -> None:
    """Whether the repositories' counts add up, when there are any and the keyring opens (exit 1 if not)."""
    if not any(home.warehouse.glob("*.duckdb")):
        return
    try:
        keyring = home.keyring()[0]
    except RapporteurError as exc:
        typer.echo(f"reconciliation: not checked ({exc})")
        return
    checked = _reconcile(home, inbox, keyring, FEEDS)
    if checked.unchecked:
        typer.echo(f"reconciliation: not checked: {', '.join(checked.unchecked)}; try again when it has finished")
    elif not checked.problems:
        typer.echo("reconciliation: every submission's rows add up")
    if checked.problems:
        raise typer.Exit(1)


def _reconcile(home: Home, inbox, keyring, feeds):
    """Whether every submission's rows add up (rows_in = loaded + quarantined, as stored); each problem is
    said on stderr (the caller exits 1)."""
    from warehouse.accounting import reconcile

    checked = reconcile(home.warehouse, feeds, keyring.key("database"), inbox.ledger())
    for problem in checked.problems:
        typer.echo(f"rapporteur: {problem}", err=True)
    return checked


def _unchecked(checked) -> str:
    """The end of a command's line when its reconciliation could not run ('' when it did)."""
    if not checked.unchecked:
        return ""
    return f"; not reconciled yet: {', '.join(checked.unchecked)} (run `rapporteur status` later to check the counts)"


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


@app.command()
@user_errors
def audit(
    last: Annotated[int, typer.Option("--last", min=0, help="How many of the latest entries to list (0: all).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List the access log (who opened a repository, escrow, linkage store or keyring, or acted in the portal:
    when, through which command, and why) and verify its chain; exit 1 when it was tampered with."""
    from privacy import access_log

    home = installation("never")
    keyring, _ = home.keyring()
    path = home.audit / access_log.LOG_FILE
    problems = access_log.verify(path, keyring.key("access-log"))
    found = access_log.entries(path) if not any("not an entry" in p for p in problems) else []
    shown = found[-last:] if last else found
    if as_json:
        typer.echo(json.dumps({"entries": shown, "total": len(found), "problems": problems}))
    else:
        for e in shown:
            why = f"  purpose: {e['purpose']}" if e.get("purpose") else ""
            typer.echo(f"{e['at']}  {e['who']}  {e['via']}:{e['command']}  {e['action']} {e['target']}{why}")
        typer.echo(f"{len(found)} entries; " + ("chain intact" if not problems else f"{len(problems)} problem(s)"))
    for p in problems:
        typer.echo(f"rapporteur: access log: {p}", err=True)
    if problems:
        raise typer.Exit(1)


@app.command()
@user_errors
def purge(
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, help="Retention in days after the load (default RAPPORTEUR_RETENTION_DAYS or 365)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")] = False,
) -> None:
    """Remove the raw content (sealed file, staging, validation report) of submissions loaded or rejected more
    than the retention period ago; the ledger keeps their counts. Says what it removed."""
    from application.retention import purge as purge_old
    from intake.inbox import Inbox

    home = installation("never")
    keep = days or home.settings.retention_days
    done = purge_old(home, Inbox(home.inbox), keep, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for p in done:
        typer.echo(f"{p.submission_id} ({p.provider}, {p.status} {p.since[:10]}): {verb} {', '.join(p.removed)}")
    typer.echo(
        f"{len(done)} submission(s) past {keep} days: {verb} their raw content"
        if done
        else f"nothing is older than {keep} days after its load"
    )
