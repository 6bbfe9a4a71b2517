"""Shared fixtures: a temporary RAPPORTEUR_HOME and one generated sample per test session."""

from __future__ import annotations

import csv
import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from application.home import Home
from synthetic.generator import generate

SAMPLE_ROWS = 1500
SAMPLE_SEED = 7


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    """An empty installation in a temporary folder, selected through RAPPORTEUR_HOME."""
    from privacy import access_log

    access_log.unbind()  # what an earlier test opened was logged in its own installation
    root = tmp_path / "home"
    monkeypatch.setenv("RAPPORTEUR_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    return Home(root).ensure()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """Synthetic extracts of both feeds (3 providers each) with their ground truth."""
    out = tmp_path_factory.mktemp("sample")
    generate(out, rows=SAMPLE_ROWS, providers=3, seed=SAMPLE_SEED)
    return out


@pytest.fixture(scope="session")
def truth(sample_dir) -> dict:
    return json.loads((sample_dir / "ground_truth" / "summary.json").read_text())


@pytest.fixture(scope="session")
def truth_records(sample_dir) -> list[dict]:
    with (sample_dir / "ground_truth" / "records.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def sample_files(sample_dir: Path):
    """(path, feed, provider) of each provider's main CSV."""
    for path in sorted(sample_dir.glob("*__*.csv")):
        if path.name.count(".") == 1:
            feed, provider = path.stem.split("__")
            yield path, feed, provider


@contextmanager
def installation_after_run(root: Path, extracts: Path):
    """An installation in `root` (selected through the environment) that ran the main job once over
    every provider CSV in `extracts`."""
    from application.home import Home
    from pipelines.runner import run_main_job

    home = Home(root).ensure()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAPPORTEUR_HOME", str(home.root))
        env.setenv("DAGSTER_HOME", str(home.dagster))
        keyring, _ = home.keyring(create_demo=True)
        inbox = home.sealed_inbox(keyring)
        for path, feed, provider in sample_files(extracts):
            inbox.place(path, feed, provider, "all")
        assert run_main_job(home) == []
        yield home
