"""The crosswalk to IC-TIP covers every code the exports touch, and the shipped SDMX structures follow it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas.crosswalk as cw
from reporting.exports.structures import build_structures, enumerations, load_structure
from schemas.standard import codelist_version, codelists


def test_every_code_of_a_touched_code_list_has_a_crosswalk_entry():
    assert cw.missing_entries() == []
    assert cw.crosswalk()["codelist_version"] == codelist_version()


def test_a_code_without_an_entry_is_named(monkeypatch):
    lists = dict(codelists())  # a copy: codelists() is cached
    lists["exploitation_form"] = {**lists["exploitation_form"], "cyber_exploitation": "Exploitation online."}
    monkeypatch.setattr(cw, "codelists", lambda: lists)
    assert cw.missing_entries() == ["exploitation_form:cyber_exploitation"]


def test_an_entry_that_lacks_a_format_is_named(monkeypatch):
    data = cw.crosswalk()
    broken = {
        **data,
        "codelists": {**data["codelists"], "sex": {**data["codelists"]["sex"], "male": {"ictip": "male"}}},
    }
    monkeypatch.setattr(cw, "crosswalk", lambda: broken)
    assert cw.missing_entries() == ["sex:male"]


@given(st.sampled_from(sorted(codelists()["country"])), st.sampled_from(["NLD", "DEU", "NOR", "FRA"]))
def test_every_country_falls_into_exactly_one_citizenship_group(country, home):
    group = cw.citizenship_group(country, home)
    assert group in cw.crosswalk()["citizenship"]
    assert (group == "own") == (country == home)
    assert (group == "unknown") == (country == "XXX")
    if group == "eu":
        assert country in cw.country_groups()["EU27_2020"] and country != home


def test_the_eu_group_has_the_27_member_states():
    eu = cw.country_groups()["EU27_2020"]
    assert len(eu) == 27 and eu <= set(codelists()["country"])


@pytest.mark.parametrize("name", sorted(build_structures()))
def test_the_shipped_structures_are_what_the_crosswalk_gives(name):
    """When this fails, write them again: `reporting.exports.structures.write_structures()`."""
    built, shipped = build_structures()[name], load_structure(name)
    assert sorted(shipped.dataflow) == sorted(built.dataflow)
    for flow in built.dataflow:
        assert enumerations(shipped, flow) == enumerations(built, flow)
        dims = {d.id for d in shipped.dataflow[flow].structure.dimensions.components}
        assert dims == {d.id for d in built.dataflow[flow].structure.dimensions.components}


def test_every_format_code_of_the_crosswalk_is_in_a_structure():
    eurostat = enumerations(load_structure("crim_thb.xml"), "CRIM_THB_VICT")
    assert set(cw.members("sex", "eurostat")) <= set(eurostat["SEX"])
    assert set(cw.members("age_group", "eurostat")) <= set(eurostat["AGE"])
    vexp = enumerations(load_structure("crim_thb.xml"), "CRIM_THB_VEXP")
    assert set(cw.members("exploitation_form", "eurostat")) <= set(vexp["EXPL"])
    sdg = enumerations(load_structure("sdg_16_2_2.xml"), "SDG_16_2_2")
    assert set(cw.members("exploitation_form", "sdg")) <= set(sdg["EXPLOITATION"])
