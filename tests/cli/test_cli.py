"""The command line: exit codes, one-line errors and the --json contract."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import sample_files

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rapporteur: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_help_on_every_command():
    for command in ("", "sample", "validate", "submit", "ingest", "run", "sql"):
        result = _run(*(command.split() + ["--help"]))
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_ingest_json_contract_and_duplicate(home, sample_dir, truth):
    path, feed, provider = next(sample_files(sample_dir))
    result = _run("ingest", "--feed", feed, "--provider", provider, "--json", path)
    out = json.loads(result.stdout)
    spec = truth["feeds"][feed]["providers"][provider]
    assert out["rows_in"] == spec["rows"] and out["rows_loaded"] == spec["valid_rows"]
    assert out["rows_quarantined"] == spec["rows"] - spec["valid_rows"] and out["status"] == "loaded"
    assert result.exit_code == (1 if out["rows_quarantined"] else 0)
    again = _run("ingest", "--feed", feed, "--provider", provider, "--json", path)
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"
    assert json.loads(again.stdout)["submission_id"] == out["submission_id"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--feed", "victim-assistance", "--provider", "../etc"], "provider id"),
        (["--feed", "victim-assistance", "--provider", "x; rm -rf /"], "provider id"),
        (["--feed", "traffickers", "--provider", "ngo-a"], "unknown feed"),
        (["--feed", "victim-assistance", "--provider", "ngo-a", "--period", "2024-13"], "period"),
    ],
)
def test_submit_refuses_bad_arguments(home, sample_dir, args, says):
    path = next(sample_files(sample_dir))[0]
    assert says in _one_line_error(_run("submit", *args, path))
    assert not any(p.is_file() and p.suffix == ".csv" for p in home.inbox.rglob("*"))


def test_submit_places_atomically_once(home, sample_dir):
    path, feed, provider = next(sample_files(sample_dir))
    first = _run("submit", "--feed", feed, "--provider", provider, path)
    second = _run("submit", "--feed", feed, "--provider", provider, path)
    assert first.exit_code == 0 and "submitted" in first.stdout
    assert second.exit_code == 0 and "already received" in second.stdout
    placed = list(home.inbox.rglob("*.sealed"))
    assert len(placed) == 1 and path.read_bytes()[:200] not in placed[0].read_bytes()  # sealed on landing
    inbox = home.sealed_inbox(home.keyring()[0])
    (sub,) = [s for s in map(inbox.get, [r["submission_id"] for r in inbox.ledger()])]
    assert inbox.read(sub) == path.read_bytes()


def test_validate_same_outcome_for_every_variant(sample_dir):
    outcomes = []
    for name in (
        "victim-assistance__ngo-harbour.csv",
        "victim-assistance__ngo-harbour.xlsx",
        "victim-assistance__ngo-harbour.cp1252.csv",
    ):
        result = _run("validate", "--feed", "victim-assistance", "--json", sample_dir / name)
        assert result.exit_code == 1, result.output  # the sample plants invalid rows
        out = json.loads(result.stdout)
        outcomes.append((out["rows_in"], out["rows_valid"], [(f["row_number"], f["rule"]) for f in out["failures"]]))
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_validate_unusable_file(tmp_path):
    bad = tmp_path / "victim-assistance__ngo-harbour.csv"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    assert "not a text file" in _one_line_error(_run("validate", "--feed", "victim-assistance", bad))


def test_sql_needs_a_built_database_and_a_known_name(home):
    assert "does not exist yet" in _one_line_error(_run("sql", "--db", "research", "-c", "SELECT 1"))
    assert "unknown database" in _one_line_error(_run("sql", "--db", "secrets", "-c", "SELECT 1"))


def test_sample_writes_named_files(tmp_path):
    result = _run("sample", "--out", tmp_path, "--rows", 300, "--providers", 4, "--seed", 3)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.glob("*__*.csv") if p.name.count(".") == 1)
    assert len(names) == 8 and "victim-assistance__ngo-harbour.csv" in names


def test_ingest_unusable_file_is_rejected_and_kept(home, tmp_path):
    bad = tmp_path / "extract.csv"
    bad.write_text("provider_record_id,sex\nr1,F\n")  # required columns missing
    home.keyring(create_demo=True)
    line = _one_line_error(_run("ingest", "--feed", "victim-assistance", "--provider", "ngo-harbour", bad))
    assert "extract.csv: required column(s) missing" in line
    kept = list((home.inbox / "rejected").rglob("*.sealed"))
    assert len(kept) == 1 and not list((home.inbox / "victim-assistance").rglob("*.sealed"))
    inbox = home.sealed_inbox(home.keyring()[0])
    (row,) = inbox.ledger()
    assert row["status"] == "rejected" and inbox.read(inbox.get(row["submission_id"])) == bad.read_bytes()


def test_validate_report_writes_html_csv_and_data_docs(sample_dir, tmp_path):
    out = tmp_path / "report"
    result = _run(
        "validate",
        "--feed",
        "victim-assistance",
        "--report",
        out,
        "--json",
        sample_dir / "victim-assistance__ngo-harbour.csv",
    )
    body = json.loads(result.stdout)
    assert body["report"] == str(out / "report.html") and isinstance(body["warnings"], list)
    assert (out / "report.html").exists() and (out / "failures.csv").exists()
    assert (out / "data-docs" / "index.html").exists()
    assert body["rows_quarantined"] > 0 and "quarantined" in (out / "report.html").read_text()


def test_mse_command_matches_the_reference(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "estimation" / "fixtures" / "western_us_5_lists.csv"
    result = _run("mse", fixture, "--bootstrap", 0, "--json")
    body = json.loads(result.stdout)
    assert result.exit_code == 0 and abs(body["estimate"] - 2483.38) < 0.01 * 2483.38
    assert body["model"] == ["A", "B", "C", "D", "E", "A:E"]
    bad = tmp_path / "bad.csv"
    bad.write_text("A,B,count\n1,0,3\n0,2,4\n")
    assert "bad.csv" in _one_line_error(_run("mse", bad))


def test_mse_command_runs_every_method_and_the_combined_statement():
    from pathlib import Path

    korea = (
        Path(__file__).resolve().parents[1] / "estimation" / "fixtures" / "multiple_systems_estimation" / "Korea.csv"
    )
    result = _run("mse", korea, "--method", "all", "--bootstrap", 100, "--seed", 3, "--json")
    body = json.loads(result.stdout)
    assert result.exit_code == 0 and set(body) == {"stepwise", "bic", "bayes", "combined"}
    assert abs(body["bic"]["estimate"] - 157.17) < 0.01 and body["bic"]["method"] == "bic"
    estimates = sorted(body[m]["estimate"] for m in ("stepwise", "bic", "bayes"))
    assert body["combined"]["estimate"] == estimates[1]
    assert body["combined"]["intervals"]["95%"][0] == min(
        body[m]["intervals"]["95%"][0] for m in ("stepwise", "bic", "bayes")
    )
    assert "--method must be" in _one_line_error(_run("mse", korea, "--method", "jackknife"))


def test_header_text_reaches_the_user_but_not_the_bureau(home, tmp_path):
    """A file without a header has data as column names: the ledger and logs never keep them."""
    bad = tmp_path / "extract.csv"
    bad.write_text("Canaryname,Canaryname,F\nOther,Person,M\n")
    home.keyring(create_demo=True)
    line = _one_line_error(_run("ingest", "--feed", "victim-assistance", "--provider", "ngo-harbour", bad))
    assert "canaryname" in line.lower()  # the provider's own terminal
    (row,) = home.sealed_inbox(home.keyring()[0]).ledger()
    assert row["status"] == "rejected" and "canaryname" not in row["message"].lower() and "twice" in row["message"]
    assert b"canaryname" not in (home.inbox / "ledger.sqlite").read_bytes().lower()


def test_sample_counts_the_files_it_wrote(tmp_path):
    out = tmp_path / "out"
    result = _run("sample", "--out", out, "--rows", 60, "--providers", 2)
    assert result.exit_code == 0, result.output
    written = [p for p in out.rglob("*") if p.is_file()]
    extracts = [p for p in out.iterdir() if p.is_file()]
    assert f"wrote {len(written)} files to {out}: {len(extracts)} extracts" in result.output, result.output
