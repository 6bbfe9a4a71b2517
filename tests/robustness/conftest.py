"""Fixtures of the robustness suites: the clean bases, damaged files on disk, the CLI in-process."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from intake.inbox import submission_id
from tests.robustness.inputs import CANARY, CASES, PROVIDER, VA, Base, Case, csv_text, load_bases

runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, says: str, code: int = 2) -> str:
    """The outcome of a user's error: exit `code`, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output[-2000:])
    lines = result.stderr.strip().splitlines()
    lines = [line for line in lines if not line.startswith("note: created an UNPROTECTED demo keyring")]
    assert len(lines) == 1 and lines[0].startswith("rapporteur: "), result.stderr[-2000:]
    assert re.search(says, lines[0]), (says, lines[0])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return lines[0]


@pytest.fixture(scope="session")
def bases(sample_dir) -> dict[str, Base]:
    return load_bases(sample_dir)


@pytest.fixture(scope="session")
def case_files(tmp_path_factory, bases) -> dict[str, Path]:
    """Every case of the table written once to disk, as `<feed>__<provider><suffix>`."""
    root = tmp_path_factory.mktemp("damaged")
    files = {}
    for i, case in enumerate(CASES):
        data, suffix = case.build(bases[case.source or case.feed])
        folder = root / f"{i:02d}"
        folder.mkdir()
        files[case.name] = folder / f"{case.feed}__{PROVIDER[case.feed]}{suffix}"
        files[case.name].write_bytes(data)
    return files


def case_submission_id(case: Case, path: Path, period: str = "all") -> str:
    return submission_id(case.feed, PROVIDER[case.feed], period, hashlib.sha256(path.read_bytes()).hexdigest())


ROWS = 20


@pytest.fixture
def extracts(bases, tmp_path):
    """Two clean submissions of one provider (they differ in one name, which carries the canary)."""
    base, paths = bases[VA], []
    for i in range(2):
        rows = base.copy_rows()
        rows[0]["given_name"] = f"{CANARY}{i}"
        path = tmp_path / f"extract-{i}.csv"
        path.write_text(csv_text(base.header, rows), encoding="utf-8")
        paths.append(path)
    return paths


def sid(path: Path) -> str:
    """The submission id of a victim-assistance extract of the base provider, period all."""
    return submission_id(VA, PROVIDER[VA], "all", hashlib.sha256(path.read_bytes()).hexdigest())


WHOLE = (ROWS, 0, (ROWS, ROWS, 0), ROWS)  # what held() finds of a clean extract: all rows, with their escrow
