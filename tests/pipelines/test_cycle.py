"""The reporting cycle through the command line: sign-off, approval (a lock), held revisions, accept and reject."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from intake.inbox import Inbox
from synthetic.generator import generate
from tests.cli.test_cli import _one_line_error, _run

VA, LE = "victim-assistance", "law-enforcement"
YEAR = "2024"


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cycle")
    generate(out, rows=400, providers=2, seed=5)
    return out


def _file(extracts: Path, feed: str, provider: str) -> Path:
    return extracts / f"{feed}__{provider}.csv"


def _smaller(path: Path, out: Path, keep: float = 0.5) -> Path:
    """The same extract with its later rows left out: a provider's corrected resubmission."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with out.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows[: 1 + int((len(rows) - 1) * keep)])
    return out


def _states(*periods: str) -> dict[tuple[str, str], dict]:
    result = _run("period", "status", "--json", *periods)
    assert result.exit_code == 0, result.output
    return {(s["provider"], s["period"]): s for s in json.loads(result.stdout)}


def _ingest(path: Path, feed: str, provider: str, *extra) -> dict:
    result = _run("ingest", "--feed", feed, "--provider", provider, "--period", YEAR, "--json", path, *extra)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _published(home) -> list[tuple]:
    with duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM indicators ORDER BY ALL").fetchall()


def test_providers_sign_off_their_current_submission(home, extracts, tmp_path):
    harbour = _file(extracts, VA, "ngo-harbour")
    assert {s["state"] for s in _states(YEAR).values()} == {"missing"}  # every expected provider
    first = _ingest(harbour, VA, "ngo-harbour")
    assert _states(YEAR)[("ngo-harbour", YEAR)]["state"] == "submitted"
    assert _states(YEAR)[("ngo-lighthouse", YEAR)]["state"] == "missing"  # expected (it has a code mapping)
    done = _run("period", "signoff", "--feed", VA, "--provider", "ngo-harbour", "--period", YEAR)
    assert done.exit_code == 0 and first["submission_id"] in done.stdout
    assert _states(YEAR)[("ngo-harbour", YEAR)]["state"] == "signed_off"
    _ingest(_smaller(harbour, tmp_path / "v2.csv"), VA, "ngo-harbour")  # a later submission is not final yet
    assert _states(YEAR)[("ngo-harbour", YEAR)]["state"] == "submitted"
    line = _one_line_error(_run("period", "signoff", "--feed", VA, "--provider", "ngo-lighthouse", "--period", YEAR))
    assert "no loaded victim-assistance submission for period 2024" in line


def test_a_resubmission_to_an_approved_period_changes_nothing_until_the_bureau_accepts_it(home, extracts, tmp_path):
    for feed, provider in ((VA, "ngo-harbour"), (VA, "ngo-lighthouse"), (LE, "police-central")):
        _ingest(_file(extracts, feed, provider), feed, provider)
    assert _run("run").exit_code == 0
    before = _published(home)
    approved = _run("period", "approve", "--period", YEAR)
    assert approved.exit_code == 0 and "locked" in approved.stdout
    assert _states(YEAR)[("ngo-harbour", YEAR)]["state"] == "approved"

    late = _smaller(_file(extracts, VA, "ngo-harbour"), tmp_path / "late.csv")
    refused = _one_line_error(_run("ingest", "--feed", VA, "--provider", "ngo-harbour", "--period", YEAR, late))
    assert "approved and locked" in refused and "--reason" in refused
    assert len(Inbox(home.inbox).ledger()) == 3  # refused before anything was placed
    held = _ingest(late, VA, "ngo-harbour", "--reason", "late corrections from our case files")
    assert (held["status"], held["rows_loaded"]) == ("held", 0)
    whole = _run("submit", "--feed", VA, "--provider", "ngo-harbour", "--period", "all", "--reason", "r", late)
    assert whole.exit_code == 0 and "held as a proposed revision" in whole.stdout  # `all` overlaps 2024
    assert _run("run").exit_code == 0
    assert _published(home) == before  # nothing published moved

    listed = _run("revision", "list")
    assert held["submission_id"] in listed.stdout and "late corrections" in listed.stdout
    accepted = _run("revision", "accept", held["submission_id"])
    assert accepted.exit_code == 0, (accepted.output, Inbox(home.inbox).ledger())
    assert _one_line_error(_run("revision", "accept", held["submission_id"]))  # decided once
    others = [r["submission_id"] for r in Inbox(home.inbox).periods.revisions(waiting_only=True)]
    assert _run("revision", "reject", others[0]).exit_code == 2  # a rejection needs a reason
    assert "give a reason" in _one_line_error(_run("revision", "reject", others[0], "--reason", "  "))
    assert _run("revision", "reject", others[0], "--reason", "the whole history is not in question").exit_code == 0
    final = _run("run")
    assert final.exit_code == 0, final.output
    after = _published(home)
    assert after != before
    ledger = {r["submission_id"]: r for r in Inbox(home.inbox).ledger()}
    assert ledger[held["submission_id"]]["status"] == "loaded" and ledger[others[0]]["status"] == "rejected"
    assert "Nothing" not in _run("revision", "list", "--all").stdout


def test_a_lock_is_per_provider_or_for_all_and_unlocking_is_recorded(home, extracts, tmp_path):
    _ingest(_file(extracts, VA, "ngo-harbour"), VA, "ngo-harbour")
    assert _run("period", "approve", "--period", YEAR, "--provider", "ngo-harbour").exit_code == 0
    other = _ingest(_file(extracts, VA, "ngo-lighthouse"), VA, "ngo-lighthouse")
    assert other["status"] == "loaded"  # not locked for another provider
    late = _smaller(_file(extracts, VA, "ngo-harbour"), tmp_path / "q3.csv")
    quarter = _run("submit", "--feed", VA, "--provider", "ngo-harbour", "--period", f"{YEAR}-Q3", late)
    assert "approved and locked" in _one_line_error(quarter)  # a quarter of a locked year is locked
    unlock = ("period", "unlock", "--period", YEAR, "--provider", "ngo-harbour", "--reason")
    assert _one_line_error(_run(*unlock, " "))
    assert _run(*unlock, "reopened").exit_code == 0
    again = _ingest(_smaller(_file(extracts, VA, "ngo-harbour"), tmp_path / "v2.csv"), VA, "ngo-harbour")
    assert again["status"] == "loaded"
    history = Inbox(home.inbox).periods.history()
    assert [(h["provider"], h["unlock_reason"]) for h in history] == [("ngo-harbour", "reopened")]
    assert history[0]["unlocked_by"] and history[0]["approved_by"]
    line = _one_line_error(_run("period", "unlock", "--period", YEAR, "--reason", "x"))
    assert "not approved" in line


def _release_files(home, name: str) -> dict[str, str]:
    return json.loads((home.releases / name / "manifest.json").read_text())["sha256"]


def test_a_release_is_immutable_reproducible_and_the_next_report_lists_the_figures_that_moved(home, extracts, tmp_path):
    for feed, provider in ((VA, "ngo-harbour"), (VA, "ngo-lighthouse"), (LE, "police-central")):
        _ingest(_file(extracts, feed, provider), feed, provider)
    assert _run("run").exit_code == 0
    refused = _one_line_error(_run("release", "make", "--year", YEAR))
    assert f"cannot release {YEAR}" in refused and "not approved for ngo-harbour" in refused
    assert _run("period", "approve", "--period", YEAR).exit_code == 0
    made = _run("release", "make", "--year", YEAR)
    assert made.exit_code == 0, made.output
    first = _release_files(home, f"{YEAR}-r1")
    assert {f"annual-report-{YEAR}.html", "tables/indicators.parquet", "tables/attrition.parquet"} <= set(first)
    assert _run("release", "verify", f"{YEAR}-r1").exit_code == 0
    assert _run("release", "make", "--year", YEAR).exit_code == 0  # the same data again: the same bytes
    assert _release_files(home, f"{YEAR}-r2") == first
    assert f"{YEAR}-r1" in _run("release", "list").stdout

    report = home.releases / f"{YEAR}-r2" / f"annual-report-{YEAR}.html"
    report.chmod(0o644)
    report.write_text(report.read_text().replace("unique victims", "unique victim"))
    broken = _run("release", "verify", f"{YEAR}-r2")
    assert broken.exit_code == 1 and "changed since the release was made" in broken.stderr

    late = _smaller(_file(extracts, VA, "ngo-harbour"), tmp_path / "late.csv", keep=0.3)
    held = _ingest(late, VA, "ngo-harbour", "--reason", "duplicates removed")
    assert _run("run").exit_code == 0
    assert json.loads(_run("release", "revisions", "--json").stdout) == []  # held: nothing moved
    assert _run("revision", "accept", held["submission_id"]).exit_code == 0
    assert _run("run").exit_code == 0

    revised = json.loads(_run("release", "revisions", "--json").stdout)
    release_table = home.releases / f"{YEAR}-r2" / "tables" / "indicators.parquet"
    with duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True) as con:
        moved = con.execute(
            "SELECT o.indicator, o.period, o.dimension, o.category FROM read_parquet(?) o "
            "FULL JOIN indicators n USING (indicator, period, dimension, category) "
            "WHERE o.value IS DISTINCT FROM n.value OR (o.suppressed IS NULL) <> (n.suppressed IS NULL) ORDER BY ALL",
            [str(release_table)],
        ).fetchall()
    assert moved and sorted((r["indicator"], r["period"], r["dimension"], r["category"]) for r in revised) == moved
    assert {r["release"] for r in revised} == {f"{YEAR}-r2"}
    assert all("duplicates removed" in r["reason"] for r in revised if r["period"] == int(YEAR))
    assert _run("report", "--year", YEAR).exit_code == 0
    html = (home.reports / f"annual-report-{YEAR}.html").read_text()
    assert "Revisions of earlier figures" in html and "accepted revision from ngo-harbour" in html
    assert "duplicates removed" not in html  # a provider's free text never reaches the public report
    assert _release_files(home, f"{YEAR}-r1") == first  # an earlier release never changes


def test_in_dagster_a_release_job_is_refused_until_the_approval_job_has_run(home, extracts):
    import dagster as dg

    from pipelines.cycle_assets import APPROVE_JOB, RELEASE_JOB
    from pipelines.definitions import build_defs

    for feed, provider in ((VA, "ngo-harbour"), (LE, "police-central")):
        _ingest(_file(extracts, feed, provider), feed, provider)
    assert _run("run").exit_code == 0
    defs = build_defs("yearly")
    with dg.DagsterInstance.get() as instance:
        release = defs.resolve_job_def(RELEASE_JOB)
        refused = release.execute_in_process(instance=instance, partition_key=YEAR, raise_on_error=False)
        (check,) = refused.get_asset_check_evaluations()
        assert not check.passed and "not approved" in check.metadata["blockers"].value
        assert not any(e.asset_key == dg.AssetKey("annual_release") for e in refused.get_asset_materialization_events())
        assert not home.releases.exists() or not any(home.releases.iterdir())
        status = refused.asset_materializations_for_node("period_status")[0].metadata
        assert status["submitted"].value == 2 and "ngo-harbour" in status["providers"].value

        config = {"ops": {"approve": {"config": {"period": YEAR}}}}
        assert defs.resolve_job_def(APPROVE_JOB).execute_in_process(instance=instance, run_config=config).success
        made = release.execute_in_process(instance=instance, partition_key=YEAR)
        assert made.success and (home.releases / f"{YEAR}-r1" / "manifest.json").is_file()
        assert _run("release", "verify", f"{YEAR}-r1").exit_code == 0


def test_a_whole_history_extract_accounts_for_every_period_that_had_ended(home, extracts):
    result = _run("ingest", "--feed", VA, "--provider", "ngo-harbour", "--json", _file(extracts, VA, "ngo-harbour"))
    assert result.exit_code in (0, 1), result.output
    assert _states(YEAR)[("ngo-harbour", YEAR)]["state"] == "submitted"  # received after 2024 ended
    assert _run("period", "signoff", "--feed", VA, "--provider", "ngo-harbour", "--period", YEAR).exit_code == 0
    assert _states(YEAR, "2023")[("ngo-harbour", YEAR)]["state"] == "signed_off"
    assert _states(YEAR, "2023")[("ngo-harbour", "2023")]["state"] == "submitted"  # signed for 2024 only
