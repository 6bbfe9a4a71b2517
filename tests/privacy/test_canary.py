"""Proof of privacy: canary identifiers planted in raw extracts appear nowhere the product writes."""

from __future__ import annotations

import csv

import duckdb
import pytest

from schemas.standard import FEEDS
from tests.conftest import installation_after_run, sample_files
from warehouse.repository import connect, repository_path

pytestmark = pytest.mark.integration
CANARY_ROWS = 25


def _canaries(n: int) -> dict[str, str]:
    return {
        "given_name": f"Zyxcanary{n}",
        "family_name": f"Qwcanaryfam{n}",
        "document_number": f"CNRY{n:06d}",
        "phone": f"+99 555 {n:06d}",
        "address": f"{n} Canarylane, 9999 ZZ Canarytown{n}, North",
        "provider_record_id": f"canary-record-{n}",
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory, sample_dir):
    """A home that ran the whole graph on extracts whose first rows carry canary identifiers."""
    src = tmp_path_factory.mktemp("canary-extracts")
    needles, n = set(), 0
    for path, feed, _provider in sample_files(sample_dir):
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for i, row in enumerate(rows[:CANARY_ROWS]):
            n += 1
            canary = _canaries(n)
            row.update(canary)
            if i == 0:  # a name typed into a code column: quarantined, and still never written anywhere
                row["sex"] = canary["given_name"]
            if feed == "law-enforcement":
                row["case_id"] = canary["case_id"] = f"CANARYCASE{n}"
            needles |= {v for k, v in canary.items() if k != "address"} | {f"Canarytown{n}", "Canarylane"}
        out = src / path.name
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with installation_after_run(tmp_path_factory.mktemp("canary") / "home", src) as home:
        yield home, home.keyring()[0], needles


def _variants(needle: str) -> set[bytes]:
    """The forms a value could take on disk: as written, case-folded, upper-cased, UTF-16."""
    forms = {needle, needle.lower(), needle.upper()}
    return {f.encode() for f in forms} | {f.encode("utf-16-le") for f in forms}


def test_no_canary_in_any_file(planted):
    home, _, needles = planted
    patterns = set().union(*(_variants(n) for n in needles))
    files = [p for p in home.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sealed" for p in files) and any(p.suffix == ".sqlite" for p in files)
    for path in files:
        data = path.read_bytes()
        leaked = [p for p in patterns if p in data]
        assert not leaked, (str(path.relative_to(home.root)), leaked[:3])


def test_no_canary_in_any_table(planted):
    home, keyring, needles = planted
    lowered = {n.lower() for n in needles}
    checked = 0
    databases = [(repository_path(home.warehouse, f), keyring.key("database")) for f in FEEDS]
    databases.append((home.warehouse / "linkage.duckdb", keyring.key("database")))  # the stored linkage
    databases.append((home.warehouse / "research.duckdb", None))
    for path, key in databases:
        with connect(path, read_only=True, key=key) as con:
            columns = con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = current_database() AND data_type IN ('VARCHAR', 'VARCHAR[]')"
            ).fetchall()
            for table, column in columns:
                values = con.execute(f'SELECT DISTINCT lower(CAST("{column}" AS VARCHAR)) FROM "{table}"').fetchall()
                text = "\n".join(v[0] for v in values if v[0] is not None)
                assert not [n for n in lowered if n in text], (path.name, table, column)
                checked += 1
    assert checked > 20


def test_research_database_holds_no_pseudonyms(planted):
    home, _, _ = planted
    con = duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()]
    finally:
        con.close()
    assert names and not [n for n in names if "token" in n]
