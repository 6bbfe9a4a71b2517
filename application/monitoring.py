"""What the bureau watches: the providers expected per feed and those missing for a period, and key shares that
drift from the baseline (the freshness and drift checks in Dagster report these)."""

from __future__ import annotations

from application.reporting_periods import covers
from schemas.providers import expected_providers as registered_expected

DRIFT_POINTS = 10.0  # a key share that moves more than this many percentage points from the baseline drifts


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
