"""The logic behind the freshness, reconciliation and drift checks, and the reporting periods."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.monitoring import drifted, expected_providers, missing_providers
from application.reporting_periods import covers, period_bounds, period_label
from pipelines.checks import reconciliation_result


def test_period_labels_and_bounds():
    assert period_label("2024") == "2024" and period_label("2024-10") == "2024-Q4"
    assert period_bounds("2024-Q4")[1].isoformat() == "2025-01-01"
    assert period_bounds("2024-Q2") == (period_bounds("2024-Q2")[0], period_bounds("2024-Q3")[0])


@given(st.integers(2015, 2030), st.integers(1, 4))
def test_a_quarter_covers_its_year_and_only_its_quarter(year, quarter):
    q = f"{year}-Q{quarter}"
    assert covers(q, None, str(year)) and covers(str(year), None, q)
    assert not covers(q, None, str(year + 1))
    other = f"{year}-Q{quarter % 4 + 1}"
    assert not covers(q, None, other)


def test_a_full_extract_covers_a_period_that_had_ended_when_it_came():
    assert covers("all", "2025-01-10T09:00:00.000+00:00", "2024")
    assert not covers("all", "2024-12-31T23:00:00.000+00:00", "2024")
    assert not covers("all", None, "2024")


def test_expected_providers_come_from_the_mappings():
    assert expected_providers("victim-assistance") == ["ngo-harbour", "ngo-lighthouse", "nrm-central"]
    assert expected_providers("law-enforcement") == ["police-central", "police-north", "prosecution-service"]


def test_the_generators_other_providers_are_registered_but_never_expected():
    from schemas.providers import check_provider, feed_providers
    from synthetic.providers import provider_ids

    for feed in ("victim-assistance", "law-enforcement"):
        for provider in provider_ids(feed, 8):  # the largest installation measured (docs/privacy.md)
            check_provider(feed, provider)  # raises when a provider is not registered for the feed
        assert set(provider_ids(feed, 8)) <= set(feed_providers(feed))
        assert set(expected_providers(feed)) == set(provider_ids(feed, 3))  # the demo's three, as before


def test_a_late_provider_is_named():
    ledger = [
        {
            "feed": "victim-assistance",
            "provider": "ngo-harbour",
            "period": "2024",
            "status": "loaded",
            "received_at": "x",
        },
        {
            "feed": "victim-assistance",
            "provider": "ngo-lighthouse",
            "period": "2024",
            "status": "rejected",
            "received_at": "x",
        },
        {
            "feed": "victim-assistance",
            "provider": "nrm-central",
            "period": "2023",
            "status": "loaded",
            "received_at": "x",
        },
        {
            "feed": "law-enforcement",
            "provider": "ngo-lighthouse",
            "period": "2024",
            "status": "loaded",
            "received_at": "x",
        },
    ]
    expected = ["ngo-harbour", "ngo-lighthouse", "nrm-central"]
    assert missing_providers(ledger, "victim-assistance", "2024", expected) == ["ngo-lighthouse", "nrm-central"]
    assert missing_providers(ledger, "victim-assistance", "2023", expected) == ["ngo-harbour", "ngo-lighthouse"]


@pytest.mark.parametrize(("counts", "passed"), [((10, 7, 3), True), ((10, 7, 2), False), ((10, 10, 0), True)])
def test_reconciliation(counts, passed):
    row = dict(zip(("rows_in", "rows_loaded", "rows_quarantined"), counts, strict=True))
    assert reconciliation_result({"submission_id": "s", "status": "loaded", **row}).passed is passed


def test_drift_against_the_baseline_year():
    shares = {"female": {2015: 60.0, 2016: 65.0, 2017: 75.5}, "children": {2015: 20.0, 2016: 21.0}}
    assert drifted(shares, None) == {"female": "2017: 75.5% (baseline 2015: 60.0%)"}
    assert drifted(shares, 2016) == {"female": "2017: 75.5% (baseline 2016: 65.0%)"}  # 10.5 points
    shares["female"][2017] = 74.9
    assert drifted(shares, 2016) == {}  # 9.9 points: within the band
    assert drifted(shares, 2017) == {"female": "2015: 60.0% (baseline 2017: 74.9%)"}  # children have no 2017
