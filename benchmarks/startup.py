"""Start-up: every everyday command as a whole process on a 1,000-row extract, against the bare import of
pandas + duckdb + pyarrow measured in the same run, and what each command still imports.

Usage: python benchmarks/startup.py   (`make bench` runs it first; it writes benchmarks/startup.md)

Environment:
  BENCH_STARTUP_REPEAT  rounds (default 7); in each round the bare import and then every command run once,
                        so each command's ratio is taken round by round against the bare import beside it
                        and quoted as the median (robust to a shared machine's drift)
  BENCH_STARTUP_CODE    the source tree to run the commands from (default: this checkout), to measure an
                        older commit the same way (e.g. a `git archive` of it) with this environment's packages

Each command runs as `python -P -m cli.main ...` in a fresh process; its wall seconds and peak resident memory
come from wait4 (`benchmarks/run.py`'s `child`). `ingest` gets a new installation each round (a first
submission: the installation and its demo keyring are made by the command, as on a provider's first use).
What each command still costs is read from one `python -X importtime` run of it: the packages it imports,
by cumulative import time.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import child, machine  # noqa: E402  (the benchmarks folder is scripts, not a package)

CODE = Path(os.environ.get("BENCH_STARTUP_CODE", HERE.parent)).resolve()
PYTHON = sys.executable
FEED, PROVIDER = "victim-assistance", "ngo-harbour"
BARE = [PYTHON, "-c", "import pandas, duckdb, pyarrow"]
# The targets, as whole commands on 1,000 rows over the bare import (issue 20, item 1).
TARGETS = {"validate": 2.5, "ingest": 4.0}
HEAVY = ("dagster", "great_expectations", "opendp", "sdmx", "highspy", "pandera", "scipy", "openpyxl", "starlette")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| *([\w.]+)$", re.MULTILINE)


def commands(extract: Path, report: Path) -> dict[str, list[str]]:
    """Each measured command's arguments after `python -m cli.main`."""
    return {
        "--help": ["--help"],
        "status": ["status"],
        "validate": ["validate", str(extract), "--feed", FEED],
        "validate --report": ["validate", str(extract), "--feed", FEED, "--report", str(report)],
        "ingest": ["ingest", str(extract), "--feed", FEED, "--provider", PROVIDER, "--json"],
        "sql -c": ["sql", "-c", "SELECT 1"],
    }


def imports(args: list[str], env: dict) -> list[tuple[str, float]]:
    """The packages `args` imports and the seconds each costs (its modules' own import times, whoever
    imported them), largest first."""
    done = subprocess.run([PYTHON, "-P", "-X", "importtime", *args], cwd=CODE, env=env, capture_output=True, text=True)
    costs: dict[str, float] = {}
    for own, name in IMPORT_LINE.findall(done.stderr):
        top = name.split(".")[0]
        costs[top] = costs.get(top, 0.0) + int(own) / 1e6
    return sorted(costs.items(), key=lambda kv: -kv[1])


def main() -> None:
    repeat = int(os.environ.get("BENCH_STARTUP_REPEAT", "7"))
    work = Path(tempfile.mkdtemp(prefix="rapporteur-startup-"))
    env = {**os.environ, "PYTHONPATH": str(CODE), "RAPPORTEUR_HOME": str(work / "home")}
    env.pop("RAPPORTEUR_KEY_PASSPHRASE", None)
    cli = [PYTHON, "-P", "-m", "cli.main"]  # -P: the code comes from PYTHONPATH (CODE), not the working folder
    started = time.perf_counter()
    child([*cli, "sample", "--out", str(work / "sample"), "--rows", "1000", "--providers", "1"], env, ok=(0,))
    extract = work / "sample" / f"{FEED}__{PROVIDER}.csv"
    cmds = commands(extract, work / "report")
    # status and sql need an installation with a repository: one ingest first (sql's research database is
    # absent, so it exits 2 after its imports: the start-up is what is measured).
    child([*cli, *cmds["ingest"]], env)
    ok = {"sql -c": (2,)}
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in ["bare import", *cmds]}
    ratios: dict[str, list[float]] = {name: [] for name in cmds}
    for r in range(repeat):
        bare, rss, _ = child(BARE, env, ok=(0,))
        runs["bare import"].append((bare, rss))
        for name, args in cmds.items():
            run_env = env
            if name == "ingest":
                run_env = {**env, "RAPPORTEUR_HOME": str(work / f"ingest-home-{r}")}
            seconds, rss, _ = child([*cli, *args], run_env, ok=ok.get(name, (0, 1)))
            runs[name].append((seconds, rss))
            ratios[name].append(seconds / bare)
    costs = {  # ingest into a new installation, as measured above (a second ingest is a duplicate: no work)
        name: imports(["-m", "cli.main", *args], {**env, "RAPPORTEUR_HOME": str(work / f"imports-{name}")})
        if name == "ingest"
        else imports(["-m", "cli.main", *args], env)
        for name, args in cmds.items()
    }
    costs["bare import"] = imports(BARE[1:], env)
    shutil.rmtree(work, ignore_errors=True)
    write(HERE / "startup.md", runs, ratios, costs, repeat, time.perf_counter() - started)
    print((HERE / "startup.md").read_text())


def write(path: Path, runs, ratios, costs, repeat: int, took: float) -> None:
    lines = [
        "# Start-up of every command",
        "",
        f"Machine: {machine()}.",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `benchmarks/startup.py` "
        f"({repeat} rounds; code: `{CODE.name}`); it took {took:.0f} s.",
        "",
        "Each command as a whole process (`python -P -m cli.main ...`) on a generated 1,000-row victim-assistance "
        "extract. In every round the bare import of pandas + duckdb + pyarrow runs first, then each command; "
        "*× bare* is the median of the round-by-round ratios. Peak RSS is the largest of the rounds (wait4).",
        "",
        "| command | median seconds | × bare import | target | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in runs.items():
        seconds = statistics.median(s for s, _ in measured)
        rss = max(m for _, m in measured) / 2**20
        ratio = f"{statistics.median(ratios[name]):.2f}" if name in ratios else "1.00"
        target = TARGETS.get(name)
        lines.append(f"| `{name}` | {seconds:.2f} | {ratio} | {f'within {target}' if target else ''} | {rss:,.0f} MB |")
    lines += [
        "",
        "## What each command imports",
        "",
        "One `python -X importtime` run of each: the seconds of each package's own modules, whoever imported them.",
        "",
        "Heavy libraries are marked **bold**; the product's packages (`application`, `schemas`, ...) count only "
        "their own modules: the libraries they import are counted under each library.",
        "",
        "| command | largest imports |",
        "| --- | --- |",
    ]
    for name, found in costs.items():
        shown = ", ".join(
            (f"**{pkg}** {s:.2f}" if pkg in HEAVY else f"{pkg} {s:.2f}") for pkg, s in found[:8] if s >= 0.005
        )
        total = sum(s for _, s in found)
        lines.append(f"| `{name}` | {total:.2f} s in all: {shown} |")
    notes = HERE / "startup_notes.md"  # written by hand: before and after, what holds a target back
    path.write_text("\n".join(lines) + "\n\n" + notes.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
