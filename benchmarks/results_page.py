"""benchmarks/results.md from one run of benchmarks/run.py: the figures, the targets and the notes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

GB = 1 << 30
LABELS = {
    "a": "(a) floor: DuckDB read_csv into a table",
    "b": "(b) `rapporteur ingest`",
    "c": "(c) `rapporteur validate`",
    "d": "(d) plain peer (`benchmarks/peer.py`)",
}
NOTES = Path(__file__).with_name("notes.md")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def _work(measure) -> float | None:
    """Seconds of work: the floor times itself inside its process; a command is net of its fixed cost.

    None when the fixed cost is not below the whole (the difference is lost in the machine's noise).
    """
    if measure.inner is not None:
        return measure.inner
    work = measure.seconds - measure.fixed.seconds
    return work if work > 0 else None


def _f(value: float | None, fmt: str = ".2f") -> str:
    return "noise" if value is None else format(value, fmt)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def write_results(path: Path, machine: str, bench, results: dict, large: dict, breakdown: dict, total: float) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine}.",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` (BENCH_SIZES="
        f"{','.join(map(str, bench.sizes))}, BENCH_REPEAT={bench.repeat}, BENCH_REPO_ROWS={bench.repo_rows}); "
        f"the whole run took {total / 60:.0f} minutes (sample generation excluded when cached).",
        "",
        f"Times are medians of {bench.repeat} runs, measured in the same run on the same generated victim-assistance "
        "extract. Each command runs as its own process; *peak RSS* is its resident high-water mark (wait4). "
        "*Work* is the whole command minus its fixed cost (the same command on a 1,000-row extract); the floor "
        "times its read_csv inside its process. *× floor* is work / floor work; *peer ÷ this* is the peer's "
        "work / this work (how many times faster than the plain peer).",
        "",
        "## Fixed cost of each command (start-up: imports, keyring, a 1,000-row extract)",
        "",
        "Measured alongside each size, run for run, so that each size is net of the fixed cost under the same load.",
        "",
        "| command | " + " | ".join(f"seconds (beside {r:,})" for r in results) + " | peak RSS |",
        "| --- |" + " ---: |" * (len(results) + 1),
    ]
    for key in "abcd":
        fixed = [res[key].fixed if key in res else None for res in results.values()]
        lines.append(
            f"| {LABELS[key]} | "
            + " | ".join(f"{m.seconds:.2f}" if m else "not run" for m in fixed)
            + f" | {_mb(max(m.rss for m in fixed if m))} |"
        )
    for res in results.values():
        n = res["rows"]
        floor, peer = _work(res["a"]), (_work(res["d"]) if "d" in res else None)
        lines += [
            "",
            f"## {n:,} rows",
            "",
            "| step | whole seconds | work seconds | rows/s (work) | × floor | peer ÷ this | peak RSS |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key in "abcd":
            if key not in res:
                lines.append(f"| {LABELS[key]} | not run (BENCH_PEER_MAX_ROWS) | | | | | |")
                continue
            m, work = res[key], _work(res[key])
            lines.append(
                f"| {LABELS[key]} | {m.seconds:.2f} | {_f(work)} | {_f(_ratio(n, work), ',.0f')} | "
                f"{_f(_ratio(work, floor), '.1f')} | {_f(_ratio(peer, work), '.1f')} | {_mb(m.rss)} |"
            )
    measured = large if large and "failed" not in large else None  # the repository phase ran to the end
    if measured is None:
        why = "still to run" if large is None else f"the step failed: {large['failed']}"
        lines += ["", "## A repository of 10,000,000 rows", "", f"Not measured in this run ({why})."]
    else:
        lines += _large(measured, results)
    if breakdown:
        lines += _breakdown(breakdown, results, bench)
    lines += ["", "## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    for target, figure, ok in _targets(results, measured):
        lines.append(f"| {target} | {figure} | {_verdict(ok)} |")
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    path.write_text("\n".join(lines) + "\n")


def _large(large: dict, results: dict) -> list[str]:
    held = large["held"]
    return [
        "",
        f"## A repository of {held:,} rows",
        "",
        f"Made from the {large.get('base', max(results)):,}-row ingest by copying its rows (with escrow, quarantine "
        "and ledger) as "
        "other submissions of the same provider, with tokens salted per copy (other persons). The research "
        f"database is rebuilt when the repository holds {large['researched']:,} rows, then the repository is "
        "grown further. Ingest is timed inside the process (`ingest_file`, imports warmed); each 1,000-row "
        "submission is a different generated extract.",
        "",
        "| step | seconds | peak RSS |",
        "| --- | ---: | ---: |",
        f"| 1,000-row submission into an empty repository | {large['empty'].seconds:.2f} | {_mb(large['empty'].rss)} |",
        f"| 1,000-row submission into the {held:,}-row repository | {large['large'].seconds:.2f} | "
        f"{_mb(large['large'].rss)} |",
        f"| research database and indicators over {large['researched']:,} rows (one run) | "
        f"{large['rebuild'].inner:.2f} | "
        f"{_mb(large['rebuild'].rss)} |",
        f"| then linking one more 1,000-row submission into the stored linkage | "
        f"{large['one_submission']['link_seconds']:.2f} | |",
        f"| and the rebuild after it | {large['one_submission']['rebuild_seconds']:.2f} | |",
        f"| first rebuild of a fresh installation (every record linked once, the base extract) | "
        f"{large['relink'].seconds:.2f} | {_mb(large['relink'].rss)} |",
    ]


def _breakdown(breakdown: dict, results: dict, bench) -> list[str]:
    lines = [
        "",
        f"## Where the time of `rapporteur ingest` goes ({min(max(results), bench.breakdown_rows):,} rows, one run, "
        "imports excluded, each step over the whole file before the next)",
        "",
        "| step | seconds | share | peak RSS so far |",
        "| --- | ---: | ---: | ---: |",
    ]
    whole = sum(seconds for seconds, _ in breakdown.values())
    for step, (seconds, rss) in breakdown.items():
        lines.append(f"| {step} | {seconds:.2f} | {seconds / whole:.0%} | {_mb(rss)} |")
    lines.append(f"| all steps | {whole:.2f} | |")
    return lines


def _targets(results: dict, large: dict | None) -> list[tuple[str, str, bool | None]]:
    out = []
    for rows in (1_000_000, 10_000_000):
        res = results.get(rows)
        ratio = _ratio(_work(res["b"]), _work(res["a"])) if res else None
        label = f"(b) within 3 × (a) at {rows:,} rows"
        if res is None:
            out.append((label, "not run (BENCH_SIZES)", None))
        else:
            out.append((label, f"{_f(ratio, '.1f')} ×", None if ratio is None else ratio <= 3))
    for rows, res in results.items():
        if "d" not in res:
            out.append((f"(b) at least 5 × faster than (d), {rows:,} rows", "peer not run (memory)", None))
            continue
        speedup = _ratio(_work(res["d"]), _work(res["b"]))
        label = f"(b) at least 5 × faster than (d), {rows:,} rows"
        out.append((label, f"{_f(speedup, '.1f')} ×", None if speedup is None else speedup >= 5))
    big = results.get(10_000_000)
    out.append(
        (
            "peak memory of (b) under 2 GB at 10,000,000 rows",
            _mb(big["b"].rss) if big else "not run (BENCH_SIZES)",
            big["b"].rss < 2 * GB if big else None,
        )
    )
    largest = results[max(results)]["b"].rss
    if not big:
        out.append((f"(peak memory of (b) at {max(results):,} rows, for comparison)", _mb(largest), None))
    if large is None:
        out.append(("1,000-row submission into a 10,000,000-row repository under 2 s", "not measured", None))
        out.append(("research database and indicators over 10,000,000 rows under 10 s", "not measured", None))
    else:
        held, researched, rebuild = large["held"], large["researched"], large["rebuild"].inner
        out.append(
            (
                f"1,000-row submission into a 10,000,000-row repository under 2 s (held: {held:,})",
                f"{large['large'].seconds:.2f} s",
                large["large"].seconds < 2 if held >= 10_000_000 else None,
            )
        )
        out.append(
            (
                f"research database and indicators over 10,000,000 rows under 10 s (measured over {researched:,})",
                f"{rebuild:.2f} s",
                rebuild < 10 if researched >= 10_000_000 else (False if rebuild >= 10 else None),
            )
        )
    hundred = results.get(100_000)
    if hundred:
        work = _work(hundred["c"])
        out.append(
            (
                "`rapporteur validate` of 100,000 rows: under 3 s beyond start-up",
                f"{_f(work)} s",
                None if work is None else work < 3,
            )
        )
        start = hundred["c"].fixed.seconds
        out.append(("start-up of `rapporteur validate` under 5 s (beside 100,000)", f"{start:.2f} s", start < 5))
    return out
