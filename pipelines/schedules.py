"""Schedules: weekly ingestion of whatever waits, weekly freshness of the last period, and the annual report."""

import dagster as dg

from application.reporting_periods import period_label
from application.run import scan_settled, waiting_submissions
from pipelines.partitions import (
    reporting_periods,
    submission_key,
    submission_partitions_name,
    submission_tags,
)
from pipelines.resources import RapporteurHome
from schemas.standard import feed as feed_spec

RUNNING = dg.DefaultScheduleStatus.RUNNING
WEEKLY_INGESTION = "0 6 * * 1"  # Mondays 06:00 UTC
WEEKLY_FRESHNESS = "0 7 * * 1"  # Mondays 07:00 UTC, after the ingestion
ANNUAL_REPORT = "0 6 15 2 *"  # 15 February, for the previous year (first quarter, once late providers caught up)


def weekly_ingestion(feed_name: str, job: dg.JobDefinition) -> dg.ScheduleDefinition:
    """Every week, one run for each submission of the feed still waiting (a missed or failed one is retried)."""

    @dg.schedule(
        name=f"{feed_spec(feed_name).table}_weekly_ingestion",
        cron_schedule=WEEKLY_INGESTION,
        job=job,
        execution_timezone="UTC",
        default_status=RUNNING,
        description=f"Weekly: run every {feed_name} submission that still has steps to run.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext, rapporteur: RapporteurHome):
        inbox = rapporteur.home().sealed_inbox(rapporteur.keyring(context.log))
        scan_settled(inbox)
        waiting = waiting_submissions(inbox, feed_name)
        if not waiting:
            return dg.SkipReason(f"no {feed_name} submission is waiting")
        context.instance.add_dynamic_partitions(
            submission_partitions_name(feed_name), [submission_key(s) for s in waiting]
        )
        week = context.scheduled_execution_time.date().isoformat()
        return [
            dg.RunRequest(run_key=f"{s.submission_id}-{week}", partition_key=submission_key(s), tags=submission_tags(s))
            for s in waiting
        ]

    return _schedule


def freshness_schedule(job: dg.JobDefinition, cadence: str) -> dg.ScheduleDefinition:
    """Every week, which expected providers have not yet submitted for the last complete reporting period."""
    periods = reporting_periods(cadence)

    @dg.schedule(
        name="weekly_provider_freshness",
        cron_schedule=WEEKLY_FRESHNESS,
        job=job,
        execution_timezone="UTC",
        default_status=RUNNING,
        description="Weekly: check that every expected provider submitted for the last complete reporting period.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        key = periods.get_partition_keys(current_time=context.scheduled_execution_time)[-1]
        week = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"freshness-{period_label(key)}-{week}", partition_key=key)

    return _schedule


def annual_report_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    """In the first quarter, the annual report of the previous year."""

    @dg.schedule(
        name="annual_report_schedule",
        cron_schedule=ANNUAL_REPORT,
        job=job,
        execution_timezone="UTC",
        default_status=RUNNING,
        description="Every 15 February: write the annual report of the previous year.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        year = str(context.scheduled_execution_time.year - 1)
        return dg.RunRequest(run_key=f"annual-report-{year}", partition_key=year)

    return _schedule
