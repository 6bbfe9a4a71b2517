"""Helpers of the fault suites: `rapporteur` in a child process, and what a repository holds of one submission."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from application.home import Home
from schemas.standard import feed as feed_spec
from warehouse.repository import connect, escrow_path, repository_path

REPO_ROOT = Path(__file__).resolve().parents[2]


def child_env(home: Path, **extra: str) -> dict[str, str]:
    return os.environ | {"RAPPORTEUR_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), **extra}


def start(home: Path, *args: object, preexec=None) -> subprocess.Popen:
    """`rapporteur ARGS` in a child process on the installation `home`."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *map(str, args)],
        cwd=REPO_ROOT,
        env=child_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


def run(home: Path, *args: object, preexec=None) -> subprocess.CompletedProcess:
    proc = start(home, *args, preexec=preexec)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def held(home: Home, feed: str, sid: str) -> tuple[int, int, tuple | None, int]:
    """(rows, quarantine rows, ledger row, escrow rows) of submission `sid` in the feed's repository."""
    keyring = home.keyring()[0]
    path = repository_path(home.warehouse, feed)
    if not path.exists():
        return 0, 0, None, 0
    table = feed_spec(feed).table
    with connect(path, read_only=True, key=keyring.key("database")) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "submissions" not in names:
            return 0, 0, None, 0
        rows = con.execute(f"SELECT count(*) FROM {table} WHERE submission_id = ?", [sid]).fetchone()[0]
        quarantined = con.execute(
            "SELECT count(DISTINCT row_number) FROM quarantine WHERE submission_id = ?", [sid]
        ).fetchone()[0]
        ledger = con.execute(
            "SELECT rows_in, rows_loaded, rows_quarantined FROM submissions WHERE submission_id = ?", [sid]
        ).fetchone()
    escrow = 0
    if escrow_path(home.warehouse, feed).exists():
        with connect(escrow_path(home.warehouse, feed), read_only=True, key=keyring.key("escrow")) as con:
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'escrow'").fetchone()[0]:
                escrow = con.execute("SELECT count(*) FROM escrow WHERE submission_id = ?", [sid]).fetchone()[0]
    return rows, quarantined, ledger, escrow
