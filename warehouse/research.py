"""The research database: aggregates built from both repositories, swapped in atomically."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from errors import DisclosureError
from schemas.research_tables import comment_statements
from schemas.standard import codelists, coverage
from warehouse.analysis import STAGES, UNKNOWN, analyse
from warehouse.duck import encrypted, scalar
from warehouse.linkage_store import linkage_path
from warehouse.protection import (
    RECORD_FILE,
    audit_tables,
    complete,
    protect_tables,
    read_published,
    write_record,
)
from warehouse.published import COUNT_TABLES
from warehouse.repository import SQL, ensure_repository

RESEARCH_FILE = "research.duckdb"
UNKNOWN_CODES = set(UNKNOWN.values())
DEFAULT_K = 5


def build_research_database(
    warehouse_dir: Path,
    db_key: bytes,
    k: int = DEFAULT_K,
    baseline: int | None = None,
    log: logging.Logger | None = None,
) -> dict[str, int]:
    """Rebuild research.duckdb beside the old one, then rename it into place, the hidden population estimated
    in it; return rows per table.

    Researchers with the old file open keep their snapshot; new sessions see the new one. `baseline`
    is the reference year of every indicator (default: the first year it has a value).
    """
    return build_research(Path(warehouse_dir), db_key, k, baseline, log, estimate=True)[0]


def build_research(
    warehouse_dir: Path, db_key: bytes, k: int, baseline: int | None, log: logging.Logger | None, estimate: bool
) -> tuple[dict[str, int], pd.DataFrame]:
    """The build itself: rows per table and the exact overlap of lists. Without `estimate`, `hidden_population`
    is left empty for `publish_hidden_population` to fill from that overlap (the pipeline's separate step)."""
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
        results = analyse(repos, db_key, linkage_path(warehouse_dir))
        overlap = results["provider_overlap"].copy()
        published, record, _ = protect_tables(_raw_tables(con, results), k, log)
        _publish(con, published, results, k, baseline, estimate=estimate)
        con.execute("\n".join(comment_statements()))
        for alias in repos:
            con.execute(f"DETACH {alias}")
        _, audited = audit_tables(read_published(con), record, k)
        if audited["under_protected"] or audited["recovered_exactly"]:  # a bug, never a data problem
            raise DisclosureError(f"the disclosure audit failed ({audited}): nothing published")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
            ).fetchall()
        ]
        counts = {t: scalar(con, f'SELECT count(*) FROM "{t}"') for t in tables}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    write_record(warehouse_dir / RECORD_FILE, db_key, record)
    os.replace(building, target)
    return counts, overlap


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


def _raw_tables(con: duckdb.DuckDBPyConnection, results: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every count table before disclosure control, complete (a zero wherever nothing was counted)."""
    counts = results["counts"].assign(suppressed=False)
    indicators = complete(counts, "period", ["category"], ["value"], by=["indicator", "dimension"])
    overlap = results["provider_overlap"]
    raw = {
        "victims_by_year_sex": complete(
            con.table("victims_by_year_sex").df(), "reporting_year", ["sex"], ["victim_records", "providers"]
        ),
        "suspects_by_year_stage": complete(
            con.table("suspects_by_year_stage").df(), "reporting_year", ["stage", "offence"], ["suspect_records"]
        ),
        "suspects_by_year_form": con.table("suspects_by_year_form").df(),
        "submissions": con.table("submissions").df(),
        "indicators": indicators.assign(suppressed=False),
        "provider_overlap": complete(overlap, "period", ["lists", "n_lists"], ["persons"]),
        "sentences": results["sentences"],
        "attrition": _attrition(indicators),
        "data_quality": _unknown_shares(indicators),
        "hidden_population": overlap.groupby("period", as_index=False)["persons"]
        .sum()
        .rename(columns={"persons": "observed"}),
    }
    return raw


def _create(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, replace: bool = False) -> None:
    """Write a DataFrame as a table of the research database (`table` is one of ours, never user input)."""
    con.register("_frame", frame)
    con.execute(f'CREATE {"OR REPLACE " if replace else ""}TABLE "{table}" AS SELECT * FROM _frame')
    con.unregister("_frame")


def _publish(
    con: duckdb.DuckDBPyConnection,
    published: dict[str, pd.DataFrame],
    results: dict[str, pd.DataFrame],
    k: int,
    baseline: int | None,
    estimate: bool,
) -> None:
    """Write the protected tables, and those computed from their published cells only.

    Without `estimate`, `hidden_population` is created empty (its own step fills it).
    """
    for table in ("victims_by_year_sex", "suspects_by_year_stage", "suspects_by_year_form", "submissions"):
        order = [c for c in COUNT_TABLES[table][0] if c in published[table]]
        _create(con, table, published[table].sort_values(order, kind="stable"), replace=True)
    indicators = published["indicators"]
    _create(con, "indicators", _with_baselines(indicators, baseline))
    _create(con, "data_quality", _unknown_shares(indicators))
    _create(con, "attrition", _attrition(indicators))
    sentences = published["sentences"]
    if len(sentences):
        hidden = sentences["suppressed"].to_numpy(dtype=bool)
        for column in ("convicted_with_sentence", "median_months", "p25_months", "p75_months"):
            sentences[column] = sentences[column].astype("Float64").mask(hidden)
    _create(con, "sentences", sentences)
    overlap = results["provider_overlap"]
    _create(con, "hidden_population", hidden_population(overlap if estimate else overlap.iloc[:0], k))
    _withhold_observed(con)
    _create(con, "provider_overlap", published["provider_overlap"].sort_values(["period", "n_lists", "lists"]))


def _withhold_observed(con: duckdb.DuckDBPyConnection) -> None:
    """`observed` is the year's unique victims: withheld wherever that total is, with the estimate built on it."""
    con.execute(
        "UPDATE hidden_population SET "
        + ", ".join(f"{c} = NULL" for c in HIDDEN_COLUMNS if c not in ("period", "n_lists", "warnings"))
        + ", warnings = 'withheld with the year''s total' "
        "WHERE period IN (SELECT period FROM indicators "
        "WHERE indicator = 'unique_victims' AND dimension = 'total' AND suppressed)"
    )


def _attrition(indicators: pd.DataFrame) -> pd.DataFrame:
    """Unique suspects per stage and year, and the share reaching the next stage (published cells only)."""
    suspects = (
        indicators[(indicators["indicator"] == "suspects")]
        .pivot_table(index="period", columns="category", values="value", aggfunc="first", dropna=False)
        .reindex(columns=list(STAGES))
    )
    return pd.DataFrame(
        {
            "period": suspects.index,
            "investigated": suspects["investigated"].astype("Int64").to_numpy(),
            "prosecuted": suspects["prosecuted"].astype("Int64").to_numpy(),
            "convicted": suspects["convicted"].astype("Int64").to_numpy(),
            "prosecuted_share": (suspects["prosecuted"] / suspects["investigated"]).to_numpy(dtype="float64"),
            "convicted_share": (suspects["convicted"] / suspects["prosecuted"]).to_numpy(dtype="float64"),
        }
    )


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
    ]
    return frame[columns]


MSE_BOOTSTRAP = 500
MSE_DRAWS = 20000  # posterior draws of Bayesian thresholding per year
MSE_METHODS = ("stepwise", "bic", "bayes")
HIDDEN_COLUMNS = {
    "period": "int64",
    "observed": "Int64",
    "estimate": "Float64",
    "lower_80": "Float64",
    "upper_80": "Float64",
    "lower_95": "Float64",
    "upper_95": "Float64",
    "model": "string",
    **{
        f"{c}_{m}": ("string" if c == "model" else "Float64")
        for m in MSE_METHODS
        for c in ("estimate", "lower_95", "upper_95", "model")
    },
    "spread": "Float64",
    "linkage_missed": "Float64",
    "linkage_false": "Float64",
    "n_lists": "int64",
    "warnings": "string",
}


def hidden_population(overlap: pd.DataFrame, k: int, nboot: int = MSE_BOOTSTRAP) -> pd.DataFrame:
    """Per year, multiple systems estimation on the exact overlap of lists (computed before suppression).

    Every method (stepwise, BIC, Bayesian thresholding; estimation/methods.py) is run and published with
    its 95% interval; `estimate` and its intervals are the combined statement: the median of the
    methods' estimates and the envelope of their intervals (docs/mse.md). `spread` is how far the
    highest method's estimate lies above the lowest's, as a share of the lowest; `linkage_missed` and
    `linkage_false` how far the stepwise estimate moves under one more dose of missed or false links at
    the measured rates (estimation/linkage_sensitivity.py). A year with fewer than
    k observed victims, or whose lists do not allow an estimate, gets no number and says why.
    """
    rows = []
    for period, group in overlap.groupby("period", sort=True):
        from estimation import MSEInputError, combine_small_lists  # scipy: only when there is work
        from estimation.linkage_sensitivity import linkage_sensitivity
        from estimation.methods import available, combine, run_method

        names = sorted({name for lists in group["lists"] for name in lists.split(" + ")})
        histories = np.array([[int(n in lists.split(" + ")) for n in names] for lists in group["lists"]])
        counts = group["persons"].to_numpy(dtype=np.int64)
        row: dict[str, Any] = dict.fromkeys(HIDDEN_COLUMNS) | {
            "period": int(period),
            "observed": int(counts.sum()),
            "n_lists": len(names),
            "warnings": "",
        }
        if row["observed"] < k:
            row["observed"], row["warnings"] = None, f"fewer than {k} victims observed: withheld"
            rows.append(row)
            continue
        names, histories, counts, combined = combine_small_lists(names, histories, counts)
        row["n_lists"] = len(names)
        notes, results = [combined], {}
        for method in available(len(names)):
            try:
                result = run_method(
                    method,
                    names,
                    histories,
                    counts,
                    nboot=nboot,
                    seed=int(period),
                    resample="population",
                    draws=MSE_DRAWS,
                )
            except MSEInputError as exc:
                notes.append(f"{method}: {exc}")
                continue
            results[method] = result
            notes.extend(f"{method}: {w}" for w in result.warnings)
            row[f"estimate_{method}"] = result.estimate
            row[f"lower_95_{method}"], row[f"upper_95_{method}"] = result.intervals.get("95%", (None, None))
            row[f"model_{method}"] = " + ".join(result.model)
        if results:
            statement = combine(results)
            row["estimate"], row["spread"] = statement.estimate, statement.spread
            row["lower_80"], row["upper_80"] = statement.intervals.get("80%", (None, None))
            row["lower_95"], row["upper_95"] = statement.intervals.get("95%", (None, None))
            row["model"] = row.get("model_stepwise")
            if "stepwise" in results:
                moved = linkage_sensitivity(names, histories, counts, seed=int(period))
                row["linkage_missed"], row["linkage_false"] = moved["missed"], moved["false"]
        row["warnings"] = "; ".join(filter(None, notes))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(HIDDEN_COLUMNS)).astype(HIDDEN_COLUMNS)


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
        _withhold_observed(con)
        con.unregister("_estimates")
        rows = scalar(con, "SELECT count(*) FROM hidden_population")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, target)
    return rows
