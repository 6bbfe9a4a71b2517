"""Run the pipeline in-process on the installation's Dagster instance, and summarise what it did."""

from __future__ import annotations

import dagster as dg

from application.home import Home
from application.run import scan_settled, waiting_submissions
from pipelines.definitions import build_defs
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB, ingest_job_name
from pipelines.partitions import (
    YEARS,
    reporting_periods,
    submission_key,
    submission_partitions_name,
    submission_tags,
)
from pipelines.resources import rapporteur_resource
from schemas.standard import FEEDS
from warehouse.indicators import years_with_data
from warehouse.research import RESEARCH_FILE


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
            instance.add_dynamic_partitions(submission_partitions_name(feed_name), [submission_key(s) for s in waiting])
            job = defs.resolve_job_def(ingest_job_name(feed_name))
            for sub in waiting:
                label = f"submission {sub.submission_id} ({sub.provider})"
                lines = execute(job, instance, label, submission_key(sub), submission_tags(sub))
                record = inbox.record(sub.submission_id)
                if record and record["status"] == "rejected":  # its blocking check stopped the run: say why, once
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
