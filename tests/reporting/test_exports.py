"""`rapporteur export glotip|eurostat|sdg` on a generated installation: each export read back and compared.

The SDMX-CSV files are read with sdmx1 against the shipped structures, the questionnaire with openpyxl, and
every figure is compared with the research database's published `indicators`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from errors import DisclosureError
from reporting.exports.audit import audit_export
from reporting.exports.eurostat import observations as eurostat_observations
from reporting.exports.figures import CONFIDENTIAL, NOT_COVERED, PUBLISHED, Figure, Published, indicator_cell
from reporting.exports.glotip import tables as glotip_tables
from reporting.exports.population import DEMO_FILE
from reporting.exports.sdg import observations as sdg_observations
from reporting.exports.sdmx_csv import check_flow, read_flow
from reporting.exports.structures import EUROSTAT_FLOWS, load_structure
from schemas.crosswalk import members
from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import installation_after_run
from warehouse.protection import RECORD_FILE, read_published, read_record

COUNTRY = "NLD"


@pytest.fixture(scope="module")
def home(tmp_path_factory, sample_dir):
    """An installation after one run of the main job over the generated sample (RAPPORTEUR_HOME points at it)."""
    with installation_after_run(tmp_path_factory.mktemp("exports") / "home", sample_dir) as home:
        yield home


@pytest.fixture(scope="module")
def indicators(home) -> dict[tuple, int | None]:
    with duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT indicator, period, dimension, category, value, suppressed FROM indicators"
        ).fetchall()
    return {(i, int(p), d, c): (None if s else int(v)) for i, p, d, c, v, s in rows}


@pytest.fixture(scope="module")
def years(indicators) -> list[int]:
    return sorted({k[1] for k in indicators})


def _export(kind: str, years: list[int], out: Path, *extra) -> dict:
    result = _run("export", kind, "--year", years[0], "--to", years[-1], "--out", out, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _total(indicators, year) -> str:
    v = indicators[("unique_victims", year, "total", "all")]
    return "" if v is None else str(v)


def test_eurostat_reads_back_through_sdmx1_and_matches_the_research_tables(home, indicators, years, tmp_path):
    out = _export("eurostat", years, tmp_path)
    assert sorted(Path(p).name for p in out["files"]) == sorted(f"{f.id.lower()}.csv" for f in EUROSTAT_FLOWS)
    msg = load_structure("crim_thb.xml")
    frames = {f.id: read_flow(tmp_path / f"{f.id.lower()}.csv", msg, f.id) for f in EUROSTAT_FLOWS}
    for flow, frame in frames.items():
        check_flow(frame, msg, flow, "OBS_FLAG:", grid=True)  # codes, complete keys, flags, full grid
        assert set(frame["OBS_FLAG"].fillna("")) <= {"", "c", "z", "na"}
        assert set(frame["GEO"]) == {"NL"}
    vict = frames["CRIM_THB_VICT"].set_index(["TIME_PERIOD", "SEX", "AGE"])
    for year in years:
        assert vict.loc[(str(year), "T", "TOTAL"), "OBS_VALUE"] == _total(indicators, year)
        for code, national in (("F", "female"), ("M", "male")):
            row = vict.loc[(str(year), code, "TOTAL")]
            published = indicators.get(("unique_victims", year, "sex", national), 0)
            if published is not None:
                assert row["OBS_VALUE"] == str(published) and row["OBS_FLAG"] == ""
            elif row["OBS_VALUE"] != "":  # shown only when the total less the other sexes gives it
                rest = [
                    v
                    for (i, p, d, c), v in indicators.items()
                    if (i, p, d) == ("unique_victims", year, "sex") and c != national
                ]
                total = indicators[("unique_victims", year, "total", "all")]
                assert None not in rest and total is not None
                assert int(row["OBS_VALUE"]) == total - sum(rest)
            else:
                assert row["OBS_FLAG"] == "c"  # withheld: confidential, never 0 and never blank-as-zero
        children = [indicators.get(("unique_victims", year, "age_group", a), 0) for a in ("0-11", "12-17")]
        if None not in children:
            assert vict.loc[(str(year), "T", "Y_LT18"), "OBS_VALUE"] == str(sum(children))
        assert vict.loc[(str(year), "F", "Y_LT18"), "OBS_FLAG"] == "na"  # sex by age is not published
    scon = frames["CRIM_THB_SCON"].set_index(["TIME_PERIOD", "LEG_STAT", "SEX"])
    for year in years:
        for stage, code in (("investigated", "PER_SUSP"), ("convicted", "PER_CNV")):
            v = indicators[("suspects", year, "stage", stage)]
            assert scon.loc[(str(year), code, "T"), "OBS_VALUE"] == ("" if v is None else str(v))


def test_glotip_workbook_and_csv_lay_out_the_questionnaire(home, indicators, years, tmp_path):
    out = _export("glotip", years, tmp_path)
    assert "glotip.xlsx" in {Path(p).name for p in out["files"]}
    wb = load_workbook(tmp_path / "glotip.xlsx", read_only=True)
    assert wb.sheetnames[:4] == [
        "victims_sex_age",
        "victims_exploitation",
        "victims_citizenship",
        "persons_criminal_justice",
    ]
    sheet = {ws: list(wb[ws].iter_rows(values_only=True)) for ws in wb.sheetnames}
    header = sheet["victims_citizenship"][1]
    assert list(header[2:]) == years
    with (tmp_path / "glotip_victims_citizenship.csv").open(encoding="utf-8-sig", newline="") as f:
        csv_rows = list(csv.reader(f))
    assert csv_rows[0][2:] == [str(y) for y in years]
    for row, line in zip(sheet["victims_citizenship"][2:], csv_rows[1:], strict=True):
        assert [str(c) for c in row] == line  # the CSV holds what the workbook holds
        code = row[0]
        if len(code) == 3 and code.isupper():  # one country: a copy of its published cell
            for year, cell in zip(years, row[2:], strict=True):
                v = indicators.get(("unique_victims", year, "citizenship", code), 0)
                assert cell == (v if v is not None else "confidential")
    forms = {r[0]: dict(zip(years, r[2:], strict=True)) for r in sheet["victims_exploitation"][2:]}
    assert forms["total"] == {y: indicators[("unique_victims", y, "total", "all")] or "confidential" for y in years}
    for year in years:  # national law covered forced marriage only from 2018 (schemas/coverage.yaml)
        assert (forms["forced_marriage"][year] == "not covered by law") == (year < 2018)
        assert forms["sexual_exploitation"][year] in (
            indicators.get(("unique_victims", year, "exploitation_form", "sexual"), 0) or "confidential",
        )
    persons = {r[0]: dict(zip(years, r[2:], strict=True)) for r in sheet["persons_criminal_justice"][2:]}
    for year in years:
        assert persons["convicted"][year] == (indicators[("suspects", year, "stage", "convicted")] or "confidential")
        assert persons["suspected_female"][year] == "not available"


def test_sdg_counts_and_rates_per_100000_agree_with_the_population_file(home, indicators, years, tmp_path):
    _export("sdg", years, tmp_path, "--population", DEMO_FILE)
    frame = read_flow(tmp_path / "sdg_16_2_2.csv", load_structure("sdg_16_2_2.xml"), "SDG_16_2_2")
    check_flow(frame, load_structure("sdg_16_2_2.xml"), "SDG_16_2_2", "OBS_STATUS:A", grid=False)
    population = {}
    with DEMO_FILE.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            population[int(r["year"]), r["sex"], r["age"]] = int(r["population"])
    rows = frame.set_index(["TIME_PERIOD", "SERIES", "SEX", "AGE", "EXPLOITATION"])
    for year in years:
        total = indicators[("unique_victims", year, "total", "all")]
        number = rows.loc[(str(year), "VC_HTF_DETV", "_T", "_T", "_T")]
        rate = rows.loc[(str(year), "VC_HTF_DETV_RATE", "_T", "_T", "_T")]
        assert number["OBS_VALUE"] == str(total)
        assert float(rate["OBS_VALUE"]) == round(total * 100_000 / population[year, "total", "total"], 2)
        female = indicators.get(("unique_victims", year, "sex", "female"), 0)
        cell = rows.loc[(str(year), "VC_HTF_DETV_RATE", "FEMALE", "_T", "_T")]
        if female is None and cell["OBS_VALUE"] == "":
            assert (cell["OBS_STATUS"], cell["CONF_STATUS"]) == ("O", "C")
        elif female is not None:
            assert float(cell["OBS_VALUE"]) == round(female * 100_000 / population[year, "female", "total"], 2)
    assert set(frame["CONF_STATUS"]) <= {"F", "C"} and set(frame["OBS_STATUS"]) <= {"A", "O", "L", "M"}


def test_an_attacker_with_every_export_and_the_research_tables_recovers_no_withheld_cell(home, years):
    """The audit of the research tables with every sum the three exports show or withhold added as cells."""
    db = home.warehouse / "research.duckdb"
    pub = Published.from_database(db)
    for year in years:
        pub.total(year)
    eurostat = [o for f in EUROSTAT_FLOWS for o in eurostat_observations(pub, f.id, years, COUNTRY)]
    glotip_tables(pub, years, COUNTRY)
    population = {(y, s, a): 10**7 for y in years for s in ("total", "female", "male") for a in ("total",)}
    population |= {(y, "total", a): 10**7 for y in years for a in ("under_18", "18_plus")}
    sdg_observations(pub, years, COUNTRY, population)
    assert eurostat and pub.handed
    with duckdb.connect(str(db), read_only=True) as con:
        published = read_published(con)
    keyring, _ = home.keyring(create_demo=False)
    record = read_record(home.warehouse / RECORD_FILE, keyring.key("database"))
    k = home.settings.disclosure_k
    result = audit_export(published, record, k, pub.handed)
    assert result == {**result, "recovered_exactly": 0, "under_protected": 0, "narrowed": 0}
    assert result["export_sums"] > 0 and result["export_sums_withheld"] > 0

    # the same audit catches an export that shows a sum with a primary (small) cell in it
    primary = [c for c in record.itertuples() if c.reason == "primary" and c.cell.startswith("indicators|value|")]
    assert primary, "the sample should have a small count"
    cell = tuple(primary[0].cell.split("|"))
    _, _, indicator, period, dimension, category = cell
    year = int(period)
    others = [
        n
        for f in pub.handed
        for n in f.parts
        if n[:5] == cell[:5] and n != cell and f.status == PUBLISHED and len(f.parts) == 1
    ]
    assert others, "a published cell beside the small one"
    leak = Figure(1, PUBLISHED, (cell, others[0]))
    with pytest.raises(DisclosureError, match="tell more"):
        audit_export(published, record, k, [*pub.handed, leak])
    assert indicator_cell(indicator, year, dimension, category) == cell


def test_not_covered_by_law_is_flagged_z_never_zero(home, years):
    """A crim_thb form whose every national code national law did not cover that year carries Eurostat's z."""
    pub = Published.from_database(home.warehouse / "research.duckdb")
    pub.coverage = {
        "exploitation_form": {
            c: {"covered_from": years[-1] + 1} for c in members("exploitation_form", "eurostat")["SEX_EXP"]
        }
    }
    obs = eurostat_observations(pub, "CRIM_THB_VEXP", years, COUNTRY)
    sexual = [o for o in obs if o.key["EXPL"] == "SEX_EXP" and o.key["SEX"] == "T"]
    assert sexual and all(o.value is None and o.attributes["OBS_FLAG"] == "z" for o in sexual)
    assert NOT_COVERED in {f.status for f in pub.handed} and CONFIDENTIAL in {f.status for f in pub.handed}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("year,sex,population\n2024,total,1\n", "header lacks age"),
        ("year,sex,age,population\n2024,total,total,many\n", "row 1, column population"),
        ("year,sex,age,population\n2024,all,total,10\n", "row 1, column sex"),
        ("year,sex,age,population\n2024,total,total,10\n2024,total,total,10\n", "given twice"),
        ("year,sex,age,population\n2023,total,total,10\n", "no total/total"),
        (
            "year,sex,age,population\n2024,total,total,10\n2024,female,total,5\n2024,male,total,4\n"
            "2024,total,under_18,2\n2024,total,18_plus,8\n",
            "do not add up",
        ),
    ],
)
def test_a_bad_population_file_is_one_line(home, tmp_path, content, says):
    path = tmp_path / "population.csv"
    path.write_text(content, encoding="utf-8")
    line = _one_line_error(_run("export", "sdg", "--year", 2024, "--out", tmp_path / "out", "--population", path))
    assert says in line and "population.csv" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_user_errors_are_one_line(home, years, tmp_path, monkeypatch):
    line = _one_line_error(_run("export", "eurostat", "--year", years[-1] + 5, "--out", tmp_path))
    assert "no published figures" in line
    line = _one_line_error(_run("export", "glotip", "--year", years[-1], "--to", years[0], "--out", tmp_path))
    assert "before" in line
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    line = _one_line_error(_run("export", "glotip", "--year", years[-1], "--out", tmp_path / "a-file"))
    assert "is a file" in line
    (tmp_path / "a-file").unlink()
    monkeypatch.setenv("RAPPORTEUR_COUNTRY", "USA")
    assert "reporting_area" in _one_line_error(_run("export", "eurostat", "--year", years[-1], "--out", tmp_path))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_each_export_is_a_dagster_asset_partitioned_by_year(home, indicators, years):
    import shutil

    import dagster as dg

    from pipelines.export_assets import export_assets, export_checks
    from pipelines.resources import RapporteurHome

    shutil.copy(DEMO_FILE, home.root / "population.csv")  # the bureau's population file, here the synthetic one
    year = years[-1]
    resources = {"rapporteur": RapporteurHome(root=str(home.root))}
    result = dg.materialize([*export_assets(), *export_checks()], partition_key=str(year), resources=resources)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 and all(c.passed for c in checks)
    total = indicators[("unique_victims", year, "total", "all")]
    for kind in ("glotip", "eurostat", "sdg"):
        (mat,) = result.asset_materializations_for_node(f"{kind}_export")
        assert mat.metadata["total_victims"].value == (str(total) if total is not None else "withheld")
        assert mat.metadata["export_sums_audited"].value >= 0
        assert any((home.reports / "international" / kind / str(year)).iterdir())
    # a total changed by hand in a written export is caught by the check
    from reporting.exports.agreement import disagreements
    from reporting.exports.figures import Published

    path = home.reports / "international" / "sdg" / str(year) / "sdg_16_2_2.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if ",VC_HTF_DETV," in line and ",_T,_T,_T," in line)
    cells = lines[first].split(",")
    cells[cells.index("NUMBER") - 1] = "999999"
    lines[first] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = disagreements(
        Published.from_database(home.warehouse / "research.duckdb"), home.reports / "international"
    )
    assert problems and problems[0].startswith(f"sdg {year}")


def test_an_export_of_a_release_shows_what_was_told_to_parliament(home, indicators, years, tmp_path):
    year = years[-1]
    assert _run("period", "approve", "--period", year).exit_code == 0
    made = _run("release", "make", "--year", year)
    assert made.exit_code == 0, made.output
    out = _export("glotip", [year], tmp_path, "--release", f"{year}-r1")
    assert out["audit"]["export_sums"] > 0  # unrevised: the release's cells are the record's, so the audit runs
    wb = load_workbook(tmp_path / "glotip.xlsx", read_only=True)
    (total,) = [r for r in wb["victims_sex_age"].iter_rows(values_only=True) if r[0] == "total"]
    assert total[2] == indicators[("unique_victims", year, "total", "all")]
    missing = _one_line_error(_run("export", "glotip", "--year", year, "--release", "1999-r1", "--out", tmp_path))
    assert "no release called" in missing
