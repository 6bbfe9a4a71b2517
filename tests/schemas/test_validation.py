"""Each rule with a passing and a failing example, and the generator's planted defects caught by name."""

from __future__ import annotations

import collections
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import UnusableInput
from schemas.standard import codelists, feed
from schemas.validation import UNMAPPED, stored_failures, validate, without_values
from sources.reader import Extract
from tests.conftest import sample_files

TODAY = dt.date(2026, 11, 22)
PERSON = {
    "provider_record_id": "r1",
    "given_name": "Ana",
    "family_name": "Pérez",
    "date_of_birth": "31/12/1990",
    "document_number": "X12",
    "phone": "+31 6 1",
    "address": "1 Street, 1000 AB Town, North",
    "sex": "female",
    "citizenship": "ROU",
    "exploitation_form": "sexual",
}
GOOD = {
    "victim-assistance": PERSON
    | {
        "identification_date": "2020-03-01",
        "identified_by": "police",
        "identification_status": "formal",
        "country_of_exploitation": "NLD",
        "assistance_start_date": "2020-03-02",
        "services": "shelter:non_state",
    },
    "law-enforcement": PERSON
    | {
        "case_id": "C1",
        "person_role": "suspect",
        "stage": "convicted",
        "offence": "trafficking",
        "investigation_date": "2019-01-10",
        "prosecution_date": "2019-06-01",
        "conviction_date": "2020-02-01",
        "sentence_months": "36",
    },
}


def _extract(rows: list[dict]) -> Extract:
    table = pa.Table.from_pylist(rows)
    return Extract(table.append_column("_row", pa.array(range(1, len(rows) + 1), pa.int64())), "csv")


def _rules(feed_name: str, change: dict, provider: str = "no-mapping", period: str = "all") -> set[tuple]:
    result = validate(_extract([GOOD[feed_name] | change]), feed(feed_name), provider, period, today=TODAY)
    assert result.rows_in == result.rows_valid + result.rows_quarantined
    return {(f["rule"], f["column_name"]) for f in result.failures.to_pylist()}


@pytest.mark.parametrize("feed_name", list(GOOD))
def test_a_good_row_passes(feed_name):
    assert _rules(feed_name, {}) == set()


CASES = [
    ("victim-assistance", {"sex": "Q"}, ("unmapped_code", "sex")),
    ("victim-assistance", {"exploitation_form": "sexual;bogus"}, ("unmapped_code", "exploitation_form")),
    ("victim-assistance", {"citizenship": "XYZ"}, ("unmapped_code", "citizenship")),
    ("victim-assistance", {"identified_by": ""}, ("required", "identified_by")),
    ("victim-assistance", {"identification_date": "2019-02-30"}, ("invalid_date", "identification_date")),
    (
        "victim-assistance",
        {"identification_date": "2099-01-01", "assistance_start_date": ""},
        ("future_date", "identification_date"),
    ),
    ("victim-assistance", {"date_of_birth": "2020-04-01"}, ("birth_after_event", "date_of_birth")),
    ("victim-assistance", {"date_of_birth": "1890-01-01"}, ("implausible_age", "date_of_birth")),
    ("victim-assistance", {"date_of_birth": "2099-01-01"}, ("future_date", "date_of_birth")),
    ("law-enforcement", {"date_of_birth": "2099-01-01"}, ("future_date", "date_of_birth")),
    (
        "victim-assistance",
        {"assistance_start_date": "2020-02-01"},
        ("assistance_before_identification", "assistance_start_date"),
    ),
    ("victim-assistance", {"services": "shelter:government"}, ("invalid_services", "services")),
    ("victim-assistance", {"is_child": "yes"}, ("child_flag_disagrees_with_age", "is_child")),
    (
        "victim-assistance",
        {"date_of_birth": "2010-01-01", "is_child": "no"},
        ("child_flag_disagrees_with_age", "is_child"),
    ),
    ("victim-assistance", {"means_of_control": "debt_bondage;hypnosis"}, ("unmapped_code", "means_of_control")),
    ("law-enforcement", {"stage": "ARCHIVED"}, ("unmapped_code", "stage")),
    ("law-enforcement", {"prosecution_date": "2018-01-01"}, ("stage_dates_out_of_order", "prosecution_date")),
    ("law-enforcement", {"conviction_date": "2019-05-01"}, ("stage_dates_out_of_order", "conviction_date")),
    ("law-enforcement", {"conviction_date": ""}, ("stage_date_missing", "conviction_date")),
    (
        "law-enforcement",
        {"stage": "prosecuted", "conviction_date": ""},
        ("sentence_without_conviction", "sentence_months"),
    ),
    ("law-enforcement", {"sentence_months": "-3"}, ("implausible_sentence", "sentence_months")),
    ("law-enforcement", {"sentence_months": "three"}, ("invalid_integer", "sentence_months")),
]


@pytest.mark.parametrize(("feed_name", "change", "expected"), CASES)
def test_each_rule_catches_its_failure(feed_name, change, expected):
    assert expected in _rules(feed_name, change)


def test_optional_disaggregations_pass_when_consistent():
    full = {
        "is_child": "no",
        "means_of_control": "debt_bondage;false_promises",
        "exploitation_duration": "1_to_6_months",
        "recruiter_relationship": "employer",
        "economic_sector": "agriculture",
        "referred_by": "nrm",
        "disability": "unknown",
    }
    assert _rules("victim-assistance", full) == set()
    assert _rules("victim-assistance", {"is_child": "yes", "date_of_birth": "2010-01-01"}) == set()


def test_outside_period():
    assert ("outside_period", "reporting_year") in _rules("victim-assistance", {}, period="2021")
    assert _rules("victim-assistance", {}, period="2020") == set()
    assert _rules("victim-assistance", {}, period="2020-Q1") == set()
    assert ("outside_period", "reporting_year") in _rules("victim-assistance", {}, period="2020-Q2")


def test_provider_mapping_applies_and_unmapped_value_is_named():
    assert _rules("victim-assistance", {"sex": "W"}, provider="ngo-lighthouse") == set()
    result = validate(
        _extract([GOOD["victim-assistance"] | {"sex": "W"}]), feed("victim-assistance"), "ngo-harbour", today=TODAY
    )
    (failure,) = result.failures.to_pylist()
    assert failure["rule"] == "unmapped_code" and failure["value"] == "W"
    assert "ngo-harbour" in failure["message"] and "sex" in failure["message"]


def test_duplicate_record_id_quarantines_the_repeat_only():
    row = GOOD["victim-assistance"]
    result = validate(_extract([row, row | {"given_name": "Other"}]), feed("victim-assistance"), "x", today=TODAY)
    assert [(f["row_number"], f["rule"]) for f in result.failures.to_pylist()] == [(2, "duplicate_record_id")]
    assert result.rows_valid == 1 and result.rows_quarantined == 1


def test_messages_never_quote_identifiers():
    bad = {
        "given_name": "Canaryname",
        "family_name": "Canaryfamily",
        "sex": "Canaryname Canaryfamily",
        "date_of_birth": "Canarydate",
    }
    result = validate(_extract([GOOD["victim-assistance"] | bad]), feed("victim-assistance"), "x", today=TODAY)
    text = str(stored_failures(result.failures).to_pylist())
    assert result.rows_quarantined == 1
    assert "Canary" not in text


def test_missing_required_column_rejects_the_file():
    row = {k: v for k, v in GOOD["victim-assistance"].items() if k != "sex"}
    with pytest.raises(UnusableInput, match="required column.*sex"):
        validate(_extract([row]), feed("victim-assistance"), "x", filename="f.csv")


def test_extra_columns_are_dropped_with_a_note():
    result = validate(
        _extract([GOOD["victim-assistance"] | {"notes": "free text"}]), feed("victim-assistance"), "x", today=TODAY
    )
    assert "notes" not in result.valid.column_names
    assert any("dropped 1 column" in n for n in result.notes)


def test_every_code_list_has_definitions():
    for name, codes in codelists().items():
        assert codes, name
        assert all(isinstance(d, str) and d.strip() for d in codes.values()), name


def test_sample_defects_are_caught_by_the_right_rule(sample_dir, truth_records):
    expected = collections.defaultdict(dict)
    for r in truth_records:
        expected[(r["feed"], r["provider"])][len(expected[(r["feed"], r["provider"])]) + 1] = r["defect"]
    for path, feed_name, provider in sample_files(sample_dir):
        result = validate(__import__("sources.reader").reader.read_extract(path), feed(feed_name), provider)
        caught = collections.defaultdict(set)
        for f in result.failures.to_pylist():
            caught[f["row_number"]].add(f["rule"])
        planted = expected[(feed_name, provider)]
        assert len(planted) == result.rows_in
        for row, defect in planted.items():
            if defect:
                assert defect in caught[row], (path.name, row, defect, caught[row])
            else:
                assert row not in caught, (path.name, row, caught[row])


@settings(max_examples=15, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "", "e"]), min_size=1, max_size=14),
    sexes=st.lists(st.sampled_from(["female", "male", "W", ""]), min_size=14, max_size=14),
    batch_rows=st.integers(min_value=1, max_value=5),
)
def test_batches_validate_exactly_as_the_whole_file(ids, sexes, batch_rows):
    """A record id repeated in a later batch is a duplicate as in one batch; failures, counts and what the
    expectations see do not depend on where the batches split the file."""
    rows = [GOOD["victim-assistance"] | {"provider_record_id": i, "sex": s} for i, s in zip(ids, sexes, strict=False)]
    whole = validate(_extract(rows), feed("victim-assistance"), "x", today=TODAY)
    batched = validate(_extract(rows), feed("victim-assistance"), "x", today=TODAY, batch_rows=batch_rows)
    assert batched.failures.equals(whole.failures)
    assert batched.valid.equals(whole.valid)
    assert (batched.rows_in, batched.rows_valid) == (whole.rows_in, whole.rows_valid)
    assert (whole.rows_in, whole.rows_valid) == (len(rows), whole.valid.num_rows)
    pd.testing.assert_frame_equal(batched.frame, whole.frame, check_categorical=False)
    first_rows = batched.frame["provider_record_id__first_row"].tolist()
    for row, (record_id, first) in enumerate(zip(ids, first_rows, strict=False), start=1):
        assert (first is pd.NA) if not record_id else first == ids.index(record_id) + 1, (row, record_id, first)


def test_a_rule_that_raises_is_an_error_never_skipped(monkeypatch):
    """A check that raises inside pandera once went unreported (and unchecked) on every batch."""
    import schemas.validation as validation_module
    from schemas.rules import Rule, feed_rules

    def with_a_broken_rule(f, period="all", today=None):
        return [*feed_rules(f, period, today), Rule("broken", "sex", lambda d: d["no_such_column"], "never")]

    monkeypatch.setattr(validation_module, "feed_rules", with_a_broken_rule)
    with pytest.raises(RuntimeError, match="raised an error instead of checking"):
        validate(_extract([GOOD["victim-assistance"]]), feed("victim-assistance"), "no-mapping", today=TODAY)


def test_without_values_blanks_what_is_not_a_code_and_shares_the_rest():
    rows = [GOOD["victim-assistance"] | {"provider_record_id": f"r{i}"} for i in range(3)]
    rows[1] = rows[1] | {"sex": "Maria"}  # a name typed into a code column
    outcome = validate(_extract(rows), feed("victim-assistance"), "no-mapping", today=TODAY)
    shown = without_values(outcome, feed("victim-assistance"))
    assert list(outcome.frame["sex"]) == ["female", "Maria", "female"]
    assert list(shown.frame["sex"]) == ["female", UNMAPPED, "female"]
    assert "Maria" not in shown.frame["sex"].cat.categories
    assert shown.failures["value"].null_count == shown.failures.num_rows
    # A column of codes only is the caller's own, not a copy.
    codes = (o.frame["citizenship"].array.codes for o in (shown, outcome))
    assert np.shares_memory(*codes)
