"""Housekeeping in Dagster: the weekly purge of raw content past the retention period (application.retention)."""

import dagster as dg

from application.retention import purge
from pipelines.resources import RapporteurHome

PURGE_JOB = "retention_purge"


@dg.op(description="Remove the raw content of submissions loaded or rejected more than the retention period ago.")
def purge_raw_content(context: dg.OpExecutionContext, rapporteur: RapporteurHome) -> None:
    home = rapporteur.home()
    days = home.settings.retention_days
    done = purge(home, rapporteur.ledger(), days)
    context.log.info("retention %d days: raw content of %d submission(s) removed", days, len(done))
    for p in done:
        context.log.info("submission %s: removed %s", p.submission_id, ", ".join(p.removed))


@dg.job(name=PURGE_JOB, description="Purge raw content past the retention period (RAPPORTEUR_RETENTION_DAYS).")
def retention_purge() -> None:
    purge_raw_content()


weekly_purge = dg.ScheduleDefinition(
    name="weekly_retention_purge",
    cron_schedule="0 5 * * 1",  # Mondays 05:00 UTC, before the week's ingestion
    job=retention_purge,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly: remove the raw content of submissions past the retention period; says what it removed.",
)


def housekeeping_domain() -> dg.Definitions:
    return dg.Definitions(jobs=[retention_purge], schedules=[weekly_purge])
