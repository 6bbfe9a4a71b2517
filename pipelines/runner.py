"""Run the main job in-process on the installation's Dagster instance, and summarise what it did."""

from __future__ import annotations

import re
from collections import Counter

import dagster as dg

from pipelines.definitions import MAIN_JOB, defs
from pipelines.home import Home
from sources.inbox import Inbox
from warehouse.repository import repository_counts, repository_path

SAMPLE_NAME = re.compile(r"^(?P<feed>law-enforcement|victim-assistance)__(?P<provider>[a-z0-9-]+)\.csv$")


def place_demo_submissions(home: Home, inbox: Inbox, rows: int, seed: int = 0) -> int:
    """Generate demo extracts of both feeds under samples/ and submit each provider's CSV."""
    from synthetic.generator import generate

    generate(home.samples, rows=rows, providers=3, seed=seed)
    placed = 0
    for path in sorted(home.samples.glob("*.csv")):
        m = SAMPLE_NAME.match(path.name)  # skips the .cp1252.csv variant: same rows, other encoding
        if m:
            inbox.place(path, m["feed"], m["provider"], "all")
            placed += 1
    return placed


def run_main_job(home: Home) -> list[str]:
    """Materialise the whole asset graph once; return one line per failed step (none: success)."""
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def(MAIN_JOB).execute_in_process(
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            raise_on_error=False,
        )
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the step's own error, not Dagster's wrapper
            what = error.message.strip().splitlines()[-1] if error else "failed"
            failures.append(f"step {event.step_key} failed: {what}")
    if not result.success and not failures:
        failures.append(f"run {result.run_id} failed; open `make dev` to see its logs")
    return failures


def summary_lines(home: Home, inbox: Inbox, db_key: bytes) -> list[str]:
    """A short account of the inbox and both repositories, for the terminal."""
    statuses = Counter(r["status"] for r in inbox.ledger())
    lines = ["submissions: " + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")]
    for feed, label in (("victim-assistance", "victims"), ("law-enforcement", "law enforcement")):
        c = repository_counts(home.warehouse, feed, db_key)
        lines.append(
            f"{label} repository: {c['rows_loaded']} rows loaded, {c['rows_quarantined']} quarantined "
            f"({c['submissions']} current submissions) in {repository_path(home.warehouse, feed)}"
        )
    lines.append(f"research database: {home.warehouse / 'research.duckdb'}")
    lines.append(f"data dictionary: {home.reports / 'data-dictionary.html'}")
    reports = sorted(home.reports.glob("annual-report-*.html"))
    if reports:
        lines.append(f"annual report: {reports[-1]}")
    return lines
