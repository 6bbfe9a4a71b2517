"""Key rotation re-keys every stored token from the escrow: linkage before and after is the same."""

from __future__ import annotations

import pytest

from application.home import Home
from application.rotation import rotate, rows_by_version
from application.steps import ingest_file
from errors import KeyringError
from privacy.keys import load_keyring
from tests.conftest import sample_files
from warehouse.repository import connect, escrow_path, repository_path

VA = "victim-assistance"


def _va_files(sample_dir):
    return [(p, prov) for p, feed, prov in sample_files(sample_dir) if feed == VA]


def _ingest(home: Home, path, provider):
    keyring = load_keyring(home.keys)
    ingest_file(home, home.sealed_inbox(keyring), path, VA, provider, "all", keyring)


def _cross_matches(home: Home, provider: str) -> int:
    """Records of `provider` whose name+dob token appears at another provider."""
    keyring = load_keyring(home.keys)
    with connect(repository_path(home.warehouse, VA), read_only=True, key=keyring.key("database")) as con:
        return con.execute(
            "SELECT count(*) FROM victim_assistance a WHERE a.provider = ? AND a.name_dob_token IN "
            "(SELECT name_dob_token FROM victim_assistance WHERE provider <> ?)",
            [provider, provider],
        ).fetchone()[0]


def _home(tmp_path, name) -> Home:
    home = Home(tmp_path / name).ensure()
    home.keyring(create_demo=True)
    return home


def test_rotation_keeps_linkage(tmp_path, sample_dir):
    (a, pa), (b, pb), (c, pc) = _va_files(sample_dir)[:3]
    rotated, control = _home(tmp_path, "rotated"), _home(tmp_path, "control")
    for home in (rotated, control):
        _ingest(home, a, pa)
        _ingest(home, b, pb)
    before = _cross_matches(rotated, pb)
    assert before > 0
    keyring, done = rotate(rotated.keys, rotated.warehouse, load_keyring(rotated.keys), None)
    assert keyring.current == 2 and list(keyring.masters) == [2] and done["victims"] > 0
    assert rows_by_version(rotated.warehouse, keyring)["victims"] == {2: done["victims"]}
    assert _cross_matches(rotated, pb) == before
    for home in (rotated, control):
        _ingest(home, c, pc)  # loaded under version 2 in the rotated home
    assert _cross_matches(rotated, pc) == _cross_matches(control, pc) > 0


def test_rotation_refuses_rows_without_escrow_and_changes_nothing(tmp_path, sample_dir):
    (a, pa), *_ = _va_files(sample_dir)
    home = _home(tmp_path, "home")
    _ingest(home, a, pa)
    keyring = load_keyring(home.keys)
    with connect(escrow_path(home.warehouse, VA), key=keyring.key("escrow")) as con:
        con.execute("DELETE FROM escrow WHERE row_number < 10")
    with pytest.raises(KeyringError, match="no escrow entry"):
        rotate(home.keys, home.warehouse, keyring, None)
    after = load_keyring(home.keys)
    assert after.current == 2 and 1 in after.masters  # the old version stays until every row is re-keyed
    assert set(rows_by_version(home.warehouse, after)["victims"]) == {1}


def test_a_resubmission_replaces_its_predecessor_in_every_output(tmp_path, sample_dir):
    """Same provider, feed and period: the new file supersedes the old one in the research tables too."""
    import csv

    import duckdb

    from warehouse.research import build_research_database

    (a, provider), *_ = _va_files(sample_dir)
    with a.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    half = tmp_path / a.name
    with half.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[: len(rows) // 2])
    home = _home(tmp_path, "home")
    key = load_keyring(home.keys).key("database")

    def published_records() -> int:
        build_research_database(home.warehouse, key, k=1)  # k = 1: nothing withheld, totals are exact
        con = duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True)
        try:
            return con.execute(
                "SELECT sum(value) FROM indicators WHERE indicator = 'victim_records' AND category = ?",
                [f"{VA}: {provider}"],
            ).fetchone()[0]
        finally:
            con.close()

    _ingest(home, a, provider)
    first = published_records()
    _ingest(home, half, provider)
    second = published_records()
    with connect(repository_path(home.warehouse, VA), read_only=True, key=key) as con:
        loaded = con.execute("SELECT rows_loaded FROM submissions WHERE superseded_by IS NULL").fetchall()
        history = con.execute("SELECT count(*) FROM submissions WHERE superseded_by IS NOT NULL").fetchone()[0]
    assert len(loaded) == 1 and second == loaded[0][0] < first and history == 1
