"""Check MSE estimates and BCa intervals against known populations (simulated, and the product's generator).

Usage: python benchmarks/mse_evaluation.py [--seeds 20] [--nboot 500] [--rows 8000]
Part 1 draws, per seed, a population of N = 2000 seen independently by K = 4 lists whose capture
probabilities are drawn uniformly in [0.15, 0.4], and counts how often the 95% and 80% intervals
contain N. Part 2 runs synthetic.generator.generate once and estimates each year's victim population
from which victim-assistance providers hold a valid record of each person.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estimation import estimate  # noqa: E402


def table_from_sightings(seen: np.ndarray):
    """(histories, counts) from a persons x lists 0/1 matrix, dropping persons no list saw."""
    seen = seen[seen.any(axis=1)].astype(np.int8)
    histories, counts = np.unique(seen, axis=0, return_counts=True)
    return histories, counts


def row(label, truth, result, took) -> tuple[str, bool, bool]:
    lo95, hi95 = result.intervals["95%"]
    lo80, hi80 = result.intervals["80%"]
    in95, in80 = lo95 <= truth <= hi95, lo80 <= truth <= hi80
    interactions = [t for t in result.model if ":" in t] or ["-"]
    line = (
        f"| {label} | {truth} | {result.observed} | {result.estimate:.0f} | [{lo95:.0f}, {hi95:.0f}] "
        f"| {'yes' if in95 else '**no**'} | [{lo80:.0f}, {hi80:.0f}] | {'yes' if in80 else 'no'} "
        f"| {' '.join(interactions)} | {took:.1f} |"
    )
    return line, in95, in80


HEADER = (
    "| {what} | true N | observed | estimate | 95% BCa | covers | 80% BCa | covers | interactions | s |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def simulated(seeds: int, nboot: int, method: str, n: int = 2000, k: int = 4) -> None:
    print(f"## Simulated: N = {n}, K = {k} independent lists, capture probabilities ~ U[0.15, 0.4], nboot = {nboot}\n")
    print(HEADER.format(what="seed (probabilities)"))
    hits95 = hits80 = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        probs = rng.uniform(0.15, 0.4, size=k)
        histories, counts = table_from_sightings(rng.random((n, k)) < probs)
        start = time.perf_counter()
        result = estimate([chr(65 + j) for j in range(k)], histories, counts, nboot=nboot, seed=seed, method=method)
        line, in95, in80 = row(
            f"{seed} ({', '.join(f'{p:.2f}' for p in probs)})", n, result, time.perf_counter() - start
        )
        hits95 += in95
        hits80 += in80
        print(line)
    print(f"\n95% intervals contain N in {hits95} of {seeds} seeds; 80% intervals in {hits80} of {seeds}.\n")


def generator(rows: int, providers: int, seed: int, nboot: int, method: str) -> tuple[int, int, bool, bool]:
    """Per reporting year and over the whole period: (years covered, years, latest covered, whole covered)."""
    from synthetic.generator import generate

    out = Path(tempfile.mkdtemp(prefix="mse-eval-"))
    summary = generate(out, rows=rows, providers=providers, seed=seed)
    pop = summary["population"]
    provs = list(pop["detection_probability"])
    print(
        f"## Product generator: generate(rows={rows}, providers={providers}, seed={seed}), nboot = {nboot}\n\n"
        f"Nominal detection probabilities: {json.dumps(pop['detection_probability'])}\n"
    )
    seen: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    with (out / "ground_truth" / "records.csv").open(newline="") as f:
        for rec in csv.DictReader(f):
            if rec["feed"] == "victim-assistance" and rec["person_role"] == "victim" and rec["valid"] == "1":
                seen[rec["reporting_year"]][rec["person_id"]].add(provs.index(rec["provider"]))
    names = [f"P{j + 1}" for j in range(len(provs))]

    def estimated(label: str, people: dict[str, set[int]], truth: int, year_seed: int) -> bool:
        matrix = np.zeros((len(people), len(provs)), dtype=np.int8)
        for i, on in enumerate(people.values()):
            matrix[i, sorted(on)] = 1
        histories, counts = table_from_sightings(matrix)
        start = time.perf_counter()
        result = estimate(names, histories, counts, nboot=nboot, seed=year_seed, method=method)
        line, in95, _ = row(label, truth, result, time.perf_counter() - start)
        print(line)
        return bool(in95)

    print(HEADER.format(what="year"))
    hits = total = 0
    latest = False
    for year, truth in pop["victims_per_year"].items():
        if not seen.get(year):
            continue
        latest = estimated(year, seen[year], truth, int(year))  # years come in order: ends as the latest
        hits += latest
        total += 1
    whole = {f"{y}/{p}": on for y, people in seen.items() for p, on in people.items()}
    covered = estimated("whole period", whole, pop["victims"], seed)
    print(f"\n95% intervals contain the year's true population in {hits} of {total} years.\n")
    return hits, total, latest, covered


def generator_seeds(seeds: int, rows: int, providers: int, nboot: int, method: str) -> None:
    """The issue's criterion: over `seeds` generator seeds, how often the 95% interval holds the truth."""
    pooled_hits = pooled_total = latest_hits = whole_hits = 0
    for seed in range(1, seeds + 1):
        hits, total, latest, whole = generator(rows, providers, seed, nboot, method)
        pooled_hits, pooled_total = pooled_hits + hits, pooled_total + total
        latest_hits, whole_hits = latest_hits + latest, whole_hits + whole
    print(f"## Over {seeds} generator seeds (rows={rows}, providers={providers}, nboot={nboot})\n")
    print(f"- whole period (the generator's population): the 95% interval contains it in {whole_hits} of {seeds}")
    print(f"- latest year of each seed: the 95% interval contains the true population in {latest_hits} of {seeds}")
    print(f"- every year of every seed: {pooled_hits} of {pooled_total}\n")


def method_coverage(seeds: int, rows: int, providers: int, nboot: int, sizes: tuple[int, ...]) -> None:
    """Coverage of each method's 95% interval and of the combined range, per year, from the generator
    (every year of `seeds` seeds) and from independent lists of known size N (`sizes`, `seeds` each)."""
    from estimation.methods import combine, run_method

    hits: dict[str, int] = defaultdict(int)
    total = 0

    def score(names, histories, counts, truth, seed):
        nonlocal total
        results = {
            m: run_method(m, names, histories, counts, nboot=nboot, seed=seed, resample="population", draws=20000)
            for m in ("stepwise", "bic", "bayes")
        }
        intervals = {m: r.intervals["95%"] for m, r in results.items()}
        intervals["combined"] = combine(results).intervals["95%"]
        for m, (lo, hi) in intervals.items():
            hits[m] += lo <= truth <= hi
        total += 1

    from synthetic.generator import generate

    for seed in range(1, seeds + 1):
        out = Path(tempfile.mkdtemp(prefix="mse-methods-"))
        pop = generate(out, rows=rows, providers=providers, seed=seed)["population"]
        provs = list(pop["detection_probability"])
        seen: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        with (out / "ground_truth" / "records.csv").open(newline="") as f:
            for rec in csv.DictReader(f):
                if rec["feed"] == "victim-assistance" and rec["person_role"] == "victim" and rec["valid"] == "1":
                    seen[rec["reporting_year"]][rec["person_id"]].add(provs.index(rec["provider"]))
        for year, truth in pop["victims_per_year"].items():
            if seen.get(year):
                matrix = np.zeros((len(seen[year]), len(provs)), dtype=np.int8)
                for i, on in enumerate(seen[year].values()):
                    matrix[i, sorted(on)] = 1
                histories, counts = table_from_sightings(matrix)
                score([f"P{j + 1}" for j in range(len(provs))], histories, counts, truth, int(year))
    generator_total, generator_hits = total, dict(hits)
    hits.clear()
    total = 0
    for n in sizes:
        for seed in range(seeds):
            rng = np.random.default_rng(1000 * n + seed)
            p = rng.uniform(0.15, 0.4, size=4)
            histories, counts = table_from_sightings(rng.random((n, 4)) < p)
            score([chr(65 + j) for j in range(4)], histories, counts, n, seed)
    print(f"## 95% coverage per method (nboot = {nboot}, population bootstrap; bayes 20,000 draws)\n")
    print("| data | years or tables | stepwise | bic | bayes | combined |\n|---|---|---|---|---|---|")
    for label, h, t in (
        (
            f"generator, {seeds} seeds x every year (rows={rows}, providers={providers})",
            generator_hits,
            generator_total,
        ),
        (f"independent lists, N in {sizes}, {seeds} tables each", dict(hits), total),
    ):
        cells = " | ".join(
            f"{h.get(m, 0)}/{t} ({h.get(m, 0) / max(t, 1):.0%})" for m in ("stepwise", "bic", "bayes", "combined")
        )
        print(f"| {label} | {t} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--nboot", type=int, default=500)
    parser.add_argument("--rows", type=int, default=8000, help="rows per feed for the generator run")
    parser.add_argument("--providers", type=int, default=4)
    parser.add_argument("--generator-seed", type=int, default=11)
    parser.add_argument("--generator-seeds", type=int, default=0, help="evaluate over this many generator seeds")
    parser.add_argument("--method", choices=["population", "conditional"], default="population", help="bootstrap")
    parser.add_argument(
        "--methods", action="store_true", help="coverage of stepwise, bic, bayes and the combined range side by side"
    )
    parser.add_argument("--sizes", default="150,300,500", help="population sizes for --methods' simulated tables")
    args = parser.parse_args()
    if args.methods:
        sizes = tuple(int(x) for x in args.sizes.split(","))
        method_coverage(args.generator_seeds or 3, args.rows, args.providers, args.nboot, sizes)
        return
    print(f"Bootstrap: {args.method}\n")
    if args.generator_seeds:
        generator_seeds(args.generator_seeds, args.rows, args.providers, args.nboot, args.method)
        return
    simulated(args.seeds, args.nboot, args.method)
    generator(args.rows, args.providers, args.generator_seed, args.nboot, args.method)


if __name__ == "__main__":
    main()
