"""The row-level rules of the common data set, as one pandera schema per feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from schemas.standard import Feed, codelists

MAX_AGE = 110
MAX_SENTENCE_MONTHS = 1200
# Beside an identifier date column (date of birth), whether it is after today: `future_flags`.
FUTURE_SUFFIX = "__future"


@dataclass(frozen=True)
class Rule:
    """One named rule on one column: `passes` returns True for every row that satisfies it."""

    name: str
    column: str
    passes: Callable[..., pd.Series]  # called with the frame alone; a lambda binds its column as a default
    message: str

    @property
    def check_name(self) -> str:
        return f"{self.name}:{self.column}"


def per_distinct(s: pd.Series, passes: Callable[[str], bool]) -> pd.Series:
    """`passes` of each non-blank cell, evaluated once per distinct value (blank cells pass).

    A coded column has few distinct values however many rows it has, so this is as fast as a vectorised check.
    """
    values = s.dropna()
    verdicts = {v: passes(v) for v in values.unique()}
    return values.map(verdicts).astype(bool).reindex(s.index, fill_value=True)


def all_codes(value: str, codes: set[str] | dict[str, str]) -> bool:
    """Every ';'-separated part of `value` is one of `codes`."""
    return all(part in codes for part in value.split(";"))


def _isin_codes(codes: set[str], multi: bool) -> Callable[[pd.Series], pd.Series]:
    def check(s: pd.Series) -> pd.Series:
        if not multi:
            return s.isna() | s.isin(codes)
        return per_distinct(s, lambda v: all_codes(v, codes))

    return check


def _services_item_ok(item: str, services: dict[str, str], providers: dict[str, str]) -> bool:
    service, sep, provider = item.strip().partition(":")
    return bool(sep) and service.strip().lower() in services and provider.strip().lower() in providers


def _services_ok(s: pd.Series) -> pd.Series:
    lists = codelists()
    services, providers = lists["service"], lists["service_provider"]
    return per_distinct(s, lambda v: all(_services_item_ok(i, services, providers) for i in v.split(";")))


def _not_after(a: str, b: str) -> Callable[[pd.DataFrame], pd.Series]:
    """Passes where date `a` is blank, `b` is blank, or a <= b."""
    return lambda d: d[a].isna() | d[b].isna() | (d[a] <= d[b])


def feed_rules(feed: Feed, period: str = "all", today: dt.date | None = None) -> list[Rule]:
    """Every rule for `feed`, in the order failures are reported."""
    today = pd.Timestamp(today or dt.date.today())
    lists = codelists()
    rules: list[Rule] = []
    for name, col in feed.columns.items():
        if col.required:
            bad = f"{name}__bad" if col.type in ("date", "integer") else None
            rules.append(
                Rule(
                    "required",
                    name,
                    (lambda d, n=name, b=bad: d[n].notna() | (d[b] if b else False)),
                    f"{name} is blank; it is required",
                )
            )
        if col.type in ("code", "codes"):
            rules.append(
                Rule(
                    "unmapped_code",
                    name,
                    (lambda d, n=name, c=set(lists[col.code_list]), m=col.type == "codes": _isin_codes(c, m)(d[n])),
                    f"{name}: the value found is not one of the allowed codes of {name} (the data dictionary, "
                    f"code list {col.codelist}) nor a local code of {{provider}}'s mapping",
                )
            )
        if col.type == "services":
            rules.append(
                Rule(
                    "invalid_services",
                    name,
                    (lambda d, n=name: _services_ok(d[n])),
                    f"{name}: each item must be service:provider with standard codes, e.g. shelter:non_state",
                )
            )
        if col.type == "date":
            rules.append(
                Rule(
                    "invalid_date",
                    name,
                    (lambda d, n=name: ~d[f"{n}__bad"]),
                    f"{name} is not a valid date (use YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY)",
                )
            )
            rules.append(
                Rule(
                    "future_date",
                    name,
                    # An identifier never reaches pandera: the validator gives its comparison with today instead.
                    (lambda d, n=name: ~d[n + FUTURE_SUFFIX])
                    if col.identifier
                    else (lambda d, n=name: d[n].isna() | (d[n] <= today)),
                    f"{name} is in the future",
                )
            )
        if col.type == "integer":
            rules.append(
                Rule("invalid_integer", name, (lambda d, n=name: ~d[f"{n}__bad"]), f"{name} is not a whole number")
            )
    age_at = feed.event_date
    rules += [
        Rule(
            "birth_after_event", "date_of_birth", lambda d: ~d["_birth_after_event"], f"date_of_birth is after {age_at}"
        ),
        Rule(
            "implausible_age",
            "date_of_birth",
            lambda d: d["age_at_event"].isna() | (d["age_at_event"] <= MAX_AGE),
            f"the age at {age_at} is over {MAX_AGE}",
        ),
        Rule(
            "duplicate_record_id",
            "provider_record_id",
            lambda d: ~d["_duplicate"],
            "provider_record_id repeats an earlier row of this file",
        ),
    ]
    if feed.name == "victim-assistance":
        rules.append(
            Rule(
                "child_flag_disagrees_with_age",
                "is_child",
                lambda d: (
                    ~d["is_child"].isin(["yes", "no"])
                    | d["age_at_event"].isna()
                    | ((d["is_child"] == "yes") == (d["age_at_event"] < 18))
                ),
                "is_child does not agree with the age at identification (under 18 is a child)",
            )
        )
        rules.append(
            Rule(
                "assistance_before_identification",
                "assistance_start_date",
                _not_after("identification_date", "assistance_start_date"),
                "assistance_start_date is before identification_date",
            )
        )
    else:
        rules += [
            Rule(
                "stage_dates_out_of_order",
                "prosecution_date",
                _not_after("investigation_date", "prosecution_date"),
                "prosecution_date is before investigation_date",
            ),
            Rule(
                "stage_dates_out_of_order",
                "conviction_date",
                _not_after("prosecution_date", "conviction_date"),
                "conviction_date is before prosecution_date",
            ),
            Rule(
                "stage_date_missing",
                "prosecution_date",
                lambda d: (
                    ~d["stage"].isin(["prosecuted", "convicted"])
                    | d["prosecution_date"].notna()
                    | d["prosecution_date__bad"]
                ),
                "stage is prosecuted or convicted but prosecution_date is blank",
            ),
            Rule(
                "stage_date_missing",
                "conviction_date",
                lambda d: (d["stage"] != "convicted") | d["conviction_date"].notna() | d["conviction_date__bad"],
                "stage is convicted but conviction_date is blank",
            ),
            Rule(
                "sentence_without_conviction",
                "sentence_months",
                lambda d: d["sentence_months"].isna() | (d["stage"] == "convicted"),
                "sentence_months is given but stage is not convicted",
            ),
            Rule(
                "implausible_sentence",
                "sentence_months",
                lambda d: d["sentence_months"].isna() | d["sentence_months"].between(0, MAX_SENTENCE_MONTHS),
                f"sentence_months must be between 0 and {MAX_SENTENCE_MONTHS}",
            ),
        ]
    if period != "all":
        year, _, quarter = period.partition("-Q")
        rules.append(
            Rule(
                "outside_period",
                "reporting_year",
                lambda d: (
                    d["reporting_year"].isna()
                    | (
                        (d["reporting_year"] == int(year))
                        & ((d["reporting_quarter"] == int(quarter)) if quarter else True)
                    )
                ),
                f"the row's reporting date falls outside the submission's period {period}",
            )
        )
    return rules


def future_flags(standard: pa_arrow.Table, feed: Feed, today: dt.date) -> pa_arrow.Table:
    """`standard` with, beside each identifier date column, whether it is after `today` (what its
    `future_date` rule reads, as the column itself stays out of pandera)."""
    for name in feed.identifiers:
        if feed.columns[name].type == "date":
            after = pc.fill_null(pc.greater(standard[name], pa_arrow.scalar(today, pa_arrow.date32())), False)
            standard = standard.append_column(name + FUTURE_SUFFIX, after)
    return standard


def pandera_schema(feed: Feed, rules: list[Rule]) -> pa.DataFrameSchema:
    """The feed's pandera schema: the rules as named, vectorised DataFrame checks."""
    return pa.DataFrameSchema(
        checks=[pa.Check(r.passes, name=r.check_name) for r in rules],
        name=feed.name,
    )
