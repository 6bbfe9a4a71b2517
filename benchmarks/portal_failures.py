"""Peak memory of the portal checking an extract whose rows nearly all fail, in a fresh process (issue 18).

    .venv/bin/python benchmarks/portal_failures.py [MB]    (default 50: the portal's default upload limit)

Not part of `make bench`. It writes a generated victim-assistance extract of about MB megabytes in which 97% of
the rows carry an unmapped sex code and an impossible date, then runs the portal's `check_upload` on its bytes
in a child process and prints its peak RSS (VmHWM), its RSS once the upload is held, and the seconds taken.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import gc, json, re, sys, time
from pathlib import Path
def status(field):
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) >> 10
from portal.uploads import check_upload
data = Path(sys.argv[1]).read_bytes()
start = time.perf_counter()
held = check_upload(data, "victim-assistance", "ngo-harbour", "all", "extract.csv", [], Path(sys.argv[2]))
seconds = time.perf_counter() - start
gc.collect()
print(json.dumps({"failures": held.failures, "peak_mb": status("VmHWM"), "held_mb": status("VmRSS"),
                  "seconds": round(seconds, 1)}))
"""


def failing_extract(path: Path, megabytes: int) -> int:
    """Write the extract; return its rows. Rows are the sample generator's, repeated with new record ids."""
    from synthetic.generator import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), 20_000, 1, 0)
        rows = list(csv.DictReader(io.StringIO((Path(tmp) / "victim-assistance__ngo-harbour.csv").read_text())))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        n, limit = 0, megabytes << 20
        while out.tell() < limit:
            for row in rows[: max(1, (limit - out.tell()) // 230)]:  # about 230 bytes a row
                n += 1
                failing = n % 100 >= 3
                writer.writerow(
                    row
                    | {"provider_record_id": f"R{n:09d}"}
                    | ({"sex": "unknown-sex", "identification_date": "31/02/2015"} if failing else {})
                )
    return n


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "failing.csv"
        rows = failing_extract(path, megabytes)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), tmp], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        print(
            json.dumps(
                {"megabytes": round(path.stat().st_size / 2**20, 1), "rows": rows}
                | json.loads(next(line for line in out.splitlines() if line.startswith("{")))
            )
        )


if __name__ == "__main__":
    main()
