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
