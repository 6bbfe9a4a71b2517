"""Disclosure control measured: the joint method against the table-by-table one, on the same installations.

    .venv/bin/python benchmarks/disclosure.py --home var                      # an installation already built
    .venv/bin/python benchmarks/disclosure.py --providers 3 --rows 3000 --seed 1   # generate, run, measure
    .venv/bin/python benchmarks/disclosure.py --providers 8 --rows 100000 --seed 3 --keep /tmp/big  # keep it

For each installation: cells, withheld cells and their share, cells recovered exactly and primary
cells under-protected by the attacker's audit, complete yearly series of sex and age group, for both
methods on the same true tables; and the time of the joint suppression (the solver, on the true
tables, as the build runs it). Prints one JSON line per installation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from privacy.audit import audit, summary
from privacy.keys import load_keyring
from warehouse.protection import RECORD_FILE, protect_tables, read_published, read_record, true_tables
from warehouse.published import build_model
from warehouse.research import RESEARCH_FILE
from warehouse.tablewise import tablewise

K = 5


def build(root: Path, providers: int, rows: int, seed: int) -> tuple[Path, dict]:
    """Generate a sample, submit its main files and run the main job; the installation and the times."""
    from application.home import Home
    from pipelines.runner import run_main_job
    from synthetic.generator import generate

    times = {}
    t = time.perf_counter()
    sample = root / "sample"
    generate(sample, rows=rows, providers=providers, seed=seed)
    times["generate_s"] = round(time.perf_counter() - t, 1)
    home = Home(root / "home").ensure()
    keyring, _ = home.keyring(create_demo=True)
    inbox = home.sealed_inbox(keyring)
    for path in sorted(sample.glob("*__*.csv")):
        if path.name.count(".") == 1:  # the main CSV of each provider (not its other encodings)
            feed, provider = path.stem.split("__")
            inbox.place(path, feed, provider, "all")
    t = time.perf_counter()
    failures = run_main_job(home)
    times["run_s"] = round(time.perf_counter() - t, 1)
    if failures:
        raise SystemExit(f"the main job failed: {failures}")
    return home.root, times


def complete_series(names: list[tuple], hidden: np.ndarray) -> dict[str, int]:
    """Yearly series of unique victims by sex and by age group with no withheld year, and all series."""
    series: dict[tuple, bool] = {}
    for n, h in zip(names, hidden, strict=True):
        if n[0] == "indicators" and n[2] == "unique_victims" and n[4] in ("sex", "age_group"):
            series[n[4], n[5]] = series.get((n[4], n[5]), True) and not h
    return {"series": len(series), "complete": sum(series.values())}


def measure(root: Path) -> dict:
    """Both methods on the true tables of an installation built by this branch."""
    key = load_keyring(root / "keys").key("database")
    with duckdb.connect(str(root / "warehouse" / RESEARCH_FILE), read_only=True) as con:
        published = read_published(con)
    raw = true_tables(published, read_record(root / "warehouse" / RECORD_FILE, key))
    model = build_model(raw, K)
    t = time.perf_counter()
    _, record, solve = protect_tables(raw, K)  # this code's pattern, whichever code built the installation
    seconds = time.perf_counter() - t
    withheld = set(record["cell"])
    joint = np.array(["|".join(n) in withheld for n in model.system.names])
    old, seen = tablewise(raw, model, K)
    out = {"cells": len(model.system), "relations": int(model.system.A.shape[0]), "primary": int(model.primary.sum())}
    t = time.perf_counter()
    out["joint"] = summary(audit(model.system, joint, model.primary, K), len(model.system))
    out["audit_s"] = round(time.perf_counter() - t, 2)
    out["tablewise"] = summary(audit(seen, old, model.primary & old, K), len(model.system))
    copies = np.zeros(len(model.system), dtype=bool)
    copies[[c for c, _ in model.ties]] = True  # copies in other tables and side columns, counted once
    out["distinct_cells"] = int((~copies).sum())
    for name, hidden in (("joint", joint), ("tablewise", old)):
        out[name] |= complete_series(model.system.names, hidden) | {
            "suppressed_distinct": int((hidden & ~copies).sum())
        }
    out["solver"] = {
        "seconds": round(seconds, 2),
        "rounds": solve.rounds,
        "constraints": solve.cuts,
        "released": solve.released,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an installation built by this branch (RAPPORTEUR_HOME)")
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="build the installation here and keep it (default: a temporary folder)"
    )
    args = parser.parse_args()
    if args.home:
        print(json.dumps({"home": str(args.home), **measure(args.home)}))
        return
    with tempfile.TemporaryDirectory(prefix="disclosure-bench-") as tmp:
        root, times = build(args.keep or Path(tmp), args.providers, args.rows, args.seed)
        size = {"providers": args.providers, "rows_per_feed": args.rows, "seed": args.seed}
        print(json.dumps({**size, **times, **measure(root)}))


if __name__ == "__main__":
    main()
