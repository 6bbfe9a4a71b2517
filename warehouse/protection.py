"""Disclosure control of the research database as a whole: complete the tables, suppress jointly, audit.

The public tables say only `suppressed`; why a cell is withheld (primary or secondary) and its true
value go to the bureau's record, `disclosure.duckdb` beside the repositories, encrypted under the
database key (researchers get research.duckdb only). The audit reads both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from errors import DisclosureError, RapporteurError
from privacy.audit import Finding, audit, summary
from privacy.secondary import Protection, protect
from warehouse.duck import encrypted
from warehouse.published import COUNT_TABLES, build_model, cell_name, cells

RECORD_FILE = "disclosure.duckdb"


def complete(
    frame: pd.DataFrame, period: str, keys: list[str], counts: list[str], by: Sequence[str] = ()
) -> pd.DataFrame:
    """Every combination of period and keys (within each `by` group) seen in any period, zero where absent.

    A table that leaves out its zero rows tells the reader that every withheld cell is at least 1.
    """
    if frame.empty:
        return frame
    parts = []
    for _, group in frame.groupby(list(by), sort=True) if by else [(None, frame)]:
        periods = pd.DataFrame({period: sorted(group[period].unique())})
        combos = group[[*by, *keys]].drop_duplicates()
        full = periods.merge(combos, how="cross")
        parts.append(full.merge(group, on=[period, *by, *keys], how="left"))
    out = pd.concat(parts, ignore_index=True)
    for count in counts:
        out[count] = out[count].fillna(0).astype("int64")
    return out


def protect_tables(
    raw: dict[str, pd.DataFrame], k: int, log=None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, Protection]:
    """The tables with the jointly chosen cells withheld, the bureau's record of them, and the solve."""
    model = build_model(raw, k)
    result = protect(model.system, model.primary, model.weight, k, model.ties, log, model.series)
    hidden = {n for n, h in zip(model.system.names, result.hidden, strict=True) if h}
    published = {}
    for table, frame in raw.items():
        if table not in COUNT_TABLES:
            published[table] = frame
            continue
        keys, counts = COUNT_TABLES[table]
        out = frame.copy()
        rows = list(out[keys].itertuples(index=False, name=None))
        flags = np.zeros(len(out), dtype=bool)
        for column in counts:
            mask = np.array([cell_name(table, column, key) in hidden for key in rows], dtype=bool)
            out[column] = out[column].astype("Int64").mask(mask)
            flags |= mask
        out["suppressed"] = flags
        published[table] = out
    names, values = model.system.names, model.system.values
    record = pd.DataFrame(
        [
            {"cell": "|".join(n), "value": int(values[i]), "reason": "primary" if model.primary[i] else "secondary"}
            for i, n in enumerate(names)
            if result.hidden[i]
        ],
        columns=["cell", "value", "reason"],
    )
    return published, record, result


def write_record(path: Path, key: bytes, record: pd.DataFrame) -> None:
    """The bureau's record of withheld cells, written beside `path` and renamed into place."""
    building = path.with_name(f".{path.name}.building")
    building.unlink(missing_ok=True)
    con = encrypted(building, key, alias="rec")
    try:
        con.register("_record", record)
        con.execute("CREATE TABLE withheld_cells AS SELECT * FROM _record")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(building, path)


def read_record(path: Path, key: bytes) -> pd.DataFrame:
    if not Path(path).is_file():
        raise RapporteurError(f"no record of withheld cells at {path}: rebuild the research database (rapporteur run)")
    con = encrypted(path, key, alias="rec", read_only=True)
    try:
        return con.execute("SELECT * FROM withheld_cells").df()
    finally:
        con.close()


def read_published(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every registered table of a research database, as published."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    return {t: con.execute(f'SELECT * FROM "{t}"').df() for t in COUNT_TABLES if t in present}


def true_tables(published: dict[str, pd.DataFrame], record: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables as they were before disclosure control: withheld cells filled from the bureau's record."""
    truth = dict(zip(record["cell"], record["value"], strict=True))
    out = {}
    for table, frame in published.items():
        keys, counts = COUNT_TABLES[table]
        frame = frame.copy()
        rows = list(frame[keys].itertuples(index=False, name=None))
        for column in counts:
            filled = [truth.get("|".join(cell_name(table, column, key))) for key in rows]
            frame[column] = frame[column].astype("Int64").fillna(pd.Series(filled, index=frame.index, dtype="Int64"))
        out[table] = frame.drop(columns=["suppressed"], errors="ignore")
    return out


def true_values(published: dict[str, pd.DataFrame], record: pd.DataFrame) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """Every count cell of the published tables, its true value (withheld ones from the bureau's record), and
    whether it is withheld."""
    names, values = cells(published)
    truth = dict(zip(record["cell"], record["value"], strict=True))
    hidden = np.isnan(values)
    full = values.copy()
    for i in np.flatnonzero(hidden):
        key = "|".join(names[i])
        if key not in truth:
            raise DisclosureError(f"a withheld cell of {names[i][0]} is missing from the bureau's record")
        full[i] = truth[key]
    return names, full, hidden


def audit_tables(published: dict[str, pd.DataFrame], record: pd.DataFrame, k: int) -> tuple[list[Finding], dict]:
    """The attacker's audit of published tables, judged against the true values in the bureau's record."""
    names, full, hidden = true_values(published, record)
    model = build_model(published, k, truth=full)
    primary = model.primary
    if (primary & ~hidden).any():
        raise DisclosureError(f"{int((primary & ~hidden).sum())} cell(s) under k are published")
    findings = audit(model.system, hidden, primary, k)
    return findings, summary(findings, len(names))


def audit_database(warehouse_dir: Path, db_key: bytes, k: int, research_db: Path | None = None) -> tuple[list, dict]:
    """The audit of research.duckdb (or `research_db`) with the bureau's record beside it."""
    from warehouse.research import RESEARCH_FILE

    db = research_db or Path(warehouse_dir) / RESEARCH_FILE
    if not Path(db).is_file():
        raise RapporteurError(f"no research database at {db}: run `rapporteur run` first")
    with duckdb.connect(str(db), read_only=True) as con:
        published = read_published(con)
    return audit_tables(published, read_record(Path(warehouse_dir) / RECORD_FILE, db_key), k)
