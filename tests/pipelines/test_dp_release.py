"""`rapporteur dp-release` on an installation built by the main job: consistency, budget, bounds, no identifier."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from privacy.dp_contributions import most_per_person
from privacy.dp_synthetic import ATTRIBUTES, domains
from privacy.dp_tables import ADDITIVE, long_format
from tests.conftest import installation_after_run
from warehouse.dp_release import (
    Clipping,
    clipped,
    code_lists,
    measure_tables,
    read_persons,
    true_tables,
)
from warehouse.duck import encrypted
from warehouse.linkage_store import linkage_path

runner = CliRunner()
KEY = ["indicator", "period", "dimension", "category"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_dir):
    """An installation after one run of the main job, with its database key and its years."""
    with installation_after_run(tmp_path_factory.mktemp("dp") / "home", sample_dir) as home:
        key = home.keyring()[0].key("database")
        victims, suspects = read_persons(home.warehouse, key)
        years = sorted(set(victims["reporting_year"]))
        yield home, key, victims, suspects, years


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result, code):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rapporteur: ") and "Traceback" not in result.output
    return lines[0]


def test_release_is_consistent_and_complete(built):
    home, _, victims, suspects, years = built
    first, last = years[0], years[-1]
    assert _run("dp-release", "budget", "--year", last, "--set", 10).exit_code == 0
    result = _run("dp-release", "make", "--epsilon", 1, "--year", last, "--from-year", first)
    assert result.exit_code == 0, result.output
    folder = home.releases / "dp" / f"{last}-dp1"
    tables = pd.read_csv(folder / "tables.csv", keep_default_na=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["epsilon"] == pytest.approx(1.0) and manifest["delta"] == 0
    # Every year x every code of the standard: the cells do not depend on the data.
    truth = true_tables(victims, suspects, Clipping(last, first))
    assert sorted(map(tuple, tables[KEY].to_numpy())) == sorted(map(tuple, truth[KEY].to_numpy()))
    assert tables["value"].dtype.kind == "i" and (tables["value"] >= 0).all()
    assert (tables["bound_95"] >= 0).all() and tables["bound_95"].notna().all()
    victims_t = tables[tables["indicator"] == "unique_victims"]
    totals = victims_t[victims_t["dimension"] == "total"].set_index("period")["value"]
    for dimension in ADDITIVE:
        sums = victims_t[victims_t["dimension"] == dimension].groupby("period")["value"].sum()
        assert sums.equals(totals), dimension
    forms = victims_t[victims_t["dimension"] == "exploitation_form"]
    assert (forms["value"].to_numpy() <= totals.loc[forms["period"]].to_numpy()).all()
    stages = tables[tables["dimension"] == "stage"].pivot(index="period", columns="category", values="value")
    assert (stages["investigated"] >= stages["prosecuted"]).all() and (
        stages["prosecuted"] >= stages["convicted"]
    ).all()
    offences = tables[tables["dimension"] == "offence"].groupby("period")["value"].sum()
    assert offences.equals(stages["convicted"].rename("value"))
    # Noise was added: a release equal to the truth everywhere would be no protection.
    merged = tables.merge(truth, on=KEY, suffixes=("", "_true"))
    assert (merged["value"] != merged["value_true"]).any()


def test_budget_refuses_overspending(built):
    home, *_, years = built
    year = years[-1] + 1  # a budget year of its own
    assert _run("dp-release", "budget", "--year", year, "--set", 1.5).exit_code == 0
    assert _run("dp-release", "make", "--epsilon", 1, "--year", year).exit_code == 0
    ledger = (home.releases / "dp" / "budget.jsonl").read_text()
    line = _one_line_error(_run("dp-release", "make", "--epsilon", 1, "--year", year), 1)
    assert "refused" in line and "0.5" in line
    line = _one_line_error(_run("dp-release", "synth", "--epsilon", 0.6, "--year", year), 1)
    assert "refused" in line
    assert (home.releases / "dp" / "budget.jsonl").read_text() == ledger  # nothing recorded, nothing written
    assert (
        not (home.releases / "dp" / f"{year}-dp2").exists() and not (home.releases / "dp" / f"{year}-synth1").exists()
    )
    assert _run("dp-release", "synth", "--epsilon", 0.5, "--year", year).exit_code == 0  # exactly what is left
    _one_line_error(_run("dp-release", "budget", "--year", year, "--set", 1), 1)  # below what was spent
    shown = json.loads(_run("dp-release", "budget", "--year", year, "--json").stdout)[0]
    assert shown["spent_epsilon"] == pytest.approx(1.5) and shown["left_epsilon"] == pytest.approx(0)
    assert shown["releases"] == [f"{year}-dp1", f"{year}-synth1"]


def test_user_errors_are_one_line(built):
    _, *_, years = built
    _one_line_error(_run("dp-release", "make", "--epsilon", -1, "--year", years[-1]), 2)
    _one_line_error(_run("dp-release", "make", "--epsilon", 1, "--year", years[0], "--from-year", years[-1]), 2)
    _one_line_error(_run("dp-release", "make", "--epsilon", 1, "--year", years[-1], "--max-years", 0), 2)
    _one_line_error(_run("dp-release", "budget", "--set", 1), 2)


def _discrete_laplace_coverage(scale: float, bound: int) -> float:
    """P(|X| <= bound) for OpenDP's discrete Laplace of this scale (pmf proportional to exp(-|k| / scale))."""
    q = np.exp(-1.0 / scale)
    return 1 - 2 * q ** (bound + 1) / (1 + q)


def test_bounds_contain_the_truth_at_the_stated_rate(built):
    """Over 20 releases of every year: each noisy cell is within OpenDP's bound as often as its distribution
    says (at least 95%), within 5 standard deviations of a binomial count; after post-processing the published
    cells are within their bounds at least 95% of the time overall, and 90% in every dimension."""
    _, _, victims, suspects, years = built
    clip = Clipping(years[-1], years[0])
    truth = true_tables(victims, suspects, clip)
    v, s = clipped(victims, suspects, clip)
    hits, expected, variance, published = 0, 0.0, 0.0, []
    for _ in range(20):
        measured, tables = measure_tables(v, s, clip, 1.0)
        for m in measured:
            p = _discrete_laplace_coverage(m.scale, m.bound)
            assert p >= 0.95
            hits += int((np.abs(m.noisy - m.true) <= m.bound).sum())
            expected += p * m.noisy.size
            variance += p * (1 - p) * m.noisy.size
        out = long_format(tables, clip.years).merge(truth, on=KEY, suffixes=("", "_true"))
        published.append(out.assign(hit=(out["value"] - out["value_true"]).abs() <= out["bound_95"]))
    assert abs(hits - expected) <= 5 * np.sqrt(variance)
    cells = pd.concat(published)
    assert cells["hit"].mean() >= 0.95
    assert cells.groupby("dimension")["hit"].mean().min() >= 0.90


@pytest.mark.parametrize("max_years", [1, 2])
def test_no_person_contributes_more_than_the_noise_assumes(built, max_years):
    _, _, victims, suspects, years = built
    clip = Clipping(years[-1], years[0], max_years=max_years, max_forms=2)
    v, s = clipped(victims, suspects, clip)
    measured, _ = measure_tables(v, s, clip, 1.0)
    sens = {m.table.dimension: m.sensitivity for m in measured}
    assert most_per_person(v, 1) <= sens["total"] == max_years
    assert most_per_person(v, v["exploitation_forms"].map(len)) <= sens["exploitation_form"] == 2 * max_years
    assert most_per_person(s, 1) <= sens["furthest_stage"] == max_years
    # The measured (clipped) cells are the counts of the clipped rows, and clipping kept the rows it could.
    assert int(next(m for m in measured if m.table.dimension == "total").true.sum()) == len(v)
    kept_per_person = v.groupby("person_key").size()
    assert kept_per_person.max() <= max_years
    assert len(v) == sum(min(n, max_years) for n in victims.groupby("person_key").size())


def test_no_identifier_in_any_output(built):
    home, key, *_, years = built
    assert _run("dp-release", "budget", "--year", years[-1] - 1, "--set", 5).exit_code == 0
    assert _run("dp-release", "make", "--epsilon", 1, "--year", years[-1] - 1).exit_code == 0
    result = _run("dp-release", "synth", "--epsilon", 1, "--year", years[-1] - 1, "--from-year", years[0])
    assert result.exit_code == 0, result.output
    con = encrypted(linkage_path(home.warehouse), key, alias="ls", read_only=True)
    try:
        secrets_ = set()
        for table, columns in (
            ("victim_links", "record_key, person_key, document_token, name_dob_token, skeleton_token, event_token"),
            ("suspect_links", "record_key, person_key, document_token, name_dob_token, skeleton_token, event_token"),
        ):
            for row in con.execute(f"SELECT {columns} FROM ls.{table}").fetchall():
                secrets_.update(str(v) for v in row if v)
    finally:
        con.close()
    assert secrets_
    files = [p for p in (home.releases / "dp").rglob("*") if p.is_file()] + list((home.reports / "dp").rglob("*"))
    assert any(p.name == "victims.csv" for p in files)
    for path in files:
        text = path.read_text()
        assert "person_key" not in text and "token" not in text, path
        words = set(text.replace(",", " ").replace('"', " ").split())
        assert not words & secrets_, path
    synthetic = pd.read_csv(next(p for p in files if p.name == "victims.csv"), keep_default_na=False)
    assert tuple(synthetic.columns) == ATTRIBUTES
    domain = domains(code_lists(), list(range(years[0], years[-1])))
    for column in ATTRIBUTES:
        assert set(synthetic[column].astype(type(domain[column][0]))) <= set(domain[column]), column


def test_utility_report_stays_with_the_bureau(built):
    home, *_ = built
    reports = sorted((home.reports / "dp").glob("*-utility.json"))
    assert reports and not list((home.releases / "dp").rglob("*utility*"))
    report = json.loads(reports[-1].read_text())
    assert {r["table"] for r in report["one_way"]} == set(ATTRIBUTES)
    assert len(report["two_way"]) == len(ATTRIBUTES) * (len(ATTRIBUTES) - 1) // 2
    assert all(0 <= r["tvd"] <= 1 for r in report["one_way"] + report["two_way"])


def test_dagster_asset_publishes_under_the_same_ledger(built):
    import dagster as dg

    from pipelines.dp_assets import dp_release
    from pipelines.resources import RapporteurHome

    home, *_, years = built
    year = years[-1] - 2
    assert _run("dp-release", "budget", "--year", year, "--set", 0.7).exit_code == 0
    run = dg.materialize(
        [dp_release],
        partition_key=str(year),
        resources={"rapporteur": RapporteurHome(root=str(home.root))},
        run_config={"ops": {"dp_release": {"config": {"epsilon": 0.5}}}},
    )
    assert run.success and (home.releases / "dp" / f"{year}-dp1" / "tables.csv").exists()
    metadata = run.asset_materializations_for_node("dp_release")[0].metadata
    assert metadata["release"].value == f"{year}-dp1" and metadata["epsilon"].value == pytest.approx(0.5)
    refused = dg.materialize(
        [dp_release],
        partition_key=str(year),
        resources={"rapporteur": RapporteurHome(root=str(home.root))},
        run_config={"ops": {"dp_release": {"config": {"epsilon": 0.5}}}},
        raise_on_error=False,
    )
    assert not refused.success and not (home.releases / "dp" / f"{year}-dp2").exists()


def test_annual_report_draws_its_public_figures_from_a_dp_release(built, tmp_path):
    home, *_, years = built
    year = years[-1]
    _one_line_error(_run("report", "--year", year, "--dp-release", f"{year}-dp99"), 2)
    assert _run("dp-release", "budget", "--year", year, "--set", 10).exit_code == 0
    result = _run("dp-release", "make", "--epsilon", 2, "--year", year, "--from-year", years[0])
    assert result.exit_code == 0, result.output
    name = result.stdout.split(":")[0].rsplit("/", 1)[-1]
    tables = pd.read_csv(home.releases / "dp" / name / "tables.csv", keep_default_na=False)
    out = tmp_path / "report.html"
    assert _run("report", "--year", year, "--dp-release", name, "--out", out).exit_code == 0
    html = out.read_text()
    assert f"differentially private release {name}" in html
    total = tables[(tables["dimension"] == "total") & (tables["period"] == year)].iloc[0]
    assert f"<strong>{total['value']:,} \u00b1 {total['bound_95']:,}</strong> unique victims" in html
    assert "Every yearly series by sex and by age group is complete." in html  # nothing suppressed in DP figures
