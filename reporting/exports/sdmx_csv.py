"""SDMX-CSV written with sdmx1 against a shipped structure, and read back and checked against it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sdmx
from sdmx.message import DataMessage, StructureMessage
from sdmx.model import common
from sdmx.model import v21 as m
from sdmx.writer.csv import to_csv

from errors import RapporteurError
from reporting.exports.structures import enumerations


class ExportInvalid(RapporteurError):
    """An export that does not follow its structure: a bug, so nothing is handed over (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Observation:
    """One row of a dataflow: its key (every dimension but TIME_PERIOD), year, value and attributes."""

    key: dict[str, str]
    year: int
    value: int | float | None
    attributes: dict[str, str]


def write_flow(msg: StructureMessage, flow_id: str, observations: list[Observation], path: Path) -> Path:
    """Write one dataflow's observations as SDMX-CSV (sdmx1's writer: SDMX-CSV 2.0, one row per observation)."""
    dfd = msg.dataflow[flow_id]
    dsd = dfd.structure
    measure = dsd.measures.components[0]
    data = m.DataSet(described_by=dfd, structured_by=dsd)
    data.add_obs(
        [
            m.Observation(
                dimension=dsd.make_key(common.Key, {**o.key, "TIME_PERIOD": str(o.year)}),
                value=None if o.value is None else float(o.value),
                value_for=measure,
                attached_attribute={
                    a: common.AttributeValue(value=v, value_for=dsd.attributes.get(a))
                    for a, v in o.attributes.items()
                    if v
                },
            )
            for o in observations
        ]
    )
    frame = to_csv(data, rtype=pd.DataFrame, attributes="o")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("sdmx1 did not give a table")
    # sdmx1 hands values over as floats (232.0); a count is written as a whole number, a rate with 2 decimals
    frame["OBS_VALUE"] = [_number(o.value) for o in observations]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _number(value: int | float | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def read_flow(path: Path, msg: StructureMessage, flow_id: str) -> pd.DataFrame:
    """An SDMX-CSV file read back with sdmx1 against its dataflow: one row per observation, values as text."""
    dfd = msg.dataflow[flow_id]
    data = sdmx.read_sdmx(path, structure=dfd)
    if not isinstance(data, DataMessage):
        raise TypeError(f"{path.name} is not SDMX data")
    rows = []
    for ds in data.data:
        for obs in ds.obs:
            row = {kv.id: str(kv.value) for kv in obs.key.values.values()}
            row["OBS_VALUE"] = "" if obs.value is None else str(obs.value)
            for a, v in obs.attrib.items():
                row[a] = "" if v.value is None else str(v.value)
            rows.append(row)
    return pd.DataFrame(rows)


def check_flow(frame: pd.DataFrame, msg: StructureMessage, flow_id: str, flag: str, grid: bool) -> None:
    """Every code in its code list, every key complete and once, a value exactly where no flag withholds it.

    `flag`: the attribute that marks a value not shown, and what it holds for a shown one (`OBS_FLAG:` or
    `OBS_STATUS:A`). `grid`: every combination of the codes of the other dimensions is present for each year.
    """
    codes = enumerations(msg, flow_id)
    dsd = msg.dataflow[flow_id].structure
    dims = [d.id for d in dsd.dimensions.components if d.id != "TIME_PERIOD"]
    where = f"{flow_id}"
    if frame.empty:
        raise ExportInvalid(f"{where}: no observation")
    for column in [*dims, "TIME_PERIOD"]:
        if column not in frame or (frame[column].fillna("") == "").any():
            raise ExportInvalid(f"{where}: a key without {column}")
    for column, allowed in codes.items():
        if column in frame:
            bad = set(frame[column].fillna("")) - set(allowed) - ({""} if column not in dims else set())
            if bad:
                raise ExportInvalid(f"{where}: {column} holds codes outside its code list: {sorted(bad)[:5]}")
    keys = frame[[*dims, "TIME_PERIOD"]]
    if keys.duplicated().any():
        raise ExportInvalid(f"{where}: a key occurs twice")
    attr, shown = flag.split(":")
    flags = frame.get(attr, pd.Series("", index=frame.index)).fillna("")
    has_value = frame["OBS_VALUE"].fillna("") != ""
    if ((flags == shown) != has_value).any():
        raise ExportInvalid(f"{where}: a value with a withholding flag, or a missing value without one")
    numbers = pd.to_numeric(frame.loc[has_value, "OBS_VALUE"], errors="coerce")
    if numbers.isna().any() or (numbers < 0).any():
        raise ExportInvalid(f"{where}: a value that is not a count or rate")
    if grid:
        expected = len(list(itertools.product(*(codes[d] for d in dims if d in codes and len(codes[d]) > 0))))
        per_area = frame.groupby("TIME_PERIOD").size()
        areas = [d for d in dims if d in ("GEO", "REF_AREA")]
        expected //= max(1, len(codes[areas[0]])) if areas else 1
        if (per_area != expected).any():
            raise ExportInvalid(f"{where}: a year lacks some combination of codes ({expected} expected per year)")
