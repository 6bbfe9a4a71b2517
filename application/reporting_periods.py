"""Reporting periods as the bureau counts them: `2024`, `2024-Q2`, and which submissions cover which period."""

from __future__ import annotations

import datetime as dt


def period_label(key: str) -> str:
    """A partition key as the inbox writes periods: `2024` stays, `2024-04` becomes `2024-Q2`."""
    if len(key) == 4:
        return key
    year, month = key.split("-")
    return f"{year}-Q{(int(month) - 1) // 3 + 1}"


def period_bounds(label: str) -> tuple[dt.date, dt.date]:
    """First day of a period and first day after it, for `2024` or `2024-Q2`."""
    if "-Q" in label:
        year, quarter = int(label[:4]), int(label[-1])
        start = dt.date(year, 3 * quarter - 2, 1)
        end = dt.date(year + quarter // 4, 3 * quarter + 1 if quarter < 4 else 1, 1)
        return start, end
    return dt.date(int(label), 1, 1), dt.date(int(label) + 1, 1, 1)


def covers(submission_period: str, received_at: str | None, label: str) -> bool:
    """Whether a submission for `submission_period` accounts for the reporting period `label`.

    The same period, a quarter of it, or the year holding it cover it; a full extract (`all`)
    covers a period that had ended when it was received.
    """
    if submission_period == "all":
        return received_at is not None and dt.date.fromisoformat(received_at[:10]) >= period_bounds(label)[1]
    start, end = period_bounds(label)
    sub_start, sub_end = period_bounds(submission_period)
    return sub_start < end and start < sub_end
