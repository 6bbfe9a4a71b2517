"""Job names, in one place: sensors, schedules, the runner and the CLI refer to jobs by these."""

from schemas.standard import feed as feed_spec

ANALYSIS_JOB = "analysis"
ANNUAL_REPORT_JOB = "annual_report_job"
FRESHNESS_JOB = "provider_freshness"


def ingest_job_name(feed_name: str) -> str:
    """The job that takes one submission of a feed through its steps, e.g. `victim_assistance_ingest`."""
    return f"{feed_spec(feed_name).table}_ingest"
