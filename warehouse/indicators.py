"""Reading the research database's published indicators: the years they cover and the key shares of victims."""

from __future__ import annotations

from pathlib import Path

import duckdb

CHILD_AGE_GROUPS = ("0-11", "12-17")
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


def years_with_data(research: Path) -> list[int]:
    """The reporting years the research database has indicators for (none before the first build)."""
    if not research.exists():
        return []
    con = duckdb.connect(str(research), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT period FROM indicators ORDER BY 1").fetchall()]
    finally:
        con.close()
