"""Shortfalls and gaps from small hand-made tables: absent providers, unknown shares, breaks, law coverage."""

from __future__ import annotations

from reporting import gaps


def cell(indicator, dimension, category, period, value, suppression=""):
    return {
        "indicator": indicator,
        "dimension": dimension,
        "category": category,
        "period": period,
        "value": None if suppression else value,
        "suppressed": bool(suppression),
        "suppression": suppression,
    }


def test_a_provider_with_records_last_year_and_none_this_year_is_reported():
    rows = [
        cell("victim_records", "provider", "victim-assistance: ngo-a", 2023, 40),
        cell("victim_records", "provider", "victim-assistance: ngo-b", 2023, None, "primary"),
        cell("victim_records", "provider", "law-enforcement: police-c", 2023, 12),
        cell("victim_records", "provider", "law-enforcement: police-c", 2024, None, "secondary"),
        cell("victim_records", "provider", "victim-assistance: ngo-d", 2024, 9),
    ]
    subs = [{"provider": "ngo-a", "feed": "victim-assistance", "period": "2023", "superseded": False}]
    missing = gaps.missing_providers(rows, subs, 2024)
    assert [(m["provider"], m["feed"], len(m["current"])) for m in missing] == [
        ("ngo-a", "victim-assistance", 1),
        ("ngo-b", "victim-assistance", 0),
    ]


def test_unknown_share_uses_published_values_only():
    rows = [
        cell("unique_victims", "total", "all", 2024, 100),
        cell("unique_victims", "sex", "unknown", 2024, 11),
        cell("unique_victims", "age_group", "unknown", 2024, None, "primary"),
        cell("unique_victims", "citizenship", "XXX", 2024, 10),
    ]
    got = {s["dimension"]: (s["share"], s["flagged"]) for s in gaps.unknown_shares(rows, 2024)}
    assert got == {"sex": (0.11, True), "age_group": (None, False), "citizenship": (0.10, False)}


def test_breaks_in_series_skip_suppressed_and_small_changes():
    rows = [
        cell("unique_victims", "sex", "female", 2023, 100),
        cell("unique_victims", "sex", "female", 2024, 140),  # +40%: no break
        cell("unique_victims", "sex", "male", 2023, 20),
        cell("unique_victims", "sex", "male", 2024, 31),  # +55%
        cell("unique_victims", "sex", "other", 2023, 8),
        cell("unique_victims", "sex", "other", 2024, None, "primary"),  # withheld, not missing
        cell("unique_victims", "age_group", "0-11", 2023, 6),  # no value in 2024
        cell("unique_victims", "age_group", "60+", 2023, None, "primary"),
    ]
    got = {(b["category"], b["after"]) for b in gaps.series_breaks(rows, 2024)}
    assert got == {("male", 31), ("0-11", None)}


def test_forms_not_covered_by_law():
    forms = [
        {"reporting_year": 2016, "exploitation_form": "forced_marriage", "status": "not_covered_by_law"},
        {"reporting_year": 2016, "exploitation_form": "sexual", "status": "counted"},
    ]
    coverage = [
        {"column_name": "exploitation_form", "code": "forced_marriage", "covered_from": 2018, "note": "Since 2018."},
        {"column_name": "exploitation_form", "code": "forced_criminality", "covered_from": 2016, "note": "2016."},
    ]
    assert [f["form"] for f in gaps.not_covered(forms, coverage, 2016)] == ["forced_marriage"]
    assert [f["form"] for f in gaps.not_covered([], coverage, 2015)] == ["forced_criminality", "forced_marriage"]
    assert gaps.not_covered([], coverage, 2018) == []


def test_suppressed_counts_say_only_how_many_are_withheld():
    rows = [
        cell("x", "d", "a", 1, None, "primary"),
        cell("x", "d", "b", 1, None, "secondary"),
        cell("x", "d", "c", 1, 7),
    ]
    assert gaps.suppressed_counts([("t", rows)]) == [{"table": "t", "cells": 3, "withheld": 2}]
