"""Replace direct identifiers by keyed linkage tokens and generalise quasi-identifiers, vectorised in DuckDB."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
from duckdb.sqltypes import VARCHAR

from privacy.keys import Keyring
from privacy.normalise import clean_sql, dob_sql, document_sql, name_parts_sql, skeleton_sql
from schemas.standard import feed as feed_spec

__all__ = [
    "clean_sql",
    "document_sql",
    "hmac_sql",
    "register_hmac",
    "name_parts_sql",
    "pseudonymise",
    "skeleton_sql",
]

BLOCK = 64  # SHA-256 block size in bytes
ESCROW_PREFIX = "l1_"  # first-level token columns: written to the escrow, never to a repository
TOKENS = ("document", "name_dob", "skeleton", "event")


def register_hmac(con: duckdb.DuckDBPyConnection, name: str, key: bytes) -> None:
    """Make `hmac_<name>(text)` on `con`: hex HMAC-SHA256 (RFC 2104) of the UTF-8 text under `key`; NULL stays NULL.

    A vectorised (Arrow) function: DuckDB hands it a vector of values at a time, and the keyed inner and
    outer hash states are computed once, so each value costs two SHA-256 completions in OpenSSL
    (several times faster than composing the HMAC from DuckDB's own sha256). Nothing is kept.
    """
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def keyed(values: pa.Array) -> pa.Array:
        out: list[str | None] = []
        for value in values.to_pylist():
            if value is None:
                out.append(None)
                continue
            h = inner.copy()
            h.update(value.encode("utf-8"))
            o = outer.copy()
            o.update(h.digest())
            out.append(o.hexdigest())
        return pa.array(out, pa.string())

    con.create_function(  # type: ignore[call-overload]  # duckdb's stubs know no `type="arrow"` with these
        f"hmac_{name}", keyed, [VARCHAR], VARCHAR, type="arrow", null_handling="special", side_effects=False
    )


def hmac_sql(name: str, message: str) -> str:
    """SQL for hex HMAC-SHA256 of the text expression `message` under the key registered as `name`."""
    return f"hmac_{name}({message})"


def _age_group(age: str) -> str:
    return (
        f"CASE WHEN {age} IS NULL THEN 'unknown' WHEN {age} < 12 THEN '0-11' WHEN {age} < 18 THEN '12-17' "
        f"WHEN {age} < 25 THEN '18-24' WHEN {age} < 35 THEN '25-34' WHEN {age} < 45 THEN '35-44' "
        f"WHEN {age} < 60 THEN '45-59' ELSE '60+' END"
    )


def _region(address: str) -> str:
    """The last comma-separated part of the address, when it names a standard region."""
    last = f"lower(trim(list_last(string_split(coalesce({address}, ''), ','))))"
    return f"CASE WHEN {last} IN ('capital', 'north', 'south', 'east', 'west') THEN {last} ELSE 'unknown' END"


FEED_COLUMNS = {
    "victim-assistance": """
        date_trunc('month', identification_date)::DATE AS identification_month,
        identified_by, identification_status, country_of_exploitation,
        CASE WHEN citizenship = 'XXX' OR country_of_exploitation = 'XXX' THEN NULL
             ELSE citizenship <> country_of_exploitation END AS is_transnational,
        date_trunc('month', assistance_start_date)::DATE AS assistance_start_month,
        list_filter(string_split(lower(regexp_replace(coalesce(services, ''), '\\s', '', 'g')), ';'),
                    s -> s <> '') AS services,
        string_split(means_of_control, ';') AS means_of_control,
        exploitation_duration, recruiter_relationship, economic_sector, referred_by, disability""",
    "law-enforcement": """
        person_role, stage, offence,
        date_trunc('month', investigation_date)::DATE AS investigation_month,
        date_trunc('month', prosecution_date)::DATE AS prosecution_month,
        date_trunc('month', conviction_date)::DATE AS conviction_month,
        sentence_months""",
}


def _role(feed: str) -> str:
    """SQL for a record's role: the feed's role column, or 'victim' for a feed of victims only."""
    return feed_spec(feed).role or "'victim'"


def first_level_keys(keyring: Keyring) -> dict[str, bytes]:
    """The long-lived first-level linkage keys, by role (what the bureau issues to providers for `prepare`)."""
    return {role: keyring.key(f"{role}-linkage-l1") for role in ("victim", "suspect")}


def first_level(valid: pa.Table, feed: str, keys: dict[str, bytes]) -> pa.Table:
    """Validated rows with identifiers replaced by first-level tokens and quasi-identifiers generalised.

    This is what `rapporteur prepare` writes on a provider's machine, and the first step of the
    bureau's own pseudonymisation of a raw extract. The provider's record and case ids stay: the
    bureau keys them on arrival (they identify no one outside the provider).
    """
    spec = feed_spec(feed)
    hmacs = {f"{role}1": key for role, key in keys.items()}
    dob = dob_sql("date_of_birth")
    messages = {
        "document": f"'doc|' || {document_sql('document_number')}",
        "name_dob": f"'nd|' || _words || '|' || {dob}",
        "skeleton": f"'slk|' || _skeleton || '|' || {dob}",
        # The name's error-tolerant code with the date of the event that brought the record (identification
        # or investigation) and the sex: what links a record whose date of birth is missing (privacy.linkage).
        "event": f"'ev|' || _skeleton || '|' || {dob_sql(spec.event_date)} || '|' || sex",
    }
    tokens = [
        f"CASE WHEN {_role(feed)} = 'suspect' THEN {hmac_sql('suspect1', m)} ELSE {hmac_sql('victim1', m)} END "
        f"AS {ESCROW_PREFIX}{name}"
        for name, m in messages.items()
    ]
    case_id = ", case_id" if spec.has_cases else ""
    # The name's words and code depend on the name alone, and names repeat (a national extract has far fewer
    # distinct names than rows): they are computed once per distinct name, in memory only (`_run` never
    # spills), and joined back.
    sql = f"""
        WITH names AS MATERIALIZED (
            SELECT given_name, family_name, {name_parts_sql("given_name", "family_name")} AS _parts
            FROM (SELECT DISTINCT given_name, family_name FROM valid)
        ), codes AS MATERIALIZED (
            SELECT given_name, family_name, nullif(array_to_string(_parts, ' '), '') AS _words,
                   nullif({skeleton_sql("_parts")}, '') AS _skeleton FROM names
        ), coded AS (
            SELECT v.*, c._words, c._skeleton FROM valid v JOIN codes c
            ON v.given_name IS NOT DISTINCT FROM c.given_name AND v.family_name IS NOT DISTINCT FROM c.family_name
        )
        SELECT _row AS row_number, provider_record_id{case_id},
               {", ".join(tokens)},
               reporting_year, sex, year(date_of_birth) AS birth_year, age_at_event,
               {_age_group("age_at_event")} AS age_group,
               CASE WHEN age_at_event IS NULL THEN NULL ELSE age_at_event < 18 END AS is_child,
               citizenship, {_region("address")} AS region,
               string_split(exploitation_form, ';') AS exploitation_forms,
               {FEED_COLUMNS[feed]}
        FROM coded ORDER BY _row
    """
    return _run(sql, {}, hmacs, valid=valid)


def second_level(prepared: pa.Table, feed: str, provider: str, keyring: Keyring) -> pa.Table:
    """The stored form: tokens keyed again under the current key, record and case ids keyed.

    Raw extracts (after `first_level`) and extracts prepared by providers both go through here, so
    they are stored alike. The first-level columns stay in the output for the escrow only.
    """
    params: dict[str, object] = {"provider": provider, "key_version": keyring.current}
    hmacs = {"record": keyring.key("record-id")} | {r: keyring.key(f"{r}-linkage") for r in ("victim", "suspect")}
    tokens = [
        f"CASE WHEN {_role(feed)} = 'suspect' THEN {hmac_sql('suspect', ESCROW_PREFIX + name)} "
        f"ELSE {hmac_sql('victim', ESCROW_PREFIX + name)} END AS {name}_token"
        for name in TOKENS
    ]
    case_message = "$provider || '|' || case_id"
    case_token = f", {hmac_sql('record', case_message)} AS case_token" if feed_spec(feed).has_cases else ""
    sql = f"""
        SELECT * EXCLUDE (provider_record_id{", case_id" if case_token else ""}),
               {hmac_sql("record", "$provider || '|' || provider_record_id")} AS record_token{case_token},
               {", ".join(tokens)},
               $key_version::INTEGER AS key_version
        FROM prepared ORDER BY row_number
    """
    return _run(sql, params, hmacs, prepared=prepared)


def pseudonymise(valid: pa.Table, feed: str, provider: str, keyring: Keyring) -> pa.Table:
    """The stored form of validated rows: both levels, as the bureau does it for a raw extract."""
    return second_level(first_level(valid, feed, first_level_keys(keyring)), feed, provider, keyring)


def _run(sql: str, params: dict, hmacs: dict[str, bytes], **tables: pa.Table) -> pa.Table:
    con = duckdb.connect()
    con.execute("SET temp_directory = ''")  # identifiers never spill to disk
    for name, key in hmacs.items():
        register_hmac(con, name, key)
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql, params).to_arrow_table()
    finally:
        con.close()
