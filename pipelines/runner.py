"""Run the pipeline in-process on the installation's Dagster instance, and summarise what it did."""

from __future__ import annotations

import re
from collections import Counter

import dagster as dg

from errors import RepositoryBusy
from intake.inbox import Inbox
from pipelines.analysis import years_with_data
from pipelines.definitions import build_defs
from pipelines.home import Home
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB, WAITING, ingest_job_name
from pipelines.partitions import (
    YEARS,
    reporting_periods,
    submission_key,
    submission_partitions,
    submission_tags,
)
from pipelines.resources import rapporteur_resource
from pipelines.sensors import scan_settled, waiting_submissions
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec
from warehouse.repository import repository_counts, repository_path
from warehouse.research import RESEARCH_FILE

SAMPLE_NAME = re.compile(r"(?P<feed>law-enforcement|victim-assistance)__(?P<provider>[a-z0-9-]+)\.csv\Z")


def place_demo_submissions(home: Home, inbox: Inbox, rows: int, seed: int = 0) -> int:
    """Generate demo extracts of both feeds under samples/ and submit each provider's CSV."""
    from synthetic.generator import generate

    generate(home.samples, rows=rows, providers=3, seed=seed)
    placed = 0
    for path in sorted(home.samples.glob("*.csv")):
        m = SAMPLE_NAME.match(path.name)  # skips the .cp1252.csv variant: same rows, other encoding
        if m:
            inbox.place(path, m["feed"], m["provider"], "all")
            placed += 1
    return placed


def run_main_job(home: Home) -> list[str]:
    """Run every waiting submission as its own partition, then the analysis; one line per failure (none: success).

    What the sensors and schedules do over time, in one go: register the waiting submissions as
    partitions, run each one's ingestion, rebuild the research database and the hidden-population
    estimate, write the annual report of the latest complete year with data, and check which
    providers submitted for the last complete reporting period.
    """
    cadence = home.settings.reporting_period
    defs = build_defs(cadence, rapporteur_resource(home.settings, home.root))
    keyring, _ = home.keyring(create_demo=True)
    inbox = home.sealed_inbox(keyring)
    scan_settled(inbox)
    failures: list[str] = []
    with open_instance(home) as instance:
        for feed_name in FEEDS:
            waiting = waiting_submissions(inbox, feed_name)
            if not waiting:
                continue
            instance.add_dynamic_partitions(submission_partitions(feed_name).name, [submission_key(s) for s in waiting])
            job = defs.resolve_job_def(ingest_job_name(feed_name))
            for sub in waiting:
                label = f"submission {sub.submission_id} ({sub.provider})"
                lines = execute(job, instance, label, submission_key(sub), submission_tags(sub))
                record = inbox.record(sub.submission_id)
                if record["status"] == "rejected":  # its blocking check stopped the run: say why, once
                    lines = [f"{label} rejected: {record['message']}"]
                failures += lines
        analysis = execute(defs.resolve_job_def(ANALYSIS_JOB), instance, "analysis")
        failures += analysis
        years = [str(y) for y in years_with_data(home.warehouse / RESEARCH_FILE)]
        complete = [y for y in years if YEARS.has_partition_key(y)]
        if complete and not analysis:
            failures += execute(
                defs.resolve_job_def(ANNUAL_REPORT_JOB), instance, f"annual report {complete[-1]}", complete[-1]
            )
        periods = reporting_periods(cadence)
        last = periods.get_last_partition_key()
        if last is not None:
            failures += execute(defs.resolve_job_def(FRESHNESS_JOB), instance, "provider freshness", last)
    return failures


def open_instance(home: Home) -> dg.DagsterInstance:
    """The installation's Dagster instance (its `dagster/dagster.yaml`), opened by its folder, not $DAGSTER_HOME."""
    return dg.DagsterInstance.from_config(str(home.dagster))


def execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    label: str,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
) -> list[str]:
    """Execute one job in this process on the instance; one line per failed step (or the run)."""
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        tags=tags,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        raise_on_error=False,
    )
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the step's own error, not Dagster's wrapper
            what = error.message.strip().splitlines()[-1] if error else "failed"
            failures.append(f"{label}: step {event.step_key} failed: {what}")
    if not result.success and not failures:
        failures.append(f"{label}: run {result.run_id} failed; open `make dev` to see its logs")
    return failures


def run_account(before: list[dict], after: list[dict]) -> str:
    """What this run did, from the inbox ledger before and after it: new submissions loaded (and the earlier
    ones of the same provider, feed and period they superseded), rejected, held, left waiting; or nothing to do."""
    settled = {r["submission_id"] for r in before if r["status"] not in WAITING}
    mine = [r for r in after if r["submission_id"] not in settled]
    outcome = Counter("waiting" if r["status"] in WAITING else r["status"] for r in mine)
    if not mine:
        return f"this run: nothing new to load ({len(settled)} submissions already done); the analysis was rebuilt"
    loaded = [r for r in mine if r["status"] == "loaded"]
    # Per provider, feed and period one submission is current: each new one replaces the one before it.
    current = {_slot(r) for r in before if r["status"] == "loaded"}
    new_per_key = Counter(_slot(r) for r in loaded)
    superseded = sum(n - 1 + (k in current) for k, n in new_per_key.items())
    parts = [f"{outcome['loaded']} new submission(s) loaded"]
    parts += [f"superseding {superseded} earlier one(s) of the same provider, feed and period"] if superseded else []
    parts += [f"{outcome['rejected']} rejected"] if outcome["rejected"] else []
    parts += [f"{outcome['held']} held as proposed revision(s) of an approved period"] if outcome["held"] else []
    parts += [f"{outcome['waiting']} not finished (see the errors below)"] if outcome["waiting"] else []
    return "this run: " + ", ".join(parts)


def _slot(record: dict) -> tuple[str, str, str]:
    return record["feed"], record["provider"], record["period"]


def summary_lines(home: Home, inbox: Inbox, db_key: bytes) -> list[str]:
    """A short account of the inbox and both repositories, for the terminal (a repository another process is
    writing is said to be busy, not an error: the run's own work is done)."""
    statuses = Counter(r["status"] for r in inbox.ledger())
    lines = ["all submissions: " + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")]
    for feed in reversed(FEEDS):  # victims, then law enforcement (the order the README shows)
        label = feed_spec(feed).label
        try:
            c = repository_counts(home.warehouse, feed, db_key)
        except RepositoryBusy:
            lines.append(f"{label} repository: not read, {repository_path(home.warehouse, feed).name} is busy")
            continue
        lines.append(
            f"{label} repository: {c['rows_loaded']} rows loaded, {c['rows_quarantined']} quarantined "
            f"({c['submissions']} current submissions) in {repository_path(home.warehouse, feed)}"
        )
    lines.append(f"research database: {home.warehouse / 'research.duckdb'}")
    lines.append(f"data dictionary: {home.reports / 'data-dictionary.html'}")
    reports = sorted(home.reports.glob("annual-report-*.html"))
    if reports:
        lines.append(f"annual report: {reports[-1]}")
    return lines
