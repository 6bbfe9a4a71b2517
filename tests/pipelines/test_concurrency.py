"""Two runs writing one repository at once, in two processes: the `warehouse` pool serialises their loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import dagster as dg
import pytest

from pipelines.partitions import submission_partitions
from tests.conftest import sample_files
from warehouse.repository import connect, repository_path

pytestmark = pytest.mark.integration
VA = "victim-assistance"
HOLDER = ("test-holds-the-pool", "hold")  # a (run id, step key) that keeps the pool's one slot
RUN_ONE = """
import json, sys
import dagster as dg
from pipelines.definitions import build_defs
from pipelines.runner import execute
with dg.DagsterInstance.get() as instance:
    failures = execute(build_defs().resolve_job_def("victim_assistance_ingest"), instance, "run", sys.argv[1])
print(json.dumps(failures))
"""


def _blocked(instance: dg.DagsterInstance) -> int:
    """How many runs have a step waiting for the `warehouse` pool."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="victim_assistance_ingest"))
    return sum(
        any("blocked by limit for pool warehouse" in (e.message or "") for e in instance.all_logs(r.run_id))
        for r in runs
    )


def test_concurrent_runs_both_land_and_the_repository_is_intact(home, sample_dir, truth):
    inbox = home.sealed_inbox(home.keyring(create_demo=True)[0])
    subs = [inbox.place(p, feed, prov, "all")[0] for p, feed, prov in sample_files(sample_dir) if feed == VA][:2]
    env = os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)}
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(submission_partitions(VA).name, [s.submission_id for s in subs])
        storage = instance.event_log_storage
        assert storage.initialize_concurrency_limit_to_default("warehouse")  # dagster.yaml: one slot
        assert storage.get_concurrency_info("warehouse").slot_count == 1
        assert storage.claim_concurrency_slot("warehouse", *HOLDER).is_claimed
        procs = [
            subprocess.Popen([sys.executable, "-c", RUN_ONE, s.submission_id], env=env, stdout=subprocess.PIPE)
            for s in subs
        ]
        try:
            deadline = time.monotonic() + 300  # a generous bound for a shared machine, not a timing assertion
            while _blocked(instance) < 2 and time.monotonic() < deadline and all(p.poll() is None for p in procs):
                time.sleep(0.5)
            assert _blocked(instance) == 2  # both runs reached their load and wait for the pool
            assert {inbox.get(s.submission_id).status for s in subs} == {"pseudonymised"}  # neither wrote yet
        finally:
            storage.free_concurrency_slot_for_step(*HOLDER)
        outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [json.loads(out.decode().strip().splitlines()[-1]) for out in outputs] == [[], []]
    assert {inbox.get(s.submission_id).status for s in subs} == {"loaded"}
    # Both landed whole: the same rows as the generator's ground truth (what a sequential run loads).
    want = {s.provider: truth["feeds"][VA]["providers"][s.provider]["valid_rows"] for s in subs}
    key = home.keyring()[0].key("database")
    with connect(repository_path(home.warehouse, VA), read_only=True, key=key) as con:
        loaded = dict(con.execute("SELECT provider, rows_loaded FROM submissions").fetchall())
        rows = dict(con.execute("SELECT provider, count(*) FROM victim_assistance GROUP BY provider").fetchall())
    assert loaded == want and rows == want


# A command whose `module.name` (its work: a load, a run) waits, once done, until another process holds a
# repository: the other process's lock then meets the command's own check after the work, every time.
PAUSED = """
import pathlib, sys, time
import {module} as target
done, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
work = target.{name}
def paused(*args, **kwargs):
    result = work(*args, **kwargs)
    done.touch()
    while not go.exists():
        time.sleep(0.05)
    return result
target.{name} = paused
from cli.main import app
app(sys.argv[3:], prog_name="rapporteur")
"""
# Another process writing a repository: it holds DuckDB's one-writer lock until told to let go.
HOLD = """
import pathlib, sys, time
from application.home import Home
from warehouse.repository import connect, repository_path
home = Home(pathlib.Path(sys.argv[1]))
with connect(repository_path(home.warehouse, sys.argv[2]), key=home.keyring()[0].key("database")):
    pathlib.Path(sys.argv[3]).touch()
    while not pathlib.Path(sys.argv[4]).exists():
        time.sleep(0.05)
"""


def _wait_for(path, proc, what: str) -> None:
    deadline = time.monotonic() + 600  # a generous bound for a shared machine, not a timing assertion
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _with_repository_held(home, tmp_path, feed: str, paused: tuple[str, str], *args: str):
    """Run `rapporteur ARGS` (its `paused` step done) while another process holds `feed`'s repository; then
    `rapporteur status` while it still holds it, and after. Returns the three CompletedProcess-like tuples."""
    env = os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)}
    done, go, held, release = (tmp_path / n for n in ("done", "go", "held", "release"))
    script = PAUSED.format(module=paused[0], name=paused[1])
    command = subprocess.Popen(
        [sys.executable, "-c", script, done, go, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    holder = None
    try:
        _wait_for(done, command, "the command's work")
        holder = subprocess.Popen([sys.executable, "-c", HOLD, home.root, feed, held, release], env=env)
        _wait_for(held, holder, "the other process's lock")
        go.touch()
        out, err = command.communicate(timeout=600)
        status_held = subprocess.run(
            [sys.executable, "-m", "cli.main", "status"], env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        release.touch()
        go.touch()
        if holder is not None:
            holder.wait(timeout=120)
        command.wait(timeout=120)
    status_after = subprocess.run(
        [sys.executable, "-m", "cli.main", "status"], env=env, capture_output=True, text=True, timeout=300
    )
    return (command.returncode, out.decode(), err.decode()), status_held, status_after


def test_ingest_whose_check_meets_a_busy_repository_says_loaded_and_exits_0(home, tmp_path, sample_dir):
    """The load is done: the exit code, the line and the JSON all say so, and that the check is still to do."""
    path, feed, provider = next(p for p in sample_files(sample_dir) if p[1] == VA)
    home.keyring(create_demo=True)
    args = ["ingest", "--feed", feed, "--provider", provider, str(path)]
    (code, out, err), held, after = _with_repository_held(
        home, tmp_path, feed, ("application.steps", "ingest_file"), *args, "--json"
    )
    result = json.loads(out)
    assert result["status"] == "loaded" and result["rows_loaded"] > 0
    assert result["reconciliation"]["status"] == "not checked"
    assert "victims.duckdb is open in another process" in result["reconciliation"]["not_checked"][0]
    assert code == (1 if result["rows_quarantined"] else 0), err
    assert "rapporteur:" not in err and "Traceback" not in err
    assert held.returncode == 0 and "reconciliation: not checked" in held.stdout, held
    assert after.returncode == 0 and "every submission's rows add up" in after.stdout, after
    assert "victim-assistance: 1 loaded" in after.stdout
    # The line without --json says the same; and trying again is a duplicate, exit 0.
    again = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and ": duplicate" in again.stdout, again


def test_run_whose_summary_meets_a_busy_repository_reports_its_work_and_exits_0(home, tmp_path):
    (code, out, err), _, after = _with_repository_held(
        home, tmp_path, "law-enforcement", ("pipelines.runner", "run_main_job"), "run", "--demo-rows", "120"
    )
    assert code == 0, (out, err)
    assert "this run: 6 new submission(s) loaded" in out
    assert "law enforcement repository: not read, law_enforcement.duckdb is busy" in out
    assert "not reconciled yet: law_enforcement.duckdb is open in another process" in out
    assert "annual report:" in out and "rapporteur:" not in err
    assert after.returncode == 0 and "every submission's rows add up" in after.stdout
