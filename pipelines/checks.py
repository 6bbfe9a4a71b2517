"""Asset checks: validation per submission, reconciliation, freshness per provider, drift of key shares.

Every result names submissions and providers by id (organisation ids, not personal data) and shows
counts or published shares only, never a cell value of a provider's file.
"""

from __future__ import annotations

import dagster as dg

from application.steps import Outcome


def validation_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """A rejected submission blocks its own partition's downstream steps; expectation misses only warn."""
    return [
        dg.AssetCheckSpec(
            "submission_readable",
            asset=asset,
            blocking=True,
            description="The submission could be read; an unusable file is rejected whole and goes no further.",
        ),
        dg.AssetCheckSpec(
            "dataset_expectations",
            asset=asset,
            description="Great Expectations: completeness, unique record ids, plausible row count, share of unknown "
            "(thresholds warn).",
        ),
    ]


def validation_check_results(outcome: Outcome) -> list[dg.AssetCheckResult]:
    """The submission's validation outcome: a rejection fails (error), missed expectations warn."""
    label = f"{outcome.submission_id} ({outcome.provider})"
    return [
        dg.AssetCheckResult(
            check_name="submission_readable",
            passed=outcome.status != "rejected",
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"submission": label, "reason": outcome.message or "readable"},
        ),
        dg.AssetCheckResult(
            check_name="dataset_expectations",
            passed=not outcome.warnings,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"submission": label, "missed": "; ".join(outcome.warnings) or "none"},
        ),
    ]


def reconciliation_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "reconciles",
        asset=asset,
        blocking=True,
        description="Every row of the submission is accounted for: rows_in = rows_loaded + rows_quarantined.",
    )


def reconciliation_result(row: dict) -> dg.AssetCheckResult:
    """The ledger row of a loaded submission reconciles."""
    counts = {k: row[k] or 0 for k in ("rows_in", "rows_loaded", "rows_quarantined")}
    return dg.AssetCheckResult(
        check_name="reconciles",
        passed=row["status"] == "loaded" and counts["rows_in"] == counts["rows_loaded"] + counts["rows_quarantined"],
        metadata={"submission": row["submission_id"], "status": row["status"], **counts},
    )


def freshness_result(check_name: str, asset: str, missing: list[str], expected: list[str], label: str):
    """A failing check names every provider that has not submitted for the period."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset,
        passed=not missing,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "period": label,
            "expected": ", ".join(expected) or "none",
            "missing": ", ".join(missing) or "none",
            "missing_count": len(missing),
        },
    )
