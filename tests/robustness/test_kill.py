"""kill -9 during `rapporteur ingest` at seeded random moments: the whole submission or none of it, never half."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import time
from collections import Counter

import pytest

from application.home import Home
from intake.inbox import submission_id
from tests.conftest import sample_files
from tests.robustness.conftest import cli
from tests.robustness.faults import held, run, start

pytestmark = pytest.mark.slow
TRIALS = 20
SEED = 20261122


@pytest.fixture(scope="module")
def extract(sample_dir):
    """One provider's whole generated extract (with its defective rows), reused by every trial."""
    path, feed, provider = next(p for p in sample_files(sample_dir) if p[1] == "victim-assistance")
    return path, feed, provider, submission_id(feed, provider, "all", hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture(scope="module")
def clean(tmp_path_factory, extract):
    """A clean run: its outcome, its duration, and its keyring (every trial uses the same keys)."""
    path, feed, provider, sid = extract
    root = tmp_path_factory.mktemp("clean") / "home"
    began = time.monotonic()
    done = run(root, "ingest", "--feed", feed, "--provider", provider, "--json", path)
    took = time.monotonic() - began
    assert done.returncode in (0, 1), done.stderr[-2000:]
    outcome = json.loads(done.stdout)
    home = Home(root)
    return outcome, took, home.keys, held(home, feed, sid), done.returncode


def test_kill_9_at_random_points_leaves_all_or_nothing(tmp_path, extract, clean, monkeypatch):
    path, feed, provider, sid = extract
    outcome, took, keys, clean_held, clean_code = clean
    assert clean_held == (
        outcome["rows_loaded"],
        outcome["rows_quarantined"],
        (outcome["rows_in"], outcome["rows_loaded"], outcome["rows_quarantined"]),
        outcome["rows_loaded"],
    )
    rng = random.Random(SEED)
    seen: Counter[str] = Counter()
    window, interrupted, attempt = took, 0, 0
    while interrupted < TRIALS:  # only a kill that interrupts the run counts as a trial
        assert attempt < 3 * TRIALS, "the kills keep landing after the run has finished"
        root = tmp_path / f"attempt-{attempt}"
        attempt += 1
        shutil.copytree(keys, root / "keys")
        home = Home(root)
        # Stratified over the whole run (start-up, read, validation, pseudonymisation, load), then jittered.
        delay = window * (interrupted + rng.random()) / TRIALS
        child = start(root, "ingest", "--feed", feed, "--provider", provider, "--json", path)
        time.sleep(delay)
        finished = child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        if finished:
            window = min(window, delay)  # runs are faster than the clean one was: narrow the window to them
        else:
            interrupted += 1

        # 1. The repository holds the whole submission or none of it.
        rows, quarantined, ledger, escrow = held(home, feed, sid)
        whole = (rows, quarantined, ledger) == clean_held[:3]
        assert whole or (rows, quarantined, ledger) == (0, 0, None), (attempt, delay, rows, quarantined, ledger)
        assert not whole or escrow == rows  # rows are never loaded without their escrow
        # 2. The submission is still in the inbox (or was never placed), never a half-written file.
        inbox = home.sealed_inbox(home.keyring()[0]) if (root / "keys").exists() else None
        sub = inbox.get(sid) if inbox and (root / "inbox").exists() else None
        if sub is not None:
            assert sub.path.exists() and sub.status != "rejected"
            assert inbox.read(sub) == path.read_bytes()
        stray = [p for p in (root / "inbox").rglob("*") if p.is_file() and p.suffix not in (".sealed", ".sqlite")]
        assert all(p.name.startswith(".") or p.name.endswith("-journal") for p in stray), stray
        state = (
            "finished"
            if finished
            else f"{'placed' if sub else 'not placed'}, {'loaded' if whole else 'nothing loaded'}"
        )
        seen[state] += 1

        # 3. A rerun (in this process, to keep the suite short) ends with exactly the counts of a clean run.
        monkeypatch.setenv("RAPPORTEUR_HOME", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
        again = cli("ingest", "--feed", feed, "--provider", provider, "--json", path)
        assert again.exit_code in (0, 1), again.output[-2000:]
        status = json.loads(again.stdout)
        if status["status"] == "duplicate":  # the killed run had finished its ledger entry
            assert finished or (whole and sub is not None)
        else:
            assert again.exit_code == clean_code
            assert {k: status[k] for k in ("rows_in", "rows_loaded", "rows_quarantined")} == {
                k: outcome[k] for k in ("rows_in", "rows_loaded", "rows_quarantined")
            }
        assert held(home, feed, sid) == clean_held
        after = home.sealed_inbox(home.keyring()[0]).get(sid)
        assert (after.status, after.path.exists()) == ("loaded", True)
    print(f"\nkill -9: {TRIALS} trials in {attempt} attempts, clean run {took:.1f} s, outcomes {dict(seen)}")
