"""Partitions: one dynamic partition per submission of each feed, and the reporting periods of the analysis.

A submission is the unit of work of a feed: its partition key is its provider, period and id (a hash of
feed, provider, period and content), e.g. `ngo-harbour_2024_c1e46946a9789e6c`, so the UI shows whose
submission it is and a provider's resubmission is a new partition that re-runs only its own steps.
Installations from before these keys have partitions keyed by the bare id; both are read the same way.
The reporting period (yearly by default, quarterly supported) partitions what is judged per period:
which providers submitted, and the annual report (always per year).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from application.settings import CADENCE_ENV, CADENCES
from intake.inbox import Submission
from schemas.standard import feed as feed_spec

FIRST_YEAR = dt.datetime(2015, 1, 1)  # the first reporting year the bureau holds (the standard's first year)
CRONS = {"yearly": "0 0 1 1 *", "quarterly": "0 0 1 1,4,7,10 *"}
FORMATS = {"yearly": "%Y", "quarterly": "%Y-%m"}


def submission_partitions(feed_name: str) -> dg.DynamicPartitionsDefinition:
    """The submissions of one feed, keyed by submission id (added by the inbox sensor or `rapporteur run`)."""
    return dg.DynamicPartitionsDefinition(name=submission_partitions_name(feed_name))


def submission_partitions_name(feed_name: str) -> str:
    """The name of a feed's dynamic partitions (the instance keeps its keys under it)."""
    return f"{feed_spec(feed_name).table}_submissions"


def submission_key(sub: Submission) -> str:
    """A submission's partition key: provider, period and id (provider ids and periods hold no '_')."""
    return f"{sub.provider}_{sub.period}_{sub.submission_id}"


def submission_id_of(key: str) -> str:
    """The submission id in a partition key (the whole key on installations from before readable keys)."""
    return key.rsplit("_", 1)[-1]


def submission_tags(sub: Submission) -> dict[str, str]:
    """The run tags of a submission's run: the UI's run list shows and filters by them."""
    return {
        "rapporteur/feed": sub.feed,
        "rapporteur/provider": sub.provider,
        "rapporteur/period": sub.period,
        "rapporteur/submission": sub.submission_id,
    }


def reporting_periods(cadence: str = "yearly") -> dg.TimeWindowPartitionsDefinition:
    """Reporting periods from FIRST_YEAR to the last complete one (keys `2024`, or `2024-01` for 2024-Q1)."""
    if cadence not in CADENCES:
        raise ValueError(f"{CADENCE_ENV} must be one of {', '.join(CADENCES)}, not '{cadence[:20]}'")
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=CRONS[cadence], start=FIRST_YEAR, fmt=FORMATS[cadence], timezone="UTC"
    )


YEARS = reporting_periods("yearly")
