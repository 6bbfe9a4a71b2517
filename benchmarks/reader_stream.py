"""Rows per second and peak memory of the streaming reader beside DuckDB's read_csv (the floor), in fresh processes.

    .venv/bin/python benchmarks/reader_stream.py EXTRACT.csv [REPEAT]

Not part of `make bench`: a measurement of `sources/` alone (issue 10). Peak memory is the process's own
high-water mark (VmHWM) minus the one after imports.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRELUDE = """
import json, re, sys, time
from pathlib import Path
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) << 10
"""
MEASURED = {
    "DuckDB read_csv into a table (floor)": """
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
before, start = peak(), time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)", [sys.argv[1]])
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
""",
    "open_extract(path), every batch": """
from sources.reader import open_extract
before, start = peak(), time.perf_counter()
rows = 0
with open_extract(Path(sys.argv[1])) as stream:
    for batch in stream.batches():
        rows += batch.num_rows
""",
    "open_extract(file object), every batch": """
from sources.reader import open_extract
before, start = peak(), time.perf_counter()
rows = 0
with open(sys.argv[1], "rb") as f, open_extract(f) as stream:
    for batch in stream.batches():
        rows += batch.num_rows
""",
    "read_extract(path), the whole table": """
from sources.reader import read_extract
before, start = peak(), time.perf_counter()
rows = read_extract(Path(sys.argv[1])).rows
""",
}
REPORT = """
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start, "peak_growth": peak() - before}))
"""


def main() -> None:
    path, repeat = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"{Path(path).name}: {Path(path).stat().st_size / 1e6:.0f} MB, median of {repeat} runs")
    print("| reader | rows | seconds | rows/s | peak RSS growth (MB) |\n|---|---:|---:|---:|---:|")
    for label, code in MEASURED.items():
        runs = []
        for _ in range(repeat):
            done = subprocess.run(
                [sys.executable, "-c", PRELUDE + code + REPORT, path], capture_output=True, text=True, cwd=ROOT
            )
            if done.returncode:
                sys.exit(done.stderr[-2000:])
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        seconds = statistics.median(r["seconds"] for r in runs)
        growth = statistics.median(r["peak_growth"] for r in runs)
        rows = runs[0]["rows"]
        print(f"| {label} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | {growth / 1e6:,.0f} |")


if __name__ == "__main__":
    main()
