"""The differentially private public release in Dagster: one asset per year, under the privacy budget ledger."""

import dagster as dg

from pipelines.assets import WAREHOUSE_POOL, guarded_call
from pipelines.partitions import YEARS
from pipelines.resources import RapporteurHome

DP_RELEASE_JOB = "publish_dp_release"


class DpReleaseConfig(dg.Config):
    """What the bureau sets for one release (docs/privacy.md#a-public-release-with-differential-privacy)."""

    epsilon: float
    from_year: int | None = None  # first year of the tables (default: the partition's year alone)
    max_years: int = 1
    max_forms: int = 2


# It reads the stored linkage, which the research build writes: the same pool serialises them.
@dg.asset(
    name="dp_release",
    group_name="reporting_cycle",
    partitions_def=YEARS,
    deps=["research_database"],
    pool=WAREHOUSE_POOL,
)
def dp_release(
    context: dg.AssetExecutionContext, config: DpReleaseConfig, rapporteur: RapporteurHome
) -> dg.MaterializeResult:
    """Differentially private indicator tables of the year for the public, each cell with its 95% bound."""
    from warehouse.dp_release import Clipping, make_dp_release

    home, year = rapporteur.home(), int(context.partition_key)
    key = rapporteur.keyring(context.log).key("database")
    clip = Clipping(year, config.from_year or year, config.max_years, config.max_forms)
    path, manifest = guarded_call(
        "dp release", make_dp_release, home.releases, home.warehouse, key, clip, config.epsilon
    )
    return dg.MaterializeResult(
        metadata={
            "release": path.name,
            "path": dg.MetadataValue.path(str(path)),
            "epsilon": manifest["epsilon"],
            "cells": sum(t["cells"] for t in manifest["tables"]),
        }
    )


def dp_domain() -> dg.Definitions:
    job = dg.define_asset_job(
        DP_RELEASE_JOB,
        selection=dg.AssetSelection.assets("dp_release"),
        partitions_def=YEARS,
        description="Publish the DP tables of a year (a partition; config: epsilon); refused over the year's budget.",
    )
    return dg.Definitions(assets=[dp_release], jobs=[job])
