"""Keyed tokens agree with Python's hmac, tolerate name variation, and leave no identifier behind."""

from __future__ import annotations

import hashlib
import hmac
import json

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import KeyringError
from privacy.keys import Keyring, create_demo_keyring, load_keyring
from privacy.pseudonymise import hmac_sql, name_parts_sql, pseudonymise, register_hmac, skeleton_sql
from privacy.sealed import open_table, seal_table
from tests.schemas.test_validation import GOOD, TODAY, _extract

CON = duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), messages=st.lists(st.one_of(st.none(), st.text(max_size=200))))
def test_sql_hmac_equals_python_hmac(key, messages):
    con = duckdb.connect()
    register_hmac(con, "k", key)
    con.register("m", pa.table({"m": pa.array(messages, pa.string())}))
    got = [r[0] for r in con.execute(f"SELECT {hmac_sql('k', 'm')} FROM m").fetchall()]
    con.close()
    assert got == [None if m is None else hmac.new(key, m.encode(), hashlib.sha256).hexdigest() for m in messages]


def _parts(given_name: str, family: str) -> tuple[list[str], str]:
    parts = name_parts_sql("$g", "$f")
    return CON.execute(f"SELECT {parts}, {skeleton_sql(parts)}", {"g": given_name, "f": family}).fetchone()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Zoë", "Ölçek"), ("Ölçek", "Zoe")),  # swapped and accents dropped
        (("José-María", "Núñez"), ("jose maria", "NUNEZ")),
        (("Aleksandr", "Petrov"), ("Aleksandr", "Petrov ")),
        (("Bjørn", "Strauß"), ("Bjorn", "Strauss")),
    ],
)
def test_name_normalisation_agrees(a, b):
    assert _parts(*a) == _parts(*b)


@pytest.mark.parametrize(
    ("a", "b"), [(("Mohammed", "Ali"), ("Muhammad", "Ali")), (("Sergei", "Ivanov"), ("Sergey", "Ivanov"))]
)
def test_skeleton_tolerates_transliteration(a, b):
    assert _parts(*a)[1] == _parts(*b)[1]


def _keyring() -> Keyring:
    return Keyring({1: b"\x01" * 32}, 1, False)


def _pseudonymised(feed_name: str, rows: list[dict]) -> pa.Table:
    from schemas.standard import feed
    from schemas.validation import validate

    result = validate(_extract(rows), feed(feed_name), "x", today=TODAY)
    assert result.rows_quarantined == 0
    return pseudonymise(result.valid, feed_name, "x", _keyring())


@pytest.mark.parametrize("feed_name", list(GOOD))
def test_stored_rows_hold_no_identifier(feed_name):
    canary = {
        "given_name": "Canarygiven",
        "family_name": "Canaryfamily",
        "document_number": "CANARY123",
        "phone": "+31 555 0199",
        "address": "7 Canarystreet, 9999 ZZ Canarytown, North",
        "provider_record_id": "canary-record",
        "date_of_birth": "14/02/1987",
    }
    if feed_name == "law-enforcement":
        canary["case_id"] = "CANARYCASE"
    out = _pseudonymised(feed_name, [GOOD[feed_name] | canary])
    text = json.dumps(out.to_pylist(), default=str).lower()
    for value in ("canary", "0199", "1987-02-14", "14/02/1987"):
        assert value not in text
    row = out.to_pylist()[0]
    assert row["birth_year"] == 1987 and row["region"] == "north" and row["key_version"] == 1
    assert all(len(row[t]) == 64 for t in ("record_token", "document_token", "name_dob_token", "skeleton_token"))


def test_same_person_same_tokens_across_spellings():
    a = GOOD["victim-assistance"] | {"given_name": "Zoë", "family_name": "Ölçek", "document_number": "ab-12 3"}
    b = a | {"provider_record_id": "r2", "given_name": "OLCEK", "family_name": "zoe", "document_number": "AB123"}
    one, two = _pseudonymised("victim-assistance", [a, b]).to_pylist()
    assert one["name_dob_token"] == two["name_dob_token"] and one["document_token"] == two["document_token"]
    assert one["record_token"] != two["record_token"]


def test_victim_and_suspect_keys_differ():
    rows = [
        GOOD["law-enforcement"],
        GOOD["law-enforcement"]
        | {
            "provider_record_id": "r2",
            "person_role": "victim",
            "stage": "investigated",
            "prosecution_date": "",
            "conviction_date": "",
            "sentence_months": "",
        },
    ]
    suspect, victim = _pseudonymised("law-enforcement", rows).to_pylist()
    assert suspect["name_dob_token"] != victim["name_dob_token"]
    va = _pseudonymised("victim-assistance", [GOOD["victim-assistance"]]).to_pylist()[0]
    assert va["name_dob_token"] == victim["name_dob_token"]  # victims link across the two repositories


def test_keyring_round_trip_and_damage(tmp_path):
    created = create_demo_keyring(tmp_path)
    assert load_keyring(tmp_path).key("victim-linkage") == created.key("victim-linkage")
    assert created.key("victim-linkage") != created.key("suspect-linkage")
    assert (tmp_path / "keyring.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyringError, match="already exists"):
        create_demo_keyring(tmp_path)
    (tmp_path / "keyring.json").write_text("{not json")
    with pytest.raises(KeyringError, match="damaged.*backup"):
        load_keyring(tmp_path)
    with pytest.raises(KeyringError, match="no keyring"):
        load_keyring(tmp_path / "elsewhere")


def test_sealed_tables_round_trip_and_detect_tampering(tmp_path):
    table = pa.table({"given_name": ["Canaryname"]})
    path = tmp_path / "rows.sealed"
    seal_table(table, path, b"\x02" * 32)
    assert b"Canaryname" not in path.read_bytes()
    assert open_table(path, b"\x02" * 32).equals(table)
    with pytest.raises(KeyringError):
        open_table(path, b"\x03" * 32)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(KeyringError):
        open_table(path, b"\x02" * 32)
