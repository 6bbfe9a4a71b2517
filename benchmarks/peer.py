"""The plain peer (d): a victim-assistance extract ingested the obvious way, as a user would write it.

Usage: python benchmarks/peer.py FILE DATABASE [--provider ID]

pandas reads the whole CSV; codes are mapped with the provider's mapping; pandera (on pandas) checks the
same kinds of rules as the product (required, code lists, dates, dates in order, duplicate ids); Python's
hmac computes the tokens row by row; the valid rows and the quarantine go into a DuckDB file. It is the
comparison for `rapporteur ingest` in `benchmarks/run.py`, not a product path: it does no encryption at
rest, no escrow, no supersession and no Great Expectations, so it does less work than the product.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import sys
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from schemas.standard import codelists, feed, mapping  # noqa: E402

FEED = "victim-assistance"
KEY = b"\x01" * 32
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y"]
IDENTIFIERS = ["given_name", "family_name", "date_of_birth", "document_number", "phone", "address"]


def parse_dates(s: pd.Series) -> pd.Series:
    """The first format that parses each cell; NaT when none does."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        missing = out.isna()
        out[missing] = pd.to_datetime(s[missing], format=fmt, errors="coerce")
    return out


def standardise(df: pd.DataFrame, provider: str) -> pd.DataFrame:
    spec, lists, local = feed(FEED), codelists(), mapping(provider).codes
    for name, col in spec.columns.items():
        if name not in df:
            df[name] = ""
        df[name] = df[name].str.strip()
        if col.type == "code":
            lookup = {c.casefold(): c for c in lists[col.codelist]} | local.get(name, {})
            df[name] = df[name].map(lambda v, m=lookup: m.get(v.lower(), v) if v else None)
        elif col.type == "codes":
            lookup = {c.casefold(): c for c in lists[col.codelist]} | local.get(name, {})
            df[name] = df[name].map(
                lambda v, m=lookup: (
                    ";".join(sorted({m.get(p.strip().lower(), p.strip()) for p in v.split(";")})) if v else None
                )
            )
        elif col.type == "date":
            df[name + "_parsed"] = parse_dates(df[name])
    return df


def schema() -> pa.DataFrameSchema:
    spec, lists, today = feed(FEED), codelists(), pd.Timestamp(dt.date.today())
    columns = {}
    for name, col in spec.columns.items():
        checks = []
        if col.type == "code":
            checks.append(pa.Check.isin(list(lists[col.codelist]), name=f"unmapped_code:{name}"))
        if col.type == "codes":
            codes = set(lists[col.codelist])
            checks.append(
                pa.Check(lambda s, c=codes: s.map(lambda v: set(v.split(";")) <= c), name=f"unmapped_code:{name}")
            )
        columns[name] = pa.Column(object, checks, nullable=not col.required)
        if col.type == "date":
            columns[name + "_parsed"] = pa.Column(
                "datetime64[ns]",
                [pa.Check.le(today, name=f"future_date:{name}")],
                nullable=not col.required,
            )
    columns["provider_record_id"] = pa.Column(object, unique=True, nullable=False)
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(
                lambda d: (
                    d["date_of_birth_parsed"].isna() | (d["date_of_birth_parsed"] <= d["identification_date_parsed"])
                ),
                name="birth_after_event",
            ),
            pa.Check(
                lambda d: (
                    d["assistance_start_date_parsed"].isna()
                    | (d["assistance_start_date_parsed"] >= d["identification_date_parsed"])
                ),
                name="assistance_before_identification",
            ),
        ],
    )


def clean(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.lower())
    return " ".join("".join(c for c in text if c.isalpha() or c == " ").split())


def token(message: str) -> str:
    return hmac.new(KEY, message.encode(), hashlib.sha256).hexdigest()


def pseudonymise(df: pd.DataFrame, provider: str) -> pd.DataFrame:
    out = df.drop(columns=IDENTIFIERS + [c for c in df if c.endswith("_parsed")])
    records, documents, name_dobs = [], [], []
    for row in df.itertuples(index=False):
        records.append(token(f"rec|{provider}|{row.provider_record_id}"))
        documents.append(token(f"doc|{row.document_number.upper()}") if row.document_number else None)
        words = " ".join(sorted(clean(f"{row.given_name} {row.family_name}").split()))
        name_dobs.append(token(f"nd|{words}|{row.date_of_birth}") if row.date_of_birth else None)
    out["record_token"], out["document_token"], out["name_dob_token"] = records, documents, name_dobs
    out["birth_year"] = df["date_of_birth_parsed"].dt.year
    out["region"] = df["address"].str.split(",").str[-1].str.strip().str.lower()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("database", type=Path)
    parser.add_argument("--provider", default="ngo-harbour")
    args = parser.parse_args()
    df = pd.read_csv(args.file, dtype=str, keep_default_na=False)
    df.insert(0, "row_number", range(1, len(df) + 1))
    df = standardise(df, args.provider)
    try:
        schema().validate(df, lazy=True)
        bad = pd.DataFrame({"index": [], "check": []})
    except pa.errors.SchemaErrors as exc:
        bad = exc.failure_cases[["index", "check"]].dropna()
    quarantine = pd.DataFrame(
        {"row_number": df.loc[bad["index"].astype(int), "row_number"].to_numpy(), "rule": bad["check"].astype(str)}
    )
    valid = df.drop(index=bad["index"].astype(int).unique())
    rows = pseudonymise(valid, args.provider)
    con = duckdb.connect(str(args.database))
    con.execute("CREATE OR REPLACE TABLE victim_assistance AS SELECT * FROM rows")
    con.execute("CREATE OR REPLACE TABLE quarantine AS SELECT * FROM quarantine")
    con.close()
    print(f"{len(df)} rows in, {len(rows)} loaded, {quarantine['row_number'].nunique()} quarantined")


if __name__ == "__main__":
    main()
