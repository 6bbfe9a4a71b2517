"""Asset checks: validation per submission, reconciliation, freshness per provider, drift of key shares.

Every result names submissions and providers by id (organisation ids, not personal data) and shows
counts or published shares only, never a cell value of a provider's file.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.partitions import covers
from pipelines.steps import Outcome
from schemas.providers import expected_providers as registered_expected

DRIFT_POINTS = 10.0  # a key share that moves more than this many percentage points from the baseline drifts
CHILD_AGE_GROUPS = ("0-11", "12-17")


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


def expected_providers(feed_name: str) -> list[str]:
    """The providers the bureau expects on a feed: registered under schemas/mappings/, not `expected: false`."""
    return registered_expected(feed_name)


def missing_providers(ledger: list[dict], feed_name: str, label: str, expected: list[str]) -> list[str]:
    """Expected providers of `feed_name` with no loaded submission covering the reporting period `label`."""
    submitted = {
        r["provider"]
        for r in ledger
        if r["feed"] == feed_name and r["status"] == "loaded" and covers(r["period"], r["received_at"], label)
    }
    return [p for p in expected if p not in submitted]


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


DRIFT_SQL = """
WITH totals AS (
    SELECT period, value AS total FROM indicators
    WHERE indicator = 'unique_victims' AND dimension = 'total' AND value IS NOT NULL
), shares AS (
    SELECT 'female' AS share, period, sum(value) AS n FROM indicators
    WHERE indicator = 'unique_victims' AND dimension = 'sex' AND category = 'female' GROUP BY ALL
    UNION ALL
    SELECT 'children', period, sum(value) FROM indicators
    WHERE indicator = 'unique_victims' AND dimension = 'age_group' AND category IN ? GROUP BY ALL
    HAVING count(value) = count(*)
    UNION ALL
    SELECT 'form: ' || category, period, sum(value) FROM indicators
    WHERE indicator = 'unique_victims' AND dimension = 'exploitation_form' GROUP BY ALL
)
SELECT share, period, round(100.0 * n / total, 1) AS pct
FROM shares JOIN totals USING (period) WHERE n IS NOT NULL ORDER BY share, period
"""


def key_shares(research: Path) -> dict[str, dict[int, float]]:
    """Published key shares of unique victims per period, in percent: female, children, each exploitation form.

    A share whose count was withheld (small-cell suppression) is left out, so no share reveals it.
    """
    con = duckdb.connect(str(research), read_only=True)
    try:
        rows = con.execute(DRIFT_SQL, [list(CHILD_AGE_GROUPS)]).fetchall()
    finally:
        con.close()
    shares: dict[str, dict[int, float]] = {}
    for share, period, pct in rows:
        shares.setdefault(share, {})[int(period)] = float(pct)
    return shares


def drifted(shares: dict[str, dict[int, float]], baseline: int | None) -> dict[str, str]:
    """Shares that moved more than DRIFT_POINTS from the baseline year (default: each share's first year)."""
    out = {}
    for share, by_period in shares.items():
        base_year = baseline if baseline is not None else min(by_period)
        if base_year not in by_period:
            continue
        moved = [
            f"{p}: {v:.1f}% (baseline {base_year}: {by_period[base_year]:.1f}%)"
            for p, v in sorted(by_period.items())
            if abs(v - by_period[base_year]) > DRIFT_POINTS
        ]
        if moved:
            out[share] = "; ".join(moved)
    return out
