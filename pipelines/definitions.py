"""The Dagster Definitions: explicit per-domain definitions merged into one."""

import dagster as dg

from pipelines.assets import (
    annual_report,
    feed_assets,
    law_enforcement_reconciles,
    research_database,
    victim_assistance_reconciles,
)
from pipelines.resources import RapporteurHome

MAIN_JOB = "main"


def domains() -> list[dg.Definitions]:
    """Law enforcement, victim assistance and analysis, each its own Definitions."""
    law_enforcement = dg.Definitions(assets=feed_assets("law-enforcement"), asset_checks=[law_enforcement_reconciles])
    victim_assistance = dg.Definitions(
        assets=feed_assets("victim-assistance"), asset_checks=[victim_assistance_reconciles]
    )
    main_job = dg.define_asset_job(
        MAIN_JOB,
        selection=dg.AssetSelection.all(),
        description="Ingest every waiting submission of both feeds and rebuild the research database.",
    )
    analysis = dg.Definitions(
        assets=[research_database, annual_report],
        jobs=[main_job],
        resources={"rapporteur": RapporteurHome(root=dg.EnvVar("RAPPORTEUR_HOME"))},
    )
    return [law_enforcement, victim_assistance, analysis]


defs = dg.Definitions.merge(*domains())
