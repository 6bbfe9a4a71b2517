"""The reporting cycle in Dagster: each year's status (expected, submitted, signed off, approved, released), the
bureau's approval job, and the release job, which a blocking check stops unless the year is approved."""

import dagster as dg

from application import cycle
from errors import RapporteurError
from intake.periods import ALL_PROVIDERS
from pipelines.assets import guarded_call
from pipelines.partitions import YEARS
from pipelines.resources import RapporteurHome
from reporting.releases import releases

APPROVE_JOB = "approve_period"
RELEASE_JOB = "release_annual_report"


def _status_table(states) -> dg.MetadataValue:
    lines = ["| feed | provider | state | signed off | approved | revisions held |", "|---|---|---|---|---|---|"]
    for s in states:
        cells = (s.feed, s.provider, s.state, s.signed_at or "", s.approved_at or "", s.revisions_held)
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset(
    name="period_status",
    group_name="reporting_cycle",
    partitions_def=YEARS,
    check_specs=[
        dg.AssetCheckSpec(
            "approved_for_release",
            asset="period_status",
            blocking=True,
            description="Every expected provider's period is approved and nothing waits to be loaded: "
            "the release of the year may be made.",
        )
    ],
)
def period_status(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """Where each provider stands for the year: missing, submitted, signed off, approved; and its releases."""
    home, inbox = rapporteur.home(), rapporteur.ledger()
    year = context.partition_key
    states = cycle.period_states(inbox, [year])
    counts = {
        state: sum(s.state == state for s in states) for state in ("missing", "submitted", "signed_off", "approved")
    }
    made = [r.name for r in releases(home.releases) if str(r.year) == year]
    blockers = cycle.release_blockers(home, inbox, int(year))
    return dg.MaterializeResult(
        metadata={
            **counts,
            "released": ", ".join(made) or "not yet",
            "providers": _status_table(states),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="approved_for_release",
                passed=not blockers,
                metadata={"blockers": "; ".join(blockers) or "none"},
            )
        ],
    )


@dg.asset(name="annual_release", group_name="reporting_cycle", partitions_def=YEARS, deps=["period_status"])
def annual_release(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """The release of the year's annual report: an immutable snapshot of what was published (reporting.releases)."""
    home, inbox = rapporteur.home(), rapporteur.ledger()
    year = int(context.partition_key)
    blockers = cycle.release_blockers(home, inbox, year)
    if blockers:  # the blocking check stops this step first; this holds when the asset is run alone
        raise dg.Failure(description=f"cannot release {year}: " + "; ".join(blockers))
    rel = guarded_call("release", cycle.release_year, home, inbox, year, f"dagster run {context.run_id[:8]}")
    return dg.MaterializeResult(
        metadata={
            "release": rel.name,
            "path": dg.MetadataValue.path(str(rel.path)),
            "files": len(rel.manifest["sha256"]),
            "code_version": rel.manifest["code_version"],
        }
    )


class ApprovalConfig(dg.Config):
    """What to approve: a period and one provider, or every provider (`*`)."""

    period: str
    provider: str = ALL_PROVIDERS


@dg.op(description="Approve (lock) a period for one provider or every provider; the decision is recorded.")
def approve(context: dg.OpExecutionContext, config: ApprovalConfig, rapporteur: RapporteurHome) -> None:
    from schemas.standard import check_submission_args

    try:
        check_submission_args(
            "victim-assistance", "x" if config.provider == ALL_PROVIDERS else config.provider, config.period
        )
    except RapporteurError as exc:
        raise dg.Failure(description=str(exc)) from None
    new, held = rapporteur.ledger().approve(config.period, config.provider, f"dagster run {context.run_id[:8]}")
    context.log.info(
        "period %s %s for %s; %d waiting submission(s) held as revisions",
        config.period,
        "approved" if new else "was already approved",
        config.provider,
        len(held),
    )


@dg.job(name=APPROVE_JOB, description="The bureau approves a period (config: period, provider).")
def approve_period() -> None:
    approve()


def cycle_domain() -> dg.Definitions:
    """The reporting cycle's assets and jobs."""
    release = dg.define_asset_job(
        RELEASE_JOB,
        selection=dg.AssetSelection.assets("period_status", "annual_release"),
        partitions_def=YEARS,
        description="Release the annual report of a year (a partition); refused unless the year is approved.",
    )
    return dg.Definitions(assets=[period_status, annual_release], jobs=[release, approve_period])
