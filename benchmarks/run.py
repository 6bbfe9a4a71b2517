"""Benchmarks: the product's commands on generated data, side by side with a floor and a plain peer, in one run.

Usage: python benchmarks/run.py   (what `make bench` runs; it writes benchmarks/results.md)

Environment:
  BENCH_SIZES      rows of the generated extracts (default 100000,1000000,10000000: the issue's three sizes;
                   generating the 10-million-row extract once takes 15-30 minutes and it is cached; the whole
                   run then takes about an hour)
  BENCH_REPEAT     runs per measurement, reported as the median (default 3)
  BENCH_REPEAT_LARGE  runs per measurement for sizes above 1,000,000 rows (default 1)
  BENCH_PEER_MAX_ROWS  the plain peer holds the whole file as pandas objects (about 3.5 GB per million rows):
                   it is not run above this size (default 1000000)
  BENCH_BREAKDOWN_ROWS  the size whose ingest is broken down step by step (default 1000000)
  BENCH_REPO_ROWS  rows of the large repository the 1,000-row submission goes into (default 10000000)
  BENCH_RESEARCH_ROWS  rows of the repository the research database is rebuilt over (default 10000000)
  BENCH_CACHE      where generated extracts are kept between runs (default benchmarks/out/samples)

For each size, on the same victim-assistance extract: (a) the floor, DuckDB read_csv into a table; (b)
`rapporteur ingest`; (c) `rapporteur validate`; (d) the plain peer (benchmarks/peer.py). Every command
runs as a child process: its wall time and peak resident memory (wait4) are taken. The fixed cost of a
command is the same command on a 1,000-row extract; work = whole - fixed. Then a repository of
BENCH_RESEARCH_ROWS rows is made from the largest ingest (its rows copied as other submissions of other
persons) and the research database is rebuilt over it; then it is grown to BENCH_REPO_ROWS rows and
1,000-row submissions are ingested into it.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
FEED, PROVIDER = "victim-assistance", "ngo-harbour"
FILE = f"{FEED}__{PROVIDER}.csv"
SMALL = 1_000
GB = 1 << 30


@dataclass
class Measure:
    """Median wall seconds and the largest peak RSS (bytes) of one command over several runs."""

    seconds: float
    rss: int
    inner: float | None = None  # seconds the child measured itself (imports excluded), when it reports them
    fixed: Measure | None = None  # the same command on the 1,000-row extract, measured alongside

    @classmethod
    def of(cls, whole: list[tuple], fixed: list[tuple]) -> Measure:
        def median(runs: list[tuple]) -> Measure:
            inner = [r[2] for r in runs if r[2] is not None]
            return cls(
                statistics.median(r[0] for r in runs),
                max(r[1] for r in runs),
                statistics.median(inner) if inner else None,
            )

        out = median(whole)
        out.fixed = median(fixed)
        return out


def child(cmd: list[str], env: dict, ok=(0, 1), report=False) -> tuple[float, int, str]:
    """Run `cmd`; its wall seconds, its peak resident memory in bytes (from wait4) and its stdout.

    With `report`, the command must print a JSON report: without one, it failed (stderr says why)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode()
        if proc.returncode not in ok or (report and not stdout.startswith("{")):
            tail = err.read().decode()[-2000:]
            raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
        return seconds, usage.ru_maxrss * 1024, stdout


def measured(make_cmd, env_for, repeat: int, ok=(0, 1)) -> Measure:
    """Median over `repeat` runs; make_cmd(i) and env_for(i) give the i-th run's command and environment."""
    times, rss, inner = [], 0, []
    for i in range(repeat):
        seconds, peak, out = child(make_cmd(i), env_for(i), ok)
        times.append(seconds)
        rss = max(rss, peak)
        if out.startswith("{") and '"seconds"' in out:
            inner.append(json.loads(out.splitlines()[0])["seconds"])
    return Measure(statistics.median(times), rss, statistics.median(inner) if inner else None)


def measured_once(cmd: list[str], env: dict, ok=(0, 1)) -> tuple[float, int, float | None]:
    """One run: wall seconds, peak RSS and the seconds the child reported itself (or None)."""
    seconds, peak, out = child(cmd, env, ok)
    inner = json.loads(out.splitlines()[0])["seconds"] if out.startswith("{") and '"seconds"' in out else None
    return seconds, peak, inner


def sample(rows: int, seed: int, cache: Path) -> Path:
    """The victim-assistance extract of a generated sample, generated once and kept in `cache`."""
    out = cache / f"{rows}-seed{seed}"
    if not (out / ".done").exists():
        print(f"generating {rows:,} rows (seed {seed}) in {out}", flush=True)
        subprocess.run(
            [str(BIN / "rapporteur"), "sample", "--out", str(out), "--rows", str(rows), "--providers", "1"]
            + ["--seed", str(seed)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=os.environ | {"RAPPORTEUR_HOME": str(cache / "home")},
        )
        (out / ".done").touch()
    return out / FILE


def rows_of(path: Path) -> int:
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1


FLOOR = """
import json, sys, time, duckdb
con = duckdb.connect()
start = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)", [sys.argv[1]])
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line),
        platform.processor() or "unknown CPU",
    )
    mem = next(
        (int(line.split()[1]) << 10 for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line), 0
    )
    return (
        f"{model}, {os.cpu_count()} cores, {mem / GB:.1f} GB memory, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )


class Bench:
    """One run of the harness: its work folder, settings and results."""

    def __init__(self) -> None:
        self.sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000,10000000").split(",") if s.strip()]
        self.repeat = int(os.environ.get("BENCH_REPEAT", "3"))
        self.repeat_large = int(os.environ.get("BENCH_REPEAT_LARGE", "1"))
        self.peer_max_rows = int(os.environ.get("BENCH_PEER_MAX_ROWS", "1000000"))
        self.breakdown_rows = int(os.environ.get("BENCH_BREAKDOWN_ROWS", "1000000"))
        self.repo_rows = int(os.environ.get("BENCH_REPO_ROWS", "10000000"))
        self.research_rows = int(os.environ.get("BENCH_RESEARCH_ROWS", "10000000"))
        self.cache = Path(os.environ.get("BENCH_CACHE", HERE / "out" / "samples")).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="rapporteur-bench-"))
        self.homes = 0
        self.ingest_homes: dict[Path, dict] = {}
        self.rapporteur = str(BIN / "rapporteur")
        self.python = str(BIN / "python")
        self.env = {k: v for k, v in os.environ.items() if k != "RAPPORTEUR_KEY_PASSPHRASE"}

    def home(self) -> dict:
        """The environment of a fresh installation (its own RAPPORTEUR_HOME and DAGSTER_HOME)."""
        self.homes += 1
        root = self.work / f"home{self.homes}"
        return self.env | {"RAPPORTEUR_HOME": str(root), "DAGSTER_HOME": str(root / "dagster")}

    def commands(self, path: Path) -> dict[str, tuple]:
        """The measured commands on `path`: (label, command(i), environment(i))."""
        ingest_homes: dict[int, dict] = {}
        self.ingest_homes[path] = ingest_homes  # the installations the ingest runs loaded (one is reused)
        return {
            "a": (lambda i: [self.python, "-c", FLOOR, str(path)], lambda i: self.env),
            "b": (
                lambda i: [self.rapporteur, "ingest", "--feed", FEED, "--provider", PROVIDER, str(path), "--json"],
                lambda i: ingest_homes.setdefault(i, self.home()),
            ),
            "c": (lambda i: [self.rapporteur, "validate", "--feed", FEED, str(path)], lambda i: self.env),
            "d": (
                lambda i: [self.python, str(HERE / "peer.py"), str(path), str(self.work / f"peer{self.homes}-{i}.db")],
                lambda i: self.env,
            ),
        }

    def run_sizes(self) -> tuple[dict, dict]:
        """Per size, each command on the 1,000-row extract and on the large one, run after run, so the fixed
        cost subtracted from a size was measured under the same load as that size."""
        small = sample(SMALL, 1, self.cache)
        results = {}
        for rows in sorted(self.sizes):
            path = sample(rows, 0, self.cache)
            print(f"measuring {rows:,} rows", flush=True)
            small_commands, large_commands = self.commands(small), self.commands(path)
            runs: dict[str, list] = {}
            keys = "abcd" if rows <= self.peer_max_rows else "abc"
            for i in range(self.repeat if rows <= 1_000_000 else self.repeat_large):
                for key in keys:
                    for label, commands in (("fixed", small_commands), ("whole", large_commands)):
                        make_cmd, env_for = commands[key]
                        runs.setdefault((key, label), []).append(measured_once(make_cmd(i), env_for(i)))
            results[rows] = {key: Measure.of(runs[(key, "whole")], runs[(key, "fixed")]) for key in keys} | {
                "rows": rows_of(path)
            }
        return results

    def large_repository(self) -> dict:
        """A repository of repo_rows rows; a 1,000-row submission into it; the research rebuild over it.

        The first rebuild, over the largest extract alone, links every record once (there is no stored linkage
        yet): measured as `relink`. `grow` then adds its copies to the stored linkage as well. The rebuild over
        the grown repository is the pipeline's (`rebuild`); its child then adds a 1,000-row submission and times
        linking it (`one_submission`).
        """
        # An installation that holds the largest extract up to BENCH_BREAKDOWN_ROWS, loaded by (b): its first
        # rebuild links every record from scratch, which at 10 million rows would take most of an hour.
        base = max((r for r in self.sizes if r <= self.breakdown_rows), default=min(self.sizes))
        env = self.ingest_homes[sample(base, 0, self.cache)][0]
        grow_to = [self.python, __file__, "--grow", env["RAPPORTEUR_HOME"]]
        rebuild_cmd = [self.python, __file__, "--research", env["RAPPORTEUR_HOME"]]
        relink = measured(lambda i: rebuild_cmd, lambda i: env, 1)
        researched = json.loads(child([*grow_to, str(self.research_rows)], env, report=True)[2])
        seconds, rss, out = child(rebuild_cmd, env, report=True)
        report = json.loads(out)
        rebuild = Measure(seconds, rss, report["seconds"])
        held = json.loads(child([*grow_to, str(self.repo_rows)], env, report=True)[2])
        empty = self.home()
        into_empty, into_large = [], []
        for i in range(self.repeat):
            submission = sample(SMALL, 100 + i, self.cache)
            into_empty.append(self._timed_ingest(empty, submission))
            into_large.append(self._timed_ingest(env, submission))
        return {
            "base": base,
            "held": held["rows"],
            "researched": researched["rows"],
            "relink": relink,
            "rebuild": rebuild,
            "one_submission": report["one_submission"],
            "empty": Measure(statistics.median(s for s, _ in into_empty), max(r for _, r in into_empty)),
            "large": Measure(statistics.median(s for s, _ in into_large), max(r for _, r in into_large)),
        }

    def _timed_ingest(self, env: dict, path: Path) -> tuple[float, int]:
        _, rss, out = child([self.python, __file__, "--ingest", env["RAPPORTEUR_HOME"], str(path)], env, report=True)
        return json.loads(out)["seconds"], rss


def grow(home: Path, target: int) -> None:
    """Copy the repository's rows (and escrow, quarantine, ledger) up to `target` rows.

    Each copy is a submission of the same provider for another period (so none supersedes another, and
    the providers, hence the lists of the hidden-population estimate, stay the same), with its tokens
    salted by the copy number: the copies are other persons, as in a larger country.

    When the installation has a stored linkage, the copies are added to it as the research rebuild would have
    linked them one by one: a copy's salted tokens agree with nothing outside the copy, so its persons are
    those of `link_records` over the copied (current) records alone, with the copy's record keys.
    """
    sys.path.insert(0, str(ROOT))
    import duckdb

    from application.home import Home
    from privacy.linkage import link_records
    from warehouse.duck import encrypted
    from warehouse.linkage_store import BATCH_ROWS, KINDS, linkage_path
    from warehouse.repository import connect, escrow_path, repository_path

    home_ = Home(home)
    keyring, _ = home_.keyring()
    key = keyring.key("database")
    tokens = ("record_token", "document_token", "name_dob_token", "skeleton_token", "event_token")
    salted = ", ".join(f"c || '.' || {t} AS {t}" for t in tokens)
    sid = "submission_id || '-copy' || c AS submission_id"
    with connect(repository_path(home_.warehouse, FEED), key=key, read_only=True) as con:
        (held,) = con.execute("SELECT count(*) FROM victim_assistance").fetchone()
        (current_rows,) = con.execute("SELECT count(*) FROM current_victim_assistance").fetchone()
    if -(-target // held) <= 1:  # already that large: nothing to copy (nor to link again)
        print(json.dumps({"rows": current_rows}))
        return
    store = duckdb.connect() if linkage_path(home_.warehouse).exists() else None
    if store is not None:  # the current records before copying, linked alone; their persons and profiles
        # Synthetic copies of a large base: bounded memory, spilling (encrypted) under the installation.
        spill = home_.staging / "grow-spill"
        spill.mkdir(parents=True, exist_ok=True)
        store.execute(f"SET temp_directory = '{spill}'")
        store.execute("SET memory_limit = '4GB'")
        encrypted(repository_path(home_.warehouse, FEED), key, alias="va", read_only=True, con=store)
        encrypted(home_.warehouse / "law_enforcement.duckdb", key, alias="le", read_only=True, con=store)
        spec, _, records_sql = KINDS["victim"]
        current = [
            r[0] for r in store.sql("SELECT submission_id FROM va.submissions WHERE superseded_by IS NULL").fetchall()
        ]
        store.register("base_records", store.execute(records_sql, {"batch": current}).to_arrow_table())
        store.register("base_links", link_records(store, "SELECT * FROM base_records"))
        store.execute(
            "CREATE TEMP TABLE base AS "
            "SELECT r.*, l.person_key FROM base_records r JOIN base_links l USING (record_key)"
        )
        # The persons in parts by person key, as the product's relink builds them per batch: the ordered
        # aggregates of one statement over a million persons run out of memory at 4 GB.
        (linked,) = store.execute("SELECT count(*) FROM base").fetchone()
        parts = max(-(-linked // BATCH_ROWS), 1)
        for part in range(parts):
            records = f"(SELECT * FROM base WHERE hash(person_key) % {parts} = {part})"
            persons = spec.persons_sql.format(records=records)
            into = "INSERT INTO base_persons" if part else "CREATE TEMP TABLE base_persons AS"
            store.execute(f"{into} {persons}")
        store.execute("DETACH va")
        store.execute("DETACH le")
    with connect(repository_path(home_.warehouse, FEED), key=key) as con:
        (first,) = con.execute("SELECT count(*) FROM submissions").fetchone()  # copy numbers never repeat
        copies = f"range({first}, {first + max(-(-target // held) - 1, 0)}) r(c)"
        con.execute(
            f"INSERT INTO victim_assistance SELECT t.* REPLACE ({sid}, {salted}) FROM victim_assistance t, {copies}"
        )
        con.execute(f"INSERT INTO quarantine SELECT t.* REPLACE ({sid}) FROM quarantine t, {copies}")
        con.execute(
            f"INSERT INTO submissions SELECT s.* REPLACE ({sid}, (1990 + c)::VARCHAR AS period) "
            f"FROM submissions s, {copies}"
        )
        con.execute("CHECKPOINT")
        (rows,) = con.execute("SELECT count(*) FROM current_victim_assistance").fetchone()
        loaded = dict(con.execute("SELECT submission_id, loaded_at::VARCHAR FROM submissions").fetchall())
    with connect(escrow_path(home_.warehouse, FEED), key=keyring.key("escrow")) as con:
        con.execute(f"INSERT INTO escrow SELECT e.* REPLACE ({sid}) FROM escrow e, {copies}")
        con.execute("CHECKPOINT")
    if store is not None:
        encrypted(linkage_path(home_.warehouse), key, alias="ls", con=store)
        # The copy's key of a record key 'va|<submission>|<row>' (renaming keeps the smallest key the smallest).
        renamed = "regexp_replace({k}, '^va\\|([^|]*)\\|', 'va|\\1-copy' || c || '|')"
        salted_links = ", ".join(f"c || '.' || {t} AS {t}" for t in tokens[1:])
        store.execute(
            f"INSERT INTO ls.victim_links SELECT b.* REPLACE ({renamed.format(k='record_key')} AS record_key, "
            f"{sid}, {salted_links}, {renamed.format(k='person_key')} AS person_key) FROM base b, {copies}"
        )
        store.execute(
            f"INSERT INTO ls.victim_persons SELECT b.* REPLACE ({renamed.format(k='person_key')} AS person_key) "
            f"FROM base_persons b, {copies}"
        )
        columns = ", ".join(spec.person_columns)
        (n,) = store.execute(f"SELECT count(*) FROM {copies}").fetchone()
        store.execute(
            f"CREATE TEMP TABLE profiles AS SELECT {columns}, sum(persons)::BIGINT AS persons FROM ("
            f"SELECT * FROM ls.victim_profiles UNION ALL SELECT {columns}, count(*) * {n} FROM base_persons "
            "GROUP BY ALL) GROUP BY ALL"
        )
        store.execute("DELETE FROM ls.victim_profiles")
        store.execute("INSERT INTO ls.victim_profiles BY NAME SELECT * FROM profiles")
        store.execute(
            f"INSERT INTO ls.victim_submissions SELECT s.submission_id || '-copy' || c, l.loaded_at "
            f"FROM (SELECT unnest($current::VARCHAR[]) AS submission_id) s, {copies}, "
            "(SELECT unnest($ids::VARCHAR[]) AS submission_id, unnest($at::VARCHAR[]) AS loaded_at) l "
            "WHERE l.submission_id = s.submission_id || '-copy' || c",
            {"current": current, "ids": list(loaded), "at": list(loaded.values())},
        )
        store.execute("CHECKPOINT ls")
        store.close()
    print(json.dumps({"rows": rows}))


def research(home: Path) -> None:
    """Rebuild the research database of `home` as the pipeline's step does (the estimate is its own step), timed.

    When the stored linkage already existed, then add one 1,000-row submission and time linking it: its rows
    are 1,000 stored victim records again, under another submission id and period, as another provider would
    report the same persons (each links to a stored person). Prints the figures as JSON, each with the CPU
    seconds of the process (all threads) beside the wall seconds: on the shared machine the wall time is
    mostly waiting for a core.
    """
    sys.path.insert(0, str(ROOT))
    import duckdb

    from application.home import Home
    from warehouse.duck import encrypted
    from warehouse.linkage_store import linkage_path, sync_linkage
    from warehouse.repository import connect, repository_path
    from warehouse.research import DEFAULT_K, build_research

    home_ = Home(home)
    keyring, _ = home_.keyring()
    key = keyring.key("database")
    existed = linkage_path(home_.warehouse).exists()
    start, cpu = time.perf_counter(), time.process_time()
    build_research(home_.warehouse, key, DEFAULT_K, None, None, estimate=False)
    report = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "linkage_existed": existed,
    }
    if existed:
        with connect(repository_path(home_.warehouse, FEED), key=key) as con:
            (sid,) = con.execute("SELECT max(submission_id) FROM current_victim_assistance").fetchone()
            new = f"{sid}-again"
            con.execute(
                "INSERT INTO victim_assistance SELECT t.* REPLACE (? AS submission_id) FROM victim_assistance t "
                "WHERE submission_id = ? ORDER BY row_number LIMIT 1000",
                [new, sid],
            )
            con.execute(
                "INSERT INTO submissions SELECT s.* REPLACE (? AS submission_id, '2999' AS period, 1000 AS rows_in, "
                "1000 AS rows_loaded, 0 AS rows_quarantined) FROM submissions s WHERE submission_id = ?",
                [new, sid],
            )
        analysis = duckdb.connect()
        analysis.execute("SET temp_directory = ''")
        for alias, name in (("va", "victims"), ("le", "law_enforcement")):
            encrypted(home_.warehouse / f"{name}.duckdb", key, alias=alias, read_only=True, con=analysis)
        encrypted(linkage_path(home_.warehouse), key, alias="ls", con=analysis)
        start, cpu = time.perf_counter(), time.process_time()
        synced = sync_linkage(analysis)
        linked, linked_cpu = time.perf_counter() - start, time.process_time() - cpu
        analysis.close()
        start, cpu = time.perf_counter(), time.process_time()
        build_research(home_.warehouse, key, DEFAULT_K, None, None, estimate=False)
        report["one_submission"] = {
            "records": synced.records["victim"],
            "link_seconds": linked,
            "link_cpu_seconds": linked_cpu,
            "rebuild_seconds": time.perf_counter() - start,
            "rebuild_cpu_seconds": time.process_time() - cpu,
        }
    print(json.dumps(report))


def _warm_imports() -> None:
    """Import what the steps import lazily, so that a timing inside the process excludes imports."""
    sys.path.insert(0, str(ROOT))
    import great_expectations  # noqa: F401
    import pandera.pandas  # noqa: F401


def ingest(home: Path, path: Path) -> None:
    """`ingest_file` of one extract into `home`, timed inside the process (imports excluded)."""
    _warm_imports()
    from application.home import Home
    from application.steps import ingest_file

    home_ = Home(home).ensure()
    keyring, _ = home_.keyring(create_demo=True)
    inbox = home_.sealed_inbox(keyring)
    start = time.perf_counter()
    outcome = ingest_file(home_, inbox, path, FEED, PROVIDER, "all", keyring)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "status": outcome.status, "rows_loaded": outcome.rows_loaded}))


def steps(home: Path, path: Path) -> None:
    """The steps of `rapporteur ingest` one after the other over the whole extract, each timed (imports excluded).

    Ingest interleaves them batch by batch; here each runs over every batch before the next starts, so the
    valid and pseudonymised rows are held in memory between steps (the peak RSS column shows that, not
    ingest's own peak). Validation reads the file again: its time is net of the reading step.
    """
    _warm_imports()
    import resource

    import pyarrow as pa

    from application import steps as ingest_steps
    from application.home import Home
    from privacy.pseudonymise import pseudonymise
    from privacy.sealed import open_batches
    from schemas.validation import BATCH_ROWS
    from sources.reader import open_extract

    home_ = Home(home).ensure()
    keyring, _ = home_.keyring(create_demo=True)
    inbox = home_.sealed_inbox(keyring)
    times = {}

    def step(label: str, run):
        start = time.perf_counter()
        out = run()
        times[label] = [time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]
        return out

    sub = step("seal into the inbox (intake/inbox.py)", lambda: inbox.place(path, FEED, PROVIDER, "all")[0])
    step(
        "decrypt and read in batches (sources/reader.py)",
        lambda: sum(b.num_rows for b in open_extract(inbox.open(sub), batch_rows=BATCH_ROWS).batches()),
    )
    validator, checked = ingest_steps._start_validation(inbox.open(sub), FEED, PROVIDER, "all", "extract")
    valid = step("standardise and pandera rules (schemas/validation.py)", lambda: list(checked))
    times["standardise and pandera rules (schemas/validation.py)"][0] -= times[
        "decrypt and read in batches (sources/reader.py)"
    ][0]
    result = validator.result()
    step(
        "Great Expectations, Data Docs, report (check_dataset)",
        lambda: ingest_steps.check_dataset(
            result, FEED, PROVIDER, [], home_.reports / "bench", "bench", show_values=False
        ),
    )
    rows = step(
        "pseudonymise (privacy/pseudonymise.py)", lambda: [pseudonymise(b, FEED, PROVIDER, keyring) for b in valid]
    )
    valid.clear()
    staged = home_.staging / "bench.sealed"
    key = keyring.key("staging")
    step("stage sealed (privacy/sealed.py)", lambda: ingest_steps._seal(iter(rows), staged, key))
    rows.clear()
    failures = pa.table(result.failures).drop_columns(["value"])
    step(
        "escrow and load (warehouse/repository.py)",
        lambda: ingest_steps._load(
            home_, sub, lambda: open_batches(staged, key), lambda: (result.rows_in, failures), keyring
        ),
    )
    print(json.dumps(times))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--steps":
        steps(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] in ("--grow", "--research", "--ingest"):
        mode, *args = sys.argv[1:]
        if mode == "--grow":
            grow(Path(args[0]), int(args[1]))
        elif mode == "--research":
            research(Path(args[0]))
        else:
            ingest(Path(args[0]), Path(args[1]))
        return
    from results_page import write_results

    started = time.perf_counter()
    bench = Bench()

    def write(large: dict | None, breakdown: dict | None) -> None:
        """results.md after each phase: a later phase that fails leaves the figures of the earlier ones."""
        write_results(HERE / "results.md", machine(), bench, results, large, breakdown, time.perf_counter() - started)

    results = bench.run_sizes()
    write(None, None)
    largest = sample(min(max(bench.sizes), bench.breakdown_rows), 0, bench.cache)
    breakdown = json.loads(
        child([bench.python, __file__, "--steps", str(bench.work / "steps"), str(largest)], bench.env, report=True)[2]
    )
    write(None, breakdown)
    try:
        large = bench.large_repository()
    except (SystemExit, ValueError) as exc:  # a failed child (or no report from it): its figures are missing
        print(exc, file=sys.stderr)
        lines = str(exc).strip().splitlines()  # the command, and the error among the last lines of its stderr
        errors = [line for line in lines[1:] if "Error" in line or "Exception" in line] or lines[-1:]
        large = {"failed": lines[0][:300] + (f": {errors[-1][:300]}" if len(lines) > 1 else "")}
    write(large, breakdown)
    print((HERE / "results.md").read_text())


if __name__ == "__main__":
    main()
