"""Sensors: new submissions in each feed's inbox, the analysis after loads, and failed runs for the bureau."""

import datetime as dt

import dagster as dg

from application.run import scan_settled, waiting_submissions
from intake.inbox import Submission
from pipelines.jobs import ingest_job_name
from pipelines.partitions import submission_key, submission_partitions, submission_tags
from pipelines.resources import RapporteurHome
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec

RUNNING = dg.DefaultSensorStatus.RUNNING


def cursor_of(sub: Submission) -> str:
    """A submission's place in arrival order: the inbox sensor's cursor."""
    return f"{sub.received_at}|{sub.submission_id}"


def inbox_sensor(feed_name: str, job: dg.JobDefinition) -> dg.SensorDefinition:
    """A sensor that registers the feed's new submissions as partitions and launches one run for each."""
    partitions = submission_partitions(feed_name)

    @dg.sensor(
        name=f"{feed_spec(feed_name).table}_inbox",
        job=job,
        minimum_interval_seconds=30,
        default_status=RUNNING,
        description=f"New {feed_name} submissions in the inbox: each becomes a partition and one run.",
    )
    def _sensor(context: dg.SensorEvaluationContext, rapporteur: RapporteurHome) -> dg.SensorResult:
        inbox = rapporteur.home().sealed_inbox(rapporteur.keyring(context.log))
        scan_settled(inbox)
        new = [s for s in waiting_submissions(inbox, feed_name) if cursor_of(s) > (context.cursor or "")]
        if not new:
            return dg.SensorResult(skip_reason="no new submissions", cursor=context.cursor)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=s.submission_id, partition_key=submission_key(s), tags=submission_tags(s))
                for s in new
            ],
            dynamic_partitions_requests=[partitions.build_add_request([submission_key(s) for s in new])],
            cursor=cursor_of(new[-1]),
        )

    return _sensor


def analysis_after_loads(job: dg.JobDefinition) -> dg.SensorDefinition:
    """A sensor that rebuilds the research database once new loads have landed and no ingestion run is pending."""

    @dg.sensor(
        name="analysis_after_loads",
        job=job,
        minimum_interval_seconds=30,
        default_status=RUNNING,
        description="Rebuild the research database after new loads, once no ingestion run is queued or running.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        latest = 0
        for feed_name in FEEDS:
            key = dg.AssetKey(f"{feed_spec(feed_name).table}_loaded")
            records = context.instance.fetch_materializations(key, limit=1).records
            latest = max([latest, *(r.storage_id for r in records)])
        if latest <= int(context.cursor or 0):
            return dg.SensorResult(skip_reason="no new loads", cursor=context.cursor)
        busy = context.instance.get_runs(
            filters=dg.RunsFilter(
                job_name=None,
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
            )
        )
        ingesting = [r for r in busy if r.job_name in {ingest_job_name(f) for f in FEEDS}]
        if ingesting:
            return dg.SensorResult(skip_reason=f"waiting for {len(ingesting)} ingestion run(s)", cursor=context.cursor)
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"analysis-{latest}")], cursor=str(latest))

    return _sensor


def _error_type(error) -> str:
    """The innermost error's class name: its message may quote a cell, so it is never kept."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.cls_name if error is not None and error.cls_name else "unknown"


@dg.run_failure_sensor(
    name="record_run_failure",
    default_status=RUNNING,
    description="Record every failed run (run id, job, step, time, error type) in the bureau's ledger.",
)
def record_run_failure(context: dg.RunFailureSensorContext, rapporteur: RapporteurHome) -> None:
    """Write the failed run's steps to the `run_failures` table of inbox/ledger.sqlite."""
    run = context.dagster_run
    failed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    ledger = rapporteur.ledger()
    steps = context.get_step_failure_events()
    for event in steps:
        error = event.step_failure_data.error if event.step_failure_data else None
        ledger.record_run_failure(run.run_id, run.job_name, event.step_key or "-", failed_at, _error_type(error))
    if not steps:  # the run failed outside any step (e.g. its launch)
        error = getattr(context.failure_event.event_specific_data, "error", None)
        ledger.record_run_failure(run.run_id, run.job_name, "-", failed_at, _error_type(error))
    context.log.info("recorded failed run %s of %s (%d failed step(s))", run.run_id, run.job_name, len(steps))
