"""The research database: aggregates built from both repositories, swapped in atomically."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from privacy.disclosure import margin_totals, recoverable_cells, suppress_counts
from schemas.research_tables import comment_statements
from schemas.standard import codelists, coverage
from warehouse.analysis import STAGES, UNKNOWN, analyse
from warehouse.duck import encrypted
from warehouse.linkage_store import linkage_path
from warehouse.repository import SQL, ensure_repository

RESEARCH_FILE = "research.duckdb"
UNKNOWN_CODES = set(UNKNOWN.values())
DEFAULT_K = 5
# The count tables researchers see: (dimensions, count column). Each is protected against small cells.
COUNT_TABLES = {
    "victims_by_year_sex": (["reporting_year", "sex"], "victim_records"),
    "suspects_by_year_stage": (["reporting_year", "stage", "offence"], "suspect_records"),
    "suspects_by_year_form": (["reporting_year", "exploitation_form"], "suspect_records"),
}


def build_research_database(
    warehouse_dir: Path,
    db_key: bytes,
    k: int = DEFAULT_K,
    baseline: int | None = None,
    overlap_sink: Callable[[pd.DataFrame], None] | None = None,
) -> dict[str, int]:
    """Rebuild research.duckdb beside the old one, then rename it into place; return rows per table.

    Researchers with the old file open keep their snapshot; new sessions see the new one. `baseline`
    is the reference year of every indicator (default: the first year it has a value). With
    `overlap_sink`, the exact overlap of lists goes there and `hidden_population` is left empty,
    for `publish_hidden_population` to fill (the pipeline's separate step).
    """
    warehouse_dir = Path(warehouse_dir)
    repos = {
        alias: ensure_repository(warehouse_dir, feed, db_key)
        for alias, feed in (("va", "victim-assistance"), ("le", "law-enforcement"))
    }
    target = warehouse_dir / RESEARCH_FILE
    building = warehouse_dir / f".{RESEARCH_FILE}.building"
    building.unlink(missing_ok=True)
    con = duckdb.connect(str(building))
    try:
        for alias, path in repos.items():
            encrypted(path, db_key, alias=alias, read_only=True, con=con)
        _reference_tables(con)
        con.execute((SQL / "research.sql").read_text())
        _protect(con, k)
        results = analyse(repos, db_key, linkage_path(warehouse_dir))
        if overlap_sink is not None:
            overlap_sink(results["provider_overlap"].copy())
        _publish_analysis(con, results, k, baseline, estimate=overlap_sink is None)
        con.execute("\n".join(comment_statements()))
        for alias in repos:
            con.execute(f"DETACH {alias}")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
            ).fetchall()
        ]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, target)
    return counts


def _reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The standard's code lists and the national-law coverage, for joins and for researchers."""
    con.execute("CREATE TABLE code_lists (codelist VARCHAR, code VARCHAR, definition VARCHAR)")
    con.executemany(
        "INSERT INTO code_lists VALUES (?, ?, ?)",
        [(name, code, text) for name, codes in codelists().items() for code, text in codes.items()],
    )
    con.execute(
        "CREATE TABLE national_coverage (column_name VARCHAR, code VARCHAR, covered_from INTEGER, note VARCHAR)"
    )
    con.executemany(
        "INSERT INTO national_coverage VALUES (?, ?, ?, ?)",
        [
            (col, code, int(spec["covered_from"]), spec.get("note", ""))
            for col, codes in coverage().items()
            for code, spec in codes.items()
        ],
    )


def _protect(con: duckdb.DuckDBPyConnection, k: int) -> None:
    """Suppress counts under k, and enough others that no suppressed cell follows from the totals.

    Cells that are NULL by law (not covered) are not counts and stay out of the suppression.
    """
    for table, (dims, count) in COUNT_TABLES.items():
        frame = con.table(table).df()
        present = frame[count].notna()
        counted = frame[present].astype({count: "int64"})
        protected = (
            _protected(counted, dims, count, k, table)
            if len(counted)
            else counted.assign(suppressed=False, suppression="")
        )
        rest = frame[~present].assign(suppressed=False, suppression="")
        _create(con, table, pd.concat([protected, rest]).sort_values(dims, kind="stable"), replace=True)


def _create(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, replace: bool = False) -> None:
    """Write a DataFrame as a table of the research database (`table` is one of ours, never user input)."""
    con.register("_frame", frame)
    con.execute(f'CREATE {"OR REPLACE " if replace else ""}TABLE "{table}" AS SELECT * FROM _frame')
    con.unregister("_frame")


def _protected(frame: pd.DataFrame, dims: list[str], count: str, k: int, label: str) -> pd.DataFrame:
    """`suppress_counts`, then a self-check: refuse to publish if a suppressed cell follows from the totals."""
    protected = suppress_counts(frame, dims, count, k)
    totals = margin_totals(frame, dims, count, k=k, cells=protected)
    leaks = recoverable_cells(protected, dims, count, totals, k)
    if leaks:  # a bug in disclosure control, never a data problem: refuse to publish
        raise AssertionError(f"{label}: {len(leaks)} suppressed cell(s) recoverable from totals")
    return protected


def _publish_analysis(
    con: duckdb.DuckDBPyConnection, results: dict[str, pd.DataFrame], k: int, baseline: int | None, estimate: bool
) -> None:
    """Indicators with baselines and trends, attrition, sentences and provider overlap, all protected.

    Without `estimate`, `hidden_population` is created empty (its own step fills it).
    """
    counts = results["counts"]
    parts = [
        _protected(group.reset_index(drop=True), ["period", "category"], "value", k, f"{ind}/{dim}").assign(
            indicator=ind, dimension=dim
        )
        for (ind, dim), group in counts.groupby(["indicator", "dimension"], sort=True)
    ]
    published = pd.concat(parts, ignore_index=True) if parts else counts
    indicators = _with_baselines(published, baseline)
    _create(con, "indicators", indicators)
    _create(con, "data_quality", _unknown_shares(published))
    suspects = (
        indicators[(indicators["indicator"] == "suspects")]
        .pivot_table(index="period", columns="category", values="value", aggfunc="first")
        .reindex(columns=list(STAGES))
    )
    attrition = pd.DataFrame(
        {
            "period": suspects.index,
            "investigated": suspects["investigated"].to_numpy(),
            "prosecuted": suspects["prosecuted"].to_numpy(),
            "convicted": suspects["convicted"].to_numpy(),
            "prosecuted_share": (suspects["prosecuted"] / suspects["investigated"]).to_numpy(dtype="float64"),
            "convicted_share": (suspects["convicted"] / suspects["prosecuted"]).to_numpy(dtype="float64"),
        }
    )
    _create(con, "attrition", attrition)
    sentences = results["sentences"]
    small = sentences["convicted_with_sentence"] < k
    for column in ("convicted_with_sentence", "median_months", "p25_months", "p75_months"):
        sentences[column] = sentences[column].astype("Float64").mask(small)
    sentences["suppressed"] = small
    _create(con, "sentences", sentences)
    overlap = results["provider_overlap"]
    _create(con, "hidden_population", hidden_population(overlap if estimate else overlap.iloc[:0], k))
    overlap = _protected(overlap, ["period", "lists"], "persons", k, "provider_overlap") if len(overlap) else overlap
    _create(con, "provider_overlap", overlap)


def _unknown_shares(published: pd.DataFrame) -> pd.DataFrame:
    """Data quality: the percentage of unique victims whose value is unknown, per dimension and year.

    Computed from published cells only; where the unknown cell is withheld, so is the share.
    """
    victims = published[published["indicator"] == "unique_victims"]
    totals = victims[victims["dimension"] == "total"].set_index("period")["value"]
    unknown = victims[victims["category"].isin(UNKNOWN_CODES) & (victims["dimension"] != "total")]
    out = pd.DataFrame(
        {
            "period": unknown["period"],
            "dimension": unknown["dimension"],
            "unknown_victims": unknown["value"],
            "unique_victims": unknown["period"].map(totals),
        }
    )
    out["unknown_share_pct"] = (100 * out["unknown_victims"].astype("Float64") / out["unique_victims"]).round(1)
    out["suppressed"] = unknown["suppressed"].to_numpy()
    return out.sort_values(["period", "dimension"]).reset_index(drop=True)


def _with_baselines(frame: pd.DataFrame, baseline: int | None) -> pd.DataFrame:
    """Add baseline value, change against it (absolute and %), and the trend against the previous period.

    Only published values enter: a suppressed cell has no change, and no change reveals a suppressed cell.
    """
    keys = ["indicator", "dimension", "category"]
    frame = frame.sort_values([*keys, "period"]).reset_index(drop=True)
    first = frame.dropna(subset=["value"]).groupby(keys)["period"].min().rename("first_period")
    frame = frame.join(first, on=keys)
    chosen = frame["first_period"] if baseline is None else pd.Series(baseline, index=frame.index)
    frame["baseline_period"] = chosen.astype("Int64")
    base = frame[frame["period"] == frame["baseline_period"]].set_index(keys)["value"].rename("baseline_value")
    frame = frame.join(base, on=keys)
    frame["change_abs"] = frame["value"] - frame["baseline_value"]
    frame["change_pct"] = (100 * frame["change_abs"] / frame["baseline_value"]).astype("Float64").round(1)
    previous = frame.groupby(keys)["value"].shift(1)
    step = (frame["value"] - previous) / previous
    frame["trend"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame.loc[step > 0.05, "trend"] = "rising"
    frame.loc[step < -0.05, "trend"] = "falling"
    frame.loc[step.between(-0.05, 0.05), "trend"] = "stable"
    columns = [
        "indicator",
        "period",
        "dimension",
        "category",
        "value",
        "baseline_period",
        "baseline_value",
        "change_abs",
        "change_pct",
        "trend",
        "suppressed",
        "suppression",
    ]
    return frame[columns]


MSE_BOOTSTRAP = 500


def hidden_population(overlap: pd.DataFrame, k: int, nboot: int = MSE_BOOTSTRAP) -> pd.DataFrame:
    """Per year, multiple systems estimation on the exact overlap of lists (computed before suppression).

    Only the estimate and its interval are published. A year with fewer than k observed victims, or
    whose lists do not allow an estimate, gets no number and says why.
    """
    rows = []
    for period, group in overlap.groupby("period", sort=True):
        from estimation import MSEInputError, combine_small_lists, estimate  # scipy: only when there is work

        names = sorted({name for lists in group["lists"] for name in lists.split(" + ")})
        histories = np.array([[int(n in lists.split(" + ")) for n in names] for lists in group["lists"]])
        counts = group["persons"].to_numpy(dtype=np.int64)
        row = {
            "period": int(period),
            "observed": int(counts.sum()),
            "n_lists": len(names),
            "estimate": None,
            "lower_80": None,
            "upper_80": None,
            "lower_95": None,
            "upper_95": None,
            "model": None,
            "warnings": "",
        }
        if row["observed"] < k:
            row["observed"], row["warnings"] = None, f"fewer than {k} victims observed: withheld"
        else:
            names, histories, counts, combined = combine_small_lists(names, histories, counts)
            row["n_lists"] = len(names)
            try:
                result = estimate(names, histories, counts, nboot=nboot, seed=int(period), method="population")
            except MSEInputError as exc:
                row["warnings"] = "; ".join(filter(None, [combined, str(exc)]))
            else:
                row |= {
                    "estimate": result.estimate,
                    "model": " + ".join(result.model),
                    "warnings": "; ".join(filter(None, [combined, *result.warnings])),
                }
                row["lower_80"], row["upper_80"] = result.intervals.get("80%", (None, None))
                row["lower_95"], row["upper_95"] = result.intervals.get("95%", (None, None))
        rows.append(row)
    columns = [
        "period",
        "observed",
        "estimate",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
        "model",
        "n_lists",
        "warnings",
    ]
    return pd.DataFrame(rows, columns=columns).astype(
        {
            "period": "int64",
            "n_lists": "int64",
            "model": "string",
            "warnings": "string",
            "observed": "Int64",
            "estimate": "Float64",
            "lower_80": "Float64",
            "upper_80": "Float64",
            "lower_95": "Float64",
            "upper_95": "Float64",
        }
    )


def publish_hidden_population(warehouse_dir: Path, estimates: pd.DataFrame) -> int:
    """Replace the rows of `hidden_population` in research.duckdb, on a copy renamed into place; return rows.

    Like a rebuild, this never writes the file researchers may have open.
    """
    target = Path(warehouse_dir) / RESEARCH_FILE
    building = target.with_name(f".{RESEARCH_FILE}.estimating")
    shutil.copyfile(target, building)
    con = duckdb.connect(str(building))
    try:
        con.register("_estimates", estimates)
        con.execute("DELETE FROM hidden_population")
        con.execute("INSERT INTO hidden_population BY NAME SELECT * FROM _estimates")
        con.unregister("_estimates")
        rows = con.execute("SELECT count(*) FROM hidden_population").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, target)
    return rows
