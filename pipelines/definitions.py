"""The Dagster Definitions: explicit per-domain definitions merged into one."""

import dagster as dg

from application.settings import Settings
from pipelines.analysis import (
    annual_report,
    disclosure_audit,
    hidden_population_asset,
    provider_submissions,
    research_database,
)
from pipelines.assets import feed_assets
from pipelines.cycle_assets import cycle_domain
from pipelines.dp_assets import dp_domain
from pipelines.export_assets import export_assets, export_checks
from pipelines.housekeeping import housekeeping_domain
from pipelines.jobs import ANALYSIS_JOB, ANNUAL_REPORT_JOB, FRESHNESS_JOB, ingest_job_name
from pipelines.partitions import reporting_periods
from pipelines.resources import RapporteurHome, rapporteur_resource
from pipelines.schedules import annual_report_schedule, freshness_schedule, weekly_ingestion
from pipelines.sensors import analysis_after_loads, inbox_sensor, record_run_failure
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec


def feed_domain(feed_name: str) -> dg.Definitions:
    """One feed: its four assets, the job that takes one submission through them, its inbox sensor and schedule."""
    prefix = feed_spec(feed_name).table
    job = dg.define_asset_job(
        ingest_job_name(feed_name),
        selection=dg.AssetSelection.groups(prefix),
        description=f"Take one {feed_name} submission (a partition) through validation, pseudonymisation and load.",
        tags={"rapporteur/feed": feed_name},
    )
    return dg.Definitions(
        assets=feed_assets(feed_name),
        jobs=[job],
        # define_asset_job's own type is private to Dagster; the helpers take any job
        sensors=[inbox_sensor(feed_name, job)],  # type: ignore[arg-type]
        schedules=[weekly_ingestion(feed_name, job)],  # type: ignore[arg-type]
    )


def analysis_domain(cadence: str, rapporteur: RapporteurHome) -> dg.Definitions:
    """The research database, hidden population, annual report and per-period submissions, with their jobs."""
    analysis = dg.define_asset_job(
        ANALYSIS_JOB,
        selection=dg.AssetSelection.assets("research_database", "hidden_population"),
        description="Rebuild the research database from both repositories and estimate the hidden population.",
    )
    report = dg.define_asset_job(
        ANNUAL_REPORT_JOB,
        selection=dg.AssetSelection.assets("annual_report"),
        description="Write the annual report of one reporting year (a partition).",
    )
    freshness = dg.define_asset_job(
        FRESHNESS_JOB,
        selection=dg.AssetSelection.assets("provider_submissions"),
        description="Check which expected providers submitted for one reporting period (a partition).",
    )
    return dg.Definitions(
        assets=[
            research_database,
            hidden_population_asset,
            annual_report,
            provider_submissions(reporting_periods(cadence)),
        ],
        asset_checks=[disclosure_audit],
        jobs=[analysis, report, freshness],
        sensors=[analysis_after_loads(analysis), record_run_failure],  # type: ignore[arg-type]
        schedules=[annual_report_schedule(report), freshness_schedule(freshness, cadence)],  # type: ignore[arg-type]
        resources={"rapporteur": rapporteur},
    )


def international_domain() -> dg.Definitions:
    """The GLOTIP, Eurostat and SDG exports (one asset each, partitioned by year) and the job that writes them."""
    job = dg.define_asset_job(
        "international_exports",
        selection=dg.AssetSelection.groups("international"),
        description="Write the international exports of one reporting year (a partition).",
    )
    return dg.Definitions(
        assets=export_assets(),
        asset_checks=export_checks(),
        jobs=[job],
    )  # the `rapporteur` resource comes with the analysis domain


def build_defs(cadence: str = "yearly", rapporteur: RapporteurHome | None = None) -> dg.Definitions:
    """Both feeds and the analysis, with reporting periods of the given cadence (yearly or quarterly); the
    resource defaults to the settings' defaults at $RAPPORTEUR_HOME."""
    rapporteur = rapporteur or rapporteur_resource(Settings(reporting_period=cadence))
    return dg.Definitions.merge(
        *(feed_domain(f) for f in FEEDS),
        analysis_domain(cadence, rapporteur),
        cycle_domain(),
        housekeeping_domain(),
        dp_domain(),
        international_domain(),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location (`dagster dev -m pipelines.definitions`); the settings are read when it loads."""
    settings = Settings.from_env()
    return build_defs(settings.reporting_period, rapporteur_resource(settings))
