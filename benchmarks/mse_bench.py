"""Time 1000 bootstrap replicates of the MSE estimate on a simulated 6-list table (and the 8-list reference).

Usage: python benchmarks/mse_bench.py [--nboot 1000] [--seed 7]
       python benchmarks/mse_bench.py --methods [--sets Korea,Kosovo] [--with-r]
The second form times stepwise, BIC and Bayesian thresholding on the R package MultipleSystemsEstimation's
data sets; with --with-r (and Rscript with the package installed) it times the package on the same
tables in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estimation import estimate, read_capture_histories  # noqa: E402


def simulate_table(n: int, probs: list[float], rng: np.random.Generator):
    """Capture histories of `n` people seen independently by lists with capture probabilities `probs`."""
    seen = rng.random((n, len(probs))) < np.asarray(probs)
    seen = seen[seen.any(axis=1)].astype(np.int8)
    histories, counts = np.unique(seen, axis=0, return_counts=True)
    return [chr(ord("A") + k) for k in range(len(probs))], histories, counts


def timed(label: str, lists, histories, counts, nboot: int, seed: int) -> float:
    start = time.perf_counter()
    result = estimate(lists, histories, counts, nboot=nboot, seed=seed)
    took = time.perf_counter() - start
    lo, hi = result.intervals["95%"]
    print(
        f"{label}: {len(lists)} lists, {result.observed} observed, estimate {result.estimate:.1f}, "
        f"95% [{lo:.1f}, {hi:.1f}], model {' + '.join(result.model)}"
    )
    print(f"  {nboot} bootstrap replicates (+ jackknife): {took:.2f} s")
    return took


R_CALL = {
    "stepwise": "estimate_population_stepwise(d, nboot = {nboot})",
    "bic": "estimate_population_bic(d, nboot = {nboot})",
    "bayes": "estimate_population_bayesthresh(d)",
}


def r_seconds(name: str, method: str, nboot: int) -> float | None:
    """Seconds the R package takes for one method on one of its data sets (None without R)."""
    if not shutil.which("Rscript"):
        return None
    call = R_CALL[method].format(nboot=nboot)
    code = (
        "suppressMessages(library(MultipleSystemsEstimation)); e <- new.env(); "
        f"data('{name}', envir = e); d <- get('{name}', envir = e); "
        f"t <- system.time(invisible({call}))[['elapsed']]; cat(t)"
    )
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=False)
    try:
        return float(out.stdout.strip().split()[-1])
    except (ValueError, IndexError):
        return None


def methods(sets: list[str], nboot: int, with_r: bool) -> None:
    """Each method with `nboot` replicates (bayes: its posterior sample) on each table, ours and R's."""
    from estimation.methods import run_method

    folder = ROOT / "tests" / "estimation" / "fixtures" / "multiple_systems_estimation"
    print("| table | method | ours (s) | R (s) | ratio |\n|---|---|---|---|---|")
    for name in sets:
        lists, histories, counts = read_capture_histories(folder / f"{name}.csv")
        for method in ("stepwise", "bic", "bayes"):
            start = time.perf_counter()
            run_method(method, lists, histories, counts, nboot=nboot, seed=1)
            ours = time.perf_counter() - start
            theirs = r_seconds(name, method, nboot) if with_r else None
            ratio = f"{theirs / ours:.0f}x" if theirs else "-"
            print(f"| {name} | {method} | {ours:.1f} | {theirs if theirs is not None else '-'} | {ratio} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nboot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--methods", action="store_true", help="time the three methods on the package's tables")
    parser.add_argument("--sets", default="Korea,Kosovo,Western")
    parser.add_argument("--with-r", action="store_true", help="time R's MultipleSystemsEstimation in the same run")
    args = parser.parse_args()
    if args.methods:
        methods(args.sets.split(","), args.nboot, args.with_r)
        return
    rng = np.random.default_rng(args.seed)
    probs = rng.uniform(0.1, 0.3, size=6).round(3).tolist()
    print(f"simulated population 2000, capture probabilities {probs}")
    took = timed("simulated", *simulate_table(2000, probs, rng), args.nboot, args.seed)
    fixtures = ROOT / "tests" / "estimation" / "fixtures"
    timed("new_orleans_8_lists", *read_capture_histories(fixtures / "new_orleans_8_lists.csv"), args.nboot, args.seed)
    timed("western_us_5_lists", *read_capture_histories(fixtures / "western_us_5_lists.csv"), args.nboot, args.seed)
    if took > 60:
        raise SystemExit(f"6-list bootstrap took {took:.1f} s, over the one-minute budget")


if __name__ == "__main__":
    main()
