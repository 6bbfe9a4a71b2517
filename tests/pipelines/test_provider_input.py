"""What a provider meets at the command line: unknown provider ids, identifiers with control characters."""

from __future__ import annotations

import pytest

from tests.conftest import sample_files
from tests.pipelines.test_cli import _one_line_error, _run

HARBOUR = "victim-assistance__ngo-harbour.csv"


@pytest.mark.parametrize("command", ["validate", "prepare", "submit", "ingest"])
def test_an_unknown_provider_is_one_line_naming_the_providers(home, sample_dir, tmp_path, command):
    extra = ["--out", tmp_path / "p.parquet"] if command == "prepare" else []
    args = [command, "--feed", "victim-assistance", "--provider", "ngo-harbur", *extra, sample_dir / HARBOUR]
    line = _one_line_error(_run(*args))
    assert "ngo-harbur" in line and "did you mean ngo-harbour" in line
    assert "ngo-harbour, ngo-lighthouse, nrm-central" in line and "police-north" not in line
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
    from sources.errors import UnusableInput
    from sources.inbox import PERIOD, PROVIDER_ID, check_submission_args

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
