"""What a provider meets at the command line: provider ids, identifiers, sheets, columns, messages and row numbers."""

from __future__ import annotations

import csv
import json

import pytest

from tests.cli.test_cli import _one_line_error, _run
from tests.conftest import sample_files
from tests.robustness.inputs import xlsx_bytes

FEED = "victim-assistance"
HARBOUR = f"{FEED}__ngo-harbour.csv"


@pytest.mark.parametrize("command", ["validate", "prepare", "submit", "ingest"])
def test_an_unknown_provider_is_one_line_naming_the_providers(home, sample_dir, tmp_path, command):
    extra = ["--out", tmp_path / "p.parquet"] if command == "prepare" else []
    args = [command, "--feed", "victim-assistance", "--provider", "ngo-harbur", *extra, sample_dir / HARBOUR]
    line = _one_line_error(_run(*args))
    assert "ngo-harbur" in line and "did you mean ngo-harbour" in line
    assert "the providers of victim-assistance are ngo-harbour, ngo-lighthouse, nrm-central" in line
    assert "of law-enforcement: police-central, police-north, prosecution-service" in line
    assert not list(home.inbox.rglob("*.sealed"))


def test_a_provider_on_the_wrong_feed_is_refused(sample_dir):
    args = ("validate", "--feed", "law-enforcement", "--provider", "ngo-harbour", sample_dir / HARBOUR)
    line = _one_line_error(_run(*args))
    assert "victim-assistance" in line and "law-enforcement" in line


def test_a_provider_from_the_file_name_is_checked_too(sample_dir, tmp_path):
    misnamed = tmp_path / "victim-assistance__ngo-harbur.csv"
    misnamed.write_bytes((sample_dir / HARBOUR).read_bytes())
    line = _one_line_error(_run("validate", "--feed", "victim-assistance", misnamed))
    assert "unknown provider id 'ngo-harbur'" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--provider", "ngo-harbour\n"),
        ("--provider", "ngo-harbour\r"),
        ("--period", "2024\n"),
        ("--period", "2024\x00"),
        ("--period", "\u0662\u0660\u0662\u0664"),  # Arabic-Indic digits: \d would take them
    ],
)
@pytest.mark.parametrize("command", ["submit", "ingest", "validate"])
def test_identifiers_with_control_characters_are_refused(home, sample_dir, command, option, value):
    path, feed, provider = next(p for p in sample_files(sample_dir) if p[2] == "ngo-harbour")
    args = {"--feed": feed, "--provider": provider, "--period": "all"} | {option: value}
    line = _one_line_error(_run(command, *[x for kv in args.items() for x in kv], path))
    assert ("provider id" in line) if option == "--provider" else ("period" in line)
    assert not [p for p in home.root.rglob("*") if any(c in p.name for c in "\n\r\x00")]
    assert not list(home.inbox.rglob("*.sealed"))


def test_every_identifier_pattern_is_anchored_at_the_true_end():
    from errors import UnusableInput
    from schemas.standard import PERIOD, PROVIDER_ID, check_submission_args

    for pattern, good in ((PROVIDER_ID, "ngo-harbour"), (PERIOD, "2024")):
        assert pattern.match(good) and not pattern.match(good + "\n") and not pattern.search(good + "\n")
    with pytest.raises(UnusableInput):
        check_submission_args("victim-assistance", "ngo-harbour\n", "all")


def test_an_account_id_with_a_newline_is_refused(home):
    line = _one_line_error(_run("users", "add", "ngo-harbour\n"))
    assert "account id" in line


def test_adding_an_account_for_an_unregistered_provider_says_so(home):
    result = _run("users", "add", "ngo-harbur")
    assert result.exit_code == 0 and "not a registered provider" in result.stdout


def _csv_rows(sample_dir) -> list[list[str]]:
    with (sample_dir / HARBOUR).open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))[:40]


def _write_csv(path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def workbook(path, sheets: dict[str, list[list[str]]]) -> None:
    path.write_bytes(xlsx_bytes(sheets))


COVER = [["Quarterly extract of NGO Harbour"], ["Prepared by", "the data officer"], ["Contact", "see the intranet"]]


def test_a_cover_page_first_is_skipped_for_the_sheet_with_the_header(home, sample_dir, tmp_path):
    path = tmp_path / f"{FEED}__ngo-harbour.xlsx"
    workbook(path, {"Cover": COVER, "Data 2024": _csv_rows(sample_dir)})
    result = _run("validate", "--feed", FEED, "--json", path)
    out = json.loads(result.stdout)
    assert result.exit_code in (0, 1) and out["rows_in"] == 39, result.output
    assert any("Data 2024" in n for n in out["notes"])
    home.keyring(create_demo=True)
    ingested = _run("ingest", "--feed", FEED, "--provider", "ngo-harbour", "--json", path)
    assert json.loads(ingested.stdout)["status"] == "loaded" and json.loads(ingested.stdout)["rows_in"] == 39


def test_several_data_sheets_ask_for_one_by_name(home, sample_dir, tmp_path):
    path = tmp_path / f"{FEED}__ngo-harbour.xlsx"
    rows = _csv_rows(sample_dir)
    workbook(path, {"Cover": COVER, "2023": rows, "2024": rows[:20]})
    line = _one_line_error(_run("validate", "--feed", FEED, path))
    assert "'2023', '2024'" in line and "--sheet" in line
    chosen = json.loads(_run("validate", "--feed", FEED, "--sheet", "2024", "--json", path).stdout)
    assert chosen["rows_in"] == 19
    assert "'Cover', '2023', '2024'" in _one_line_error(_run("validate", "--feed", FEED, "--sheet", "2025", path))
    home.keyring(create_demo=True)
    loaded = _run("ingest", "--feed", FEED, "--provider", "ngo-harbour", "--sheet", "2023", "--json", path)
    assert json.loads(loaded.stdout)["rows_in"] == 39
    again = _run("ingest", "--feed", FEED, "--provider", "ngo-harbour", "--sheet", "2024", "--json", path)
    assert json.loads(again.stdout)["rows_in"] == 19  # the other sheet of the same file is another submission


def test_submit_keeps_the_chosen_sheet_for_the_run(home, sample_dir, tmp_path):
    from application.steps import stage_validated

    path = tmp_path / "extract.xlsx"
    rows = _csv_rows(sample_dir)
    workbook(path, {"Notes": COVER, "Old": rows[:10], "New": rows})
    assert _run("submit", "--feed", FEED, "--provider", "ngo-harbour", "--sheet", "New", path).exit_code == 0
    keyring = home.keyring()[0]
    inbox = home.sealed_inbox(keyring)
    (sub,) = inbox.pending(FEED, "received")
    assert sub.sheet == "New" and stage_validated(home, inbox, sub, keyring).rows_in == 39
    unchosen = _run("submit", "--feed", FEED, "--provider", "ngo-harbour", path)
    assert unchosen.exit_code == 0
    (other,) = inbox.pending(FEED, "received")
    outcome = stage_validated(home, inbox, other, keyring)
    assert outcome.status == "rejected" and "'Old', 'New'" not in outcome.message and "--sheet" in outcome.message


def test_a_renamed_column_is_named_with_its_likely_match(sample_dir, tmp_path):
    rows = _csv_rows(sample_dir)
    rows[0] = ["nationality" if c == "citizenship" else c for c in rows[0]]
    path = tmp_path / "renamed.csv"
    _write_csv(path, rows)
    line = _one_line_error(_run("validate", "--feed", FEED, "--provider", "ngo-harbour", path))
    assert "missing" in line and "citizenship" in line
    assert "'nationality'" in line and "did you mean citizenship?" in line


def test_a_dropped_column_is_named_and_a_misspelt_one_matched(sample_dir, tmp_path):
    rows = _csv_rows(sample_dir)
    rows[0] = ["means_of_contol" if c == "means_of_control" else c for c in rows[0]]
    rows = [r + [f"note {i}"] for i, r in enumerate(rows)]
    rows[0][-1] = "caseworker notes"
    path = tmp_path / "extra.csv"
    _write_csv(path, rows)
    out = json.loads(_run("validate", "--feed", FEED, "--provider", "ngo-harbour", "--json", path).stdout)
    (note,) = [n for n in out["notes"] if "dropped" in n]
    assert "'means_of_contol'" in note and "did you mean means_of_control?" in note
    assert "'caseworker_notes'" in note and "note 1" not in note


def test_a_file_without_a_header_never_has_its_first_row_quoted(sample_dir, tmp_path):
    rows = [[f"{c}.{i}" for i, c in enumerate(r)] for r in _csv_rows(sample_dir)[1:]]  # cells unique in a row
    path = tmp_path / "noheader.csv"
    _write_csv(path, rows)
    line = _one_line_error(_run("validate", "--feed", FEED, "--provider", "ngo-harbour", path))
    assert "not a header" in line
    assert not any(c.lower() in line.lower() for c in rows[0])


def test_the_bureau_report_does_not_quote_dropped_column_names(home, sample_dir, tmp_path):
    rows = [r + ["x"] for r in _csv_rows(sample_dir)]
    rows[0][-1] = "Zyxcanarycolumn"
    path = tmp_path / "extra.csv"
    _write_csv(path, rows)
    home.keyring(create_demo=True)
    out = json.loads(_run("ingest", "--feed", FEED, "--provider", "ngo-harbour", "--json", path).stdout)
    report = (home.reports / "validation" / out["submission_id"] / "report.html").read_text()
    assert "dropped 1 column" in report and "zyxcanarycolumn" not in report.lower()


def _validated_with(sample_dir, tmp_path, column: str, value: str, *options):
    """`validate` of the sample with `value` in `column` of the first data row."""
    rows = _csv_rows(sample_dir)
    rows[1][rows[0].index(column)] = value
    path = tmp_path / "changed.csv"
    _write_csv(path, rows)
    return _run("validate", "--feed", FEED, "--provider", "ngo-harbour", *options, path)


def test_messages_name_the_column_the_value_and_where_the_codes_are(sample_dir, tmp_path):
    result = _validated_with(sample_dir, tmp_path, "exploitation_form", "Qwunknownform")
    line = next(x for x in result.stdout.splitlines() if x.startswith("row 1: "))
    assert "exploitation_form" in line and "'Qwunknownform'" in line and "data dictionary" in line
    assert "not a exploitation_form code" not in result.stdout


def test_identifier_values_never_reach_a_message(sample_dir, tmp_path):
    result = _validated_with(sample_dir, tmp_path, "date_of_birth", "Zyxsecretdate", "--json")
    assert "invalid_date" in result.stdout and "zyxsecretdate" not in result.stdout.lower()


def test_row_numbers_are_explained_once(sample_dir):
    result = _run("validate", "--feed", FEED, sample_dir / HARBOUR)
    assert result.stdout.count("row 1 is the first data row") + result.stdout.count("from 1, the first data row") == 1
    out = json.loads(_run("validate", "--feed", FEED, "--json", sample_dir / HARBOUR).stdout)
    assert "first data row" in out["row_numbers"]


def test_a_file_dropped_in_for_an_unknown_provider_is_rejected_with_the_reason(home, sample_dir):
    from application.steps import stage_validated

    folder = home.inbox / FEED / "ngo-harbur" / "all"
    folder.mkdir(parents=True)
    (folder / "extract.csv").write_bytes((sample_dir / HARBOUR).read_bytes())
    keyring = home.keyring(create_demo=True)[0]
    inbox = home.sealed_inbox(keyring)
    (sub,) = inbox.scan()
    outcome = stage_validated(home, inbox, sub, keyring)
    assert outcome.status == "rejected" and "unknown provider id 'ngo-harbur'" in outcome.message


def test_a_sheet_name_is_shown_on_one_line(sample_dir, tmp_path):
    path = tmp_path / f"{FEED}__ngo-harbour.xlsx"
    workbook(path, {"Data": _csv_rows(sample_dir)})
    line = _one_line_error(_run("validate", "--feed", FEED, "--sheet", "Data\nrow", path))
    assert "'Data?row'" in line
