"""Time 1000 bootstrap replicates of the MSE estimate on a simulated 6-list table (and the 8-list reference).

Usage: python benchmarks/mse_bench.py [--nboot 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nboot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
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
