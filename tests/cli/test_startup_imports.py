"""Start-up: the everyday commands never import the heavy libraries they do not use (module names, never times)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sample_files

ROOT = Path(__file__).resolve().parents[2]
# Each costs from a few tenths of a second to three seconds to import, and none is used by these commands.
HEAVY = ("dagster", "great_expectations", "opendp", "sdmx", "highspy")
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +([\w.]+)$", re.MULTILINE)


def imported_by(*args: str) -> set[str]:
    """The top-level packages `rapporteur ARGS` imports, from `python -X importtime` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    modules = IMPORTED.findall(done.stderr)
    assert "typer" in modules, "importtime reported nothing: the guard would pass vacuously"
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("command", [["--help"], ["status"], ["validate", "--help"], ["ingest", "--help"]])
def test_help_and_status_import_none_of_the_heavy_libraries(home, command):
    assert not imported_by(*command) & set(HEAVY)


def test_validate_without_a_report_imports_none_of_the_heavy_libraries(home, sample_dir):
    path, feed, provider = next(sample_files(sample_dir))
    modules = imported_by("validate", str(path), "--feed", feed, "--provider", provider)
    assert "pandera" in modules  # it did validate
    assert not modules & set(HEAVY)


def test_validate_with_a_report_imports_great_expectations_for_its_data_docs(home, sample_dir, tmp_path):
    """The other side of the guard: where its output is wanted, Great Expectations is still there."""
    path, feed, provider = next(sample_files(sample_dir))
    modules = imported_by("validate", str(path), "--feed", feed, "--provider", provider, "--report", str(tmp_path))
    assert "great_expectations" in modules
    assert (tmp_path / "data-docs" / "index.html").is_file()
