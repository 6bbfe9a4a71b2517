"""The analysis assets: research database -> hidden population -> annual report, and who submitted per period."""

from typing import Any

import dagster as dg

from application.monitoring import drifted, expected_providers, missing_providers
from application.reporting_periods import period_label
from application.research import estimate_hidden_population, overlap_path, rebuild_research_database
from intake.inbox import Inbox
from pipelines.assets import WAREHOUSE_POOL, guarded_call
from pipelines.checks import freshness_result
from pipelines.partitions import YEARS
from pipelines.resources import RapporteurHome
from schemas.standard import FEEDS
from schemas.standard import feed as feed_spec
from warehouse.indicators import key_shares, years_with_data
from warehouse.research import RESEARCH_FILE


@dg.asset(
    name="research_database",
    group_name="analysis",
    deps=["victim_assistance_loaded", "law_enforcement_loaded"],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            "key_share_drift",
            asset="research_database",
            description="Shares of female victims, of children and of each exploitation form stay within "
            "10 percentage points of the baseline year (published values only).",
        )
    ],
)
def research_database(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """Aggregate tables for researchers and the annual report, rebuilt from both repositories (no pseudonyms)."""
    home, keyring = rapporteur.home(), rapporteur.keyring(context.log)
    counts = guarded_call("research database", rebuild_research_database, home, keyring, context.log)
    context.log.info("research database rebuilt: %s", counts)
    drift = drifted(key_shares(home.warehouse / RESEARCH_FILE), home.settings.baseline_year)
    check = dg.AssetCheckResult(
        check_name="key_share_drift",
        passed=not drift,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drifting_shares": len(drift), **drift},
    )
    return dg.MaterializeResult(metadata={f"rows_{t}": n for t, n in counts.items()}, check_results=[check])


@dg.asset_check(
    asset="research_database",
    name="disclosure_audit",
    blocking=True,
    description="The attacker's audit: no withheld cell can be worked out exactly, and every count under k "
    "stays within a range of at least k either way, from everything the research database publishes.",
)
def disclosure_audit(context: dg.AssetCheckExecutionContext, rapporteur: RapporteurHome) -> dg.AssetCheckResult:
    """Blocks the hidden population and the report when a reader could learn a small count."""
    from warehouse.protection import audit_database

    home = rapporteur.home()
    keyring = rapporteur.keyring(context.log)
    _, summary = guarded_call(
        "disclosure audit", audit_database, home.warehouse, keyring.key("database"), home.settings.disclosure_k
    )
    passed = not (summary["under_protected"] or summary["recovered_exactly"])
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata=summary)


@dg.asset(name="hidden_population", group_name="analysis", deps=["research_database"], pool=WAREHOUSE_POOL)
def hidden_population_asset(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """Multiple systems estimate of the victims no list saw, per year, with 80% and 95% intervals."""
    home = rapporteur.home()
    if not overlap_path(home).exists():
        raise dg.Failure(description="no staged overlap of lists: materialise research_database first")
    keyring = rapporteur.keyring(context.log)
    rows, estimates = guarded_call("hidden population", estimate_hidden_population, home, keyring)
    years = estimates.dropna(subset=["estimate"])["period"].tolist()
    return dg.MaterializeResult(metadata={"years": rows, "years_with_estimate": ", ".join(map(str, years)) or "none"})


@dg.asset(
    name="annual_report",
    group_name="analysis",
    deps=["hidden_population"],
    partitions_def=YEARS,
    kinds={"html"},
)
def annual_report(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """The annual report of one reporting year, as one self-contained HTML file.

    One partition per year since 2015. Only the years asked for are written (the 15 February schedule,
    `rapporteur run` for the latest complete year with data, or a backfill of the years you choose), so
    the others show as missing: not written yet, not failed.
    """
    from application.cycle import published_revisions
    from reporting import write_annual_report

    home = rapporteur.home()
    research = home.warehouse / RESEARCH_FILE
    year = int(context.partition_key)
    if year not in years_with_data(research):
        raise dg.Failure(description=f"the research database has no data for {year}: no report written")
    path = guarded_call(
        "annual report",
        write_annual_report,
        research,
        year,
        home.reports / f"annual-report-{year}.html",
        home.settings.disclosure_k,
        published_revisions(home, Inbox(home.inbox)),
    )
    return dg.MaterializeResult(metadata={"year": year, "path": dg.MetadataValue.path(str(path))})


def provider_submissions(periods: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Who submitted for each reporting period, with a freshness check per feed that names the late providers."""
    checks = [
        dg.AssetCheckSpec(
            f"{feed_spec(feed).table}_providers_submitted",
            asset="provider_submissions",
            description=f"Every expected {feed} provider has a loaded submission covering the period.",
        )
        for feed in FEEDS
    ]

    @dg.asset(
        name="provider_submissions",
        group_name="analysis",
        deps=[dg.AssetDep(f"{feed_spec(f).table}_loaded", partition_mapping=dg.AllPartitionMapping()) for f in FEEDS],
        partitions_def=periods,
        check_specs=checks,
    )
    def _asset(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
        """The providers that submitted for a reporting period, per feed, from the inbox ledger.

        One partition per reporting period since 2015. The weekly check and `rapporteur run` look at the
        last complete period only, so earlier periods show as missing until a backfill checks them.
        """
        label = period_label(context.partition_key)
        ledger = rapporteur.ledger().ledger()
        results: list[dg.AssetCheckResult] = []
        metadata: dict[str, Any] = {"period": label}
        for feed in FEEDS:
            expected = expected_providers(feed)
            missing = missing_providers(ledger, feed, label, expected)
            metadata[f"{feed}_submitted"] = len(expected) - len(missing)
            results.append(
                freshness_result(
                    f"{feed_spec(feed).table}_providers_submitted", "provider_submissions", missing, expected, label
                )
            )
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    return _asset
