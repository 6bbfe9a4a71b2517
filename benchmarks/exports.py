"""Seconds per international export (figures, files, read-back checks and the disclosure audit) on an installation.

    RAPPORTEUR_HOME=var .venv/bin/python benchmarks/exports.py [REPEAT]

Not part of `make bench`: it measures `reporting/exports/` on an installation that has run (`make run`), every
year the research database publishes, and prints a Markdown table (median of REPEAT runs, default 3).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from application.home import Home
from reporting.exports.figures import Published
from reporting.exports.population import DEMO_FILE
from reporting.exports.run import KINDS, make_export
from warehouse.protection import RECORD_FILE, read_record
from warehouse.research import RESEARCH_FILE


def main(repeat: int) -> None:
    home = Home.from_env()
    keyring, _ = home.keyring(create_demo=False)
    record = read_record(home.warehouse / RECORD_FILE, keyring.key("database"))
    research = home.warehouse / RESEARCH_FILE
    years = Published.from_database(research).years
    print(f"research database: {research} ({years[0]} to {years[-1]}, {len(record)} withheld cells)\n")
    print("| export | years | files | new sums audited | seconds (median) |")
    print("| --- | --- | --- | --- | --- |")
    for kind in KINDS:
        for span in ([years[-1]], years):
            times = []
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as out:
                    start = time.perf_counter()
                    result = make_export(
                        kind, research, span, Path(out), "NLD", record, home.settings.disclosure_k, DEMO_FILE
                    )
                    times.append(time.perf_counter() - start)
            print(
                f"| {kind} | {len(span)} | {len(result.files)} | {result.audit['export_sums']} | "
                f"{statistics.median(times):.2f} |"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
