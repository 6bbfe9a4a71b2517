"""The stored linkage, synced load by load, equals a full relink: after new providers, a supersession, rotation."""

from __future__ import annotations

import csv

import duckdb

from application.home import Home
from application.rotation import rotate
from application.steps import ingest_file
from privacy.keys import load_keyring
from privacy.linkage import link_records
from tests.conftest import sample_files
from warehouse.duck import encrypted
from warehouse.linkage_store import SyncResult, linkage_path, sync_linkage
from warehouse.repository import ensure_repository
from warehouse.research import build_research

VA, LE = "victim-assistance", "law-enforcement"
# Every current victim record of both repositories, as the analysis linked them before the stored linkage.
VICTIMS = """
    SELECT 'va|' || submission_id || '|' || row_number AS record_key, document_token, name_dob_token,
           skeleton_token, event_token, sex FROM va.current_victim_assistance
    UNION ALL
    SELECT 'le|' || submission_id || '|' || row_number, document_token, name_dob_token, skeleton_token,
           event_token, sex FROM le.current_law_enforcement WHERE person_role = 'victim'
"""


def _connect(home: Home) -> duckdb.DuckDBPyConnection:
    key = load_keyring(home.keys).key("database")
    con = duckdb.connect()
    for alias, feed in (("va", VA), ("le", LE)):
        encrypted(ensure_repository(home.warehouse, feed, key), key, alias=alias, read_only=True, con=con)
    encrypted(linkage_path(home.warehouse), key, alias="ls", con=con)
    return con


def _sync(home: Home) -> SyncResult:
    con = _connect(home)
    try:
        return sync_linkage(con)
    finally:
        con.close()


def _state(home: Home) -> tuple[dict, dict, list, list]:
    """(victim links, suspect links, victim profiles, suspect profiles) of the stored linkage."""
    con = _connect(home)
    try:
        links = [
            dict(con.execute(f"SELECT record_key, person_key FROM ls.{k}_links").fetchall())
            for k in ("victim", "suspect")
        ]
        profiles = [
            sorted(map(repr, con.execute(f"SELECT * FROM ls.{k}_profiles").fetchall())) for k in ("victim", "suspect")
        ]
        return (*links, *profiles)
    finally:
        con.close()


def _full_relink(home: Home) -> dict:
    """link_records over every current victim record at once: the reference."""
    con = _connect(home)
    try:
        out = link_records(con, VICTIMS)
        return dict(zip(out["record_key"].to_pylist(), out["person_key"].to_pylist(), strict=True))
    finally:
        con.close()


def _indicators(home: Home) -> list:
    build_research(home.warehouse, load_keyring(home.keys).key("database"), 1, None, None, estimate=False)
    con = duckdb.connect(str(home.warehouse / "research.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT indicator, period, dimension, category, value FROM indicators ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def _ingest(home: Home, path, feed: str, provider: str) -> None:
    keyring = load_keyring(home.keys)
    ingest_file(home, home.sealed_inbox(keyring), path, feed, provider, "all", keyring)


def test_synced_linkage_equals_a_full_relink(tmp_path, sample_dir):
    files = {(feed, provider): path for path, feed, provider in sample_files(sample_dir)}
    (va_a, va_b, _), (le_a, le_b, _) = (sorted(p for f, p in files if f == feed) for feed in (VA, LE))
    home = Home(tmp_path / "home").ensure()
    home.keyring(create_demo=True)

    _ingest(home, files[(VA, va_a)], VA, va_a)
    _ingest(home, files[(LE, le_a)], LE, le_a)
    first = _sync(home)
    assert first.full == {"victim": True, "suspect": True} and first.linked == {"victim": 2, "suspect": 1}
    before = _state(home)[0]

    _ingest(home, files[(VA, va_b)], VA, va_b)
    _ingest(home, files[(LE, le_b)], LE, le_b)
    second = _sync(home)
    assert second.full == {"victim": False, "suspect": False} and second.linked == {"victim": 2, "suspect": 1}
    victims = _state(home)[0]
    assert victims == _full_relink(home)
    merged = {k for k, p in before.items() if victims[k] != p}  # earlier records now in a larger person
    assert merged, "the new providers' records should bridge some stored persons"

    # A resubmission of the first provider (half its rows) supersedes the earlier one.
    with files[(VA, va_a)].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    half = tmp_path / files[(VA, va_a)].name
    with half.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[: len(rows) // 2])
    _ingest(home, half, VA, va_a)
    third = _sync(home)
    assert third.dropped["victim"] == 1 and third.linked["victim"] == 1 and not third.full["victim"]
    incremental = _state(home)
    assert incremental[0] == _full_relink(home)
    published = _indicators(home)  # synced: nothing left to link

    # From scratch (no stored linkage): the same links, persons, profiles and published indicators.
    linkage_path(home.warehouse).unlink()
    assert _indicators(home) == published
    assert _state(home) == incremental

    # After key rotation every stored token is void: the sync relinks everything, to the same persons.
    keyring = load_keyring(home.keys)
    rotate(home.keys, home.warehouse, keyring, None)
    assert _sync(home).full == {"victim": True, "suspect": True}
    assert _state(home) == incremental
