"""The SDMX structure definitions the Eurostat and SDG exports follow (sdmx1), shipped in schemas/sdmx/.

The code lists come from the crosswalk (schemas/crosswalks/ictip.yaml), so a code added there reaches the
structures when they are written again (`write_structures`; a test fails when the shipped files differ
from what the crosswalk gives). At run time the exports read only the shipped files: nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sdmx
from sdmx.message import Header, StructureMessage
from sdmx.model import common
from sdmx.model import v21 as m

from schemas.crosswalk import crosswalk, members
from schemas.standard import HERE

SDMX_DIR = HERE / "sdmx"
AGENCY = "RAPPORTEUR"  # these structures are this product's rendering of the formats, maintained here
VERSION = "1.0"
FLAG_ATTRIBUTE = "OBS_FLAG"


@dataclass(frozen=True)
class Flow:
    """One dataflow: its id, name and dimensions before GEO/REF_AREA and TIME_PERIOD."""

    id: str
    name: str
    dimensions: tuple[str, ...]


EUROSTAT_FILE, SDG_FILE = "crim_thb.xml", "sdg_16_2_2.xml"
EUROSTAT_FLOWS = (
    Flow("CRIM_THB_VICT", "Registered victims of trafficking by sex and age", ("FREQ", "UNIT", "SEX", "AGE")),
    Flow(
        "CRIM_THB_VCTZ", "Registered victims of trafficking by citizenship and sex", ("FREQ", "UNIT", "CITIZEN", "SEX")
    ),
    Flow(
        "CRIM_THB_VEXP",
        "Registered victims of trafficking by form of exploitation and sex",
        ("FREQ", "UNIT", "EXPL", "SEX"),
    ),
    Flow(
        "CRIM_THB_SCON",
        "Persons suspected, prosecuted and convicted of trafficking by sex",
        ("FREQ", "UNIT", "LEG_STAT", "SEX"),
    ),
)
SDG_FLOW = Flow(
    "SDG_16_2_2",
    "SDG 16.2.2: detected victims of trafficking, number and per 100,000 population",
    ("FREQ", "SERIES", "SEX", "AGE", "EXPLOITATION"),
)
# Eurostat's flags for a value that is not shown (its value column is then empty).
EUROSTAT_FLAGS = {
    "c": "Confidential: withheld by disclosure control (never zero)",
    "z": "Not applicable: national law did not cover this form of trafficking in the year",
    "na": "Not available (':'): not collected, or not published at this level of detail",
}
SDG_TOTAL = "_T"
LABELS = {
    "A": "Annual",
    "NR": "Number",
    "T": "Total",
    "F": "Females",
    "M": "Males",
    "UNK": "Unknown",
    "TOTAL": "Total",
    "Y_LT18": "Less than 18 years",
    "Y_GE18": "18 years or over",
    "NAT": "Reporting country",
    "EU27_2020_FOR": "EU27 countries (from 2020) except reporting country",
    "NEU27_2020_FOR": "Non-EU27 countries (from 2020) nor reporting country",
    "SEX_EXP": "Sexual exploitation",
    "LAB_EXP": "Labour exploitation (forced labour or services, slavery, servitude)",
    "OTH_EXP": "Other forms of exploitation",
    "PER_SUSP": "Suspected persons",
    "PER_PRSC": "Prosecuted persons",
    "PER_CNV": "Convicted persons",
    "_T": "Total",
    "FEMALE": "Female",
    "MALE": "Male",
    "SEXUAL": "Sexual exploitation",
    "FORCED_LABOUR": "Forced labour",
    "OTHER": "Other purposes",
    "VC_HTF_DETV": "Detected victims of human trafficking (number)",
    "VC_HTF_DETV_RATE": "Detected victims of human trafficking per 100,000 population",
    "NUMBER": "Number",
    "PER_100000_POP": "Per 100,000 population",
}
# SDMX's own code lists for the SDG flow's observation status and confidentiality.
OBS_STATUS = {
    "A": "Normal value",
    "O": "Missing value (withheld, see CONF_STATUS)",
    "L": "Missing value; data exist but were not collected (or not published at this level)",
    "M": "Missing value; data cannot exist (not covered by national law)",
}
CONF_STATUS = {"F": "Free", "C": "Confidential statistical information"}


def eurostat_codes() -> dict[str, list[str]]:
    """Every dimension's codes for the Eurostat flows: the total first, then the crosswalk's targets."""
    cw = crosswalk()
    return {
        "FREQ": ["A"],
        "UNIT": ["NR"],
        "SEX": ["T", *members("sex", "eurostat")],
        "AGE": ["TOTAL", *members("age_group", "eurostat")],
        "CITIZEN": ["TOTAL", *(str(g["eurostat"]) for g in cw["citizenship"].values())],
        "EXPL": ["TOTAL", *members("exploitation_form", "eurostat")],
        "LEG_STAT": list(members("stage", "eurostat")),
        "GEO": sorted(str(a["eurostat"]) for a in cw["reporting_area"].values()),
    }


def sdg_codes() -> dict[str, list[str]]:
    cw = crosswalk()
    return {
        "FREQ": ["A"],
        "SERIES": ["VC_HTF_DETV", "VC_HTF_DETV_RATE"],
        "SEX": [SDG_TOTAL, *members("sex", "sdg")],
        "AGE": [SDG_TOTAL, *members("age_group", "sdg")],
        "EXPLOITATION": [SDG_TOTAL, *members("exploitation_form", "sdg")],
        "REF_AREA": sorted(str(a["sdg"]) for a in cw["reporting_area"].values()),
    }


def _codelist(cid: str, codes: dict[str, str]) -> common.Codelist:
    cl = common.Codelist(id=cid, maintainer=common.Agency(id=AGENCY), version=VERSION, name=cid, is_final=True)
    for code, name in codes.items():
        cl.append(common.Code(id=code, name=name))
    return cl


def _message(
    flows: tuple[Flow, ...], codes: dict[str, list[str]], area: str, attributes: dict[str, dict[str, str]]
) -> StructureMessage:
    agency = common.Agency(id=AGENCY)
    msg = StructureMessage(header=Header(id=f"{AGENCY}_STRUCTURES", prepared=dt.datetime(2026, 1, 1), sender=agency))
    cs = common.ConceptScheme(id="CS_TRAFFICKING", maintainer=agency, version=VERSION, name="Concepts", is_final=True)
    lists = {d: _codelist(f"CL_{d}", {c: LABELS.get(c, c) for c in cc}) for d, cc in codes.items()}
    lists |= {a: _codelist(f"CL_{a}", cc) for a, cc in attributes.items()}
    for cl in lists.values():
        msg.add(cl)
    msg.add(cs)
    for flow in flows:
        dsd = m.DataStructureDefinition(id=f"DSD_{flow.id}", maintainer=agency, version=VERSION, name=flow.name)
        for i, dim in enumerate((*flow.dimensions, area)):
            concept = cs.setdefault(id=dim, name=dim)
            rep = common.Representation(enumerated=lists[dim])
            dsd.dimensions.getdefault(dim, concept_identity=concept, local_representation=rep, order=i)
        concept = cs.setdefault(id="TIME_PERIOD", name="Reporting year")
        dsd.dimensions.getdefault("TIME_PERIOD", cls=common.TimeDimension, concept_identity=concept)
        dsd.measures.getdefault("OBS_VALUE", concept_identity=cs.setdefault(id="OBS_VALUE", name="Value"))
        for attr in attributes:
            dsd.attributes.getdefault(
                attr,
                concept_identity=cs.setdefault(id=attr, name=attr),
                local_representation=common.Representation(enumerated=lists[attr]),
                usage_status=common.UsageStatus.conditional,
                related_to=m.PrimaryMeasureRelationship(),
            )
        msg.add(dsd)
        msg.add(m.DataflowDefinition(id=flow.id, maintainer=agency, version=VERSION, structure=dsd, name=flow.name))
    return msg


def build_structures() -> dict[str, StructureMessage]:
    """The structure messages as the crosswalk gives them, by file name."""
    return {
        EUROSTAT_FILE: _message(EUROSTAT_FLOWS, eurostat_codes(), "GEO", {FLAG_ATTRIBUTE: EUROSTAT_FLAGS}),
        SDG_FILE: _message(
            (SDG_FLOW,),
            sdg_codes(),
            "REF_AREA",
            {
                "UNIT_MEASURE": {c: LABELS[c] for c in ("NUMBER", "PER_100000_POP")},
                "OBS_STATUS": OBS_STATUS,
                "CONF_STATUS": CONF_STATUS,
            },
        ),
    }


def write_structures(out_dir: Path = SDMX_DIR) -> list[Path]:
    """Write the structure files (SDMX-ML 2.1); run after a change of the crosswalk, then commit them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, msg in build_structures().items():
        (out_dir / name).write_bytes(sdmx.to_xml(msg, pretty_print=True))
        paths.append(out_dir / name)
    return paths


def load_structure(name: str, folder: Path = SDMX_DIR) -> StructureMessage:
    """A shipped structure file, read with sdmx1."""
    msg = sdmx.read_sdmx(folder / name)
    if not isinstance(msg, StructureMessage):
        raise TypeError(f"{name} is not an SDMX structure message")
    return msg


def enumerations(msg: StructureMessage, flow_id: str) -> dict[str, list[str]]:
    """Per dimension and attribute of a flow: its codes, from the structure as read."""
    dsd = msg.dataflow[flow_id].structure
    out = {}
    for comp in (*dsd.dimensions.components, *dsd.attributes.components):
        rep = comp.local_representation
        if rep is not None and rep.enumerated is not None:
            out[comp.id] = [c.id for c in rep.enumerated]
    return out
