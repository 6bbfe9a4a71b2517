"""Totals read back from a written export must agree with the research database (and so with each other)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from reporting.exports.figures import Published
from reporting.exports.sdmx_csv import ExportInvalid, read_flow
from reporting.exports.structures import EUROSTAT_FILE, EUROSTAT_FLOWS, SDG_FILE, SDG_FLOW, load_structure

TOTAL_CODES = {"T", "TOTAL", "_T"}


def _expected(pub: Published, year: int) -> str:
    fig = pub.peek("unique_victims", year, "total", "all")
    return "" if fig.value is None else str(fig.value)


def read_totals(kind: str, files: list[Path]) -> dict[str, dict[int, str]]:
    """Per table or dataflow of an export: the total of victims per year as written ('' when not shown)."""
    by_name = {p.name: p for p in files}
    out: dict[str, dict[int, str]] = {}
    if kind == "glotip":
        wb = load_workbook(by_name["glotip.xlsx"], read_only=True)
        for sheet in ("victims_sex_age", "victims_exploitation", "victims_citizenship"):
            rows = list(wb[sheet].iter_rows(values_only=True))
            years = [int(y) for y in rows[1][2:]]
            (total,) = [r for r in rows[2:] if r[0] == "total"]
            out[sheet] = {y: str(v) if isinstance(v, int) else "" for y, v in zip(years, total[2:], strict=True)}
        wb.close()
        return out
    if kind == "eurostat":
        msg, flows = load_structure(EUROSTAT_FILE), [f.id for f in EUROSTAT_FLOWS if f.id != "CRIM_THB_SCON"]
    else:
        msg, flows = load_structure(SDG_FILE), [SDG_FLOW.id]
    for flow in flows:
        frame = read_flow(by_name[f"{flow.lower()}.csv"], msg, flow)
        dims = [c for c in ("SEX", "AGE", "CITIZEN", "EXPL", "EXPLOITATION") if c in frame]
        mask = frame[dims].isin(TOTAL_CODES).all(axis=1)
        if "SERIES" in frame:
            mask &= frame["SERIES"] == "VC_HTF_DETV"
        out[flow] = {int(r["TIME_PERIOD"]): r["OBS_VALUE"] for _, r in frame[mask].iterrows()}
    return out


def folder_totals(root: Path) -> dict[tuple[str, int], dict[str, dict[int, str]]]:
    """Every export written under `root` (`<kind>/<year>/`, as the Dagster assets write them), read back:
    (kind, folder year) -> its totals per table and year."""
    found = {}
    for kind in ("glotip", "eurostat", "sdg"):
        for folder in sorted(Path(root, kind).glob("[0-9][0-9][0-9][0-9]")):
            files = [p for p in folder.iterdir() if p.is_file()]
            if files:
                found[kind, int(folder.name)] = read_totals(kind, files)
    return found


def disagreements(pub: Published, root: Path) -> list[str]:
    """Each table of each export under `root` whose total of victims differs from the research database's."""
    out = []
    for (kind, _), tables in folder_totals(root).items():
        for table, totals in tables.items():
            for year, value in totals.items():
                expected = _expected(pub, year) if year in pub.years else value
                if value != expected:
                    said, truth = value or "withheld", expected or "withheld"
                    out.append(f"{kind} {year}: {table} says {said}, the research database {truth}")
    return out


def check_totals(kind: str, files: list[Path], pub: Published, years: list[int]) -> dict[int, str]:
    """The export's totals per year, each equal to the research database's total of unique victims."""
    expected = {y: _expected(pub, y) for y in years}
    for table, totals in read_totals(kind, files).items():
        if totals != expected:
            raise ExportInvalid(f"{kind} export: the total of {table} does not agree with the research database")
    return expected
