"""Run the pipeline in-process on the installation's Dagster instance, and summarise what it did."""

from __future__ import annotations

import re
from collections import Counter

import dagster as dg

from pipelines.analysis import years_with_data
from pipelines.definitions import build_defs
from pipelines.home import Home
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB, ingest_job_name
from pipelines.partitions import YEARS, cadence_from_env, reporting_periods, submission_partitions
from pipelines.sensors import scan_settled, waiting_submissions
from sources.inbox import FEEDS, Inbox
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
    defs = build_defs(cadence_from_env())
    keyring, _ = home.keyring(create_demo=True)
    inbox = home.sealed_inbox(keyring)
    scan_settled(inbox)
    failures: list[str] = []
    with dg.DagsterInstance.get() as instance:
        for feed_name in FEEDS:
            waiting = waiting_submissions(inbox, feed_name)
            if not waiting:
                continue
            instance.add_dynamic_partitions(submission_partitions(feed_name).name, [s.submission_id for s in waiting])
            job = defs.resolve_job_def(ingest_job_name(feed_name))
            for sub in waiting:
                label = f"submission {sub.submission_id} ({sub.provider})"
                lines = execute(job, instance, label, sub.submission_id)
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
        periods = reporting_periods(cadence_from_env())
        last = periods.get_last_partition_key()
        if last is not None:
            failures += execute(defs.resolve_job_def(FRESHNESS_JOB), instance, "provider freshness", last)
    return failures


def execute(
    job: dg.JobDefinition, instance: dg.DagsterInstance, label: str, partition_key: str | None = None
) -> list[str]:
    """Execute one job in this process on the instance; one line per failed step (or the run)."""
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
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


def summary_lines(home: Home, inbox: Inbox, db_key: bytes) -> list[str]:
    """A short account of the inbox and both repositories, for the terminal."""
    statuses = Counter(r["status"] for r in inbox.ledger())
    lines = ["submissions: " + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")]
    for feed, label in (("victim-assistance", "victims"), ("law-enforcement", "law enforcement")):
        c = repository_counts(home.warehouse, feed, db_key)
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
