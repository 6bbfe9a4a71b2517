"""`rapporteur run` says what this run did: new submissions, the ones they superseded, or nothing to do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _rapporteur(home, *args) -> subprocess.CompletedProcess:
    env = os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)}
    cmd = [sys.executable, "-m", "cli.main", *map(str, args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def _this_run(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return next(line for line in result.stdout.splitlines() if line.startswith("this run: "))


def test_each_run_says_what_it_did(home, tmp_path):
    first = _this_run(_rapporteur(home, "run", "--demo-rows", 120))
    assert first == "this run: 6 new submission(s) loaded"
    again = _this_run(_rapporteur(home, "run", "--demo-rows", 120))
    assert again.startswith("this run: nothing new to load (6 submissions already done)")
    # A provider sends a corrected extract for the same period: it is new and supersedes the one before.
    sample = next(p for p in sorted(home.samples.glob("victim-assistance__*.csv")) if p.name.count(".") == 1)
    lines = sample.read_bytes().splitlines(keepends=True)  # in the provider's own encoding
    corrected = tmp_path / sample.name
    corrected.write_bytes(b"".join(lines[:-1]))
    provider = sample.stem.split("__")[1]
    submitted = _rapporteur(home, "submit", "--feed", "victim-assistance", "--provider", provider, corrected)
    assert submitted.returncode == 0, submitted.stderr
    third = _this_run(_rapporteur(home, "run", "--demo-rows", 120))
    assert (
        third
        == "this run: 1 new submission(s) loaded, superseding 1 earlier one(s) of the same provider, feed and period"
    )
