"""Replace direct identifiers by keyed linkage tokens and generalise quasi-identifiers, vectorised in DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from privacy.keys import Keyring
from privacy.normalise import clean_sql, dob_sql, document_sql, name_parts_sql, skeleton_sql

__all__ = [
    "clean_sql",
    "document_sql",
    "hmac_params",
    "hmac_sql",
    "name_parts_sql",
    "pseudonymise",
    "skeleton_sql",
]

BLOCK = 64  # SHA-256 block size in bytes
ESCROW_PREFIX = "l1_"  # first-level token columns: written to the escrow, never to a repository
TOKENS = ("document", "name_dob", "skeleton", "event")


def hmac_params(name: str, key: bytes) -> dict[str, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (RFC 2104) as query parameters."""
    padded = key.ljust(BLOCK, b"\0")
    return {
        f"{name}_i": bytes(b ^ 0x36 for b in padded),
        f"{name}_o": bytes(b ^ 0x5C for b in padded),
    }


def hmac_sql(name: str, message: str) -> str:
    """SQL for hex HMAC-SHA256 of the text expression `message` under the key bound as `name`.

    HMAC(k, m) = H((k ^ opad) || H((k ^ ipad) || m)), composed from DuckDB's sha256 over blobs so
    that no row passes through Python. NULL in, NULL out.
    """
    return f"sha256(${name}_o::BLOB || unhex(sha256(${name}_i::BLOB || encode({message}))))"


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


# The date of the event a record reports, shared by the records of one event across providers.
EVENT_DATE = {"victim-assistance": "identification_date", "law-enforcement": "investigation_date"}

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
        {case_token} AS case_token, person_role, stage, offence,
        date_trunc('month', investigation_date)::DATE AS investigation_month,
        date_trunc('month', prosecution_date)::DATE AS prosecution_month,
        date_trunc('month', conviction_date)::DATE AS conviction_month,
        sentence_months""",
}


def pseudonymise(valid: pa.Table, feed: str, provider: str, keyring: Keyring) -> pa.Table:
    """The stored form of validated rows: tokens and generalised fields, no direct identifier."""
    params: dict[str, object] = {"provider": provider, "key_version": keyring.current}
    params |= hmac_params("record", keyring.key("record-id"))
    roles = ["victim", "suspect"] if feed == "law-enforcement" else ["victim"]
    for role in roles:
        params |= hmac_params(f"{role}1", keyring.key(f"{role}-linkage-l1"))
        params |= hmac_params(role, keyring.key(f"{role}-linkage"))
    parts = name_parts_sql("given_name", "family_name")
    dob = dob_sql("date_of_birth")
    messages = {
        "document": f"'doc|' || {document_sql('document_number')}",
        "name_dob": f"'nd|' || nullif(array_to_string({parts}, ' '), '') || '|' || {dob}",
        "skeleton": f"'slk|' || nullif({skeleton_sql(parts)}, '') || '|' || {dob}",
        # The name's error-tolerant code with the date of the event that brought the record (identification
        # or investigation) and the sex: what links a record whose date of birth is missing (privacy.linkage).
        "event": f"'ev|' || nullif({skeleton_sql(parts)}, '') || '|' || {dob_sql(EVENT_DATE[feed])} || '|' || sex",
    }
    tokens = []
    for name, message in messages.items():
        # Two levels (docs/privacy.md): the first-level token, under the long-lived linkage key, goes to
        # the escrow only; the stored token is keyed again under the current, rotating key.
        first = {role: hmac_sql(f"{role}1", message) for role in roles}
        stored = {role: hmac_sql(role, first[role]) for role in roles}
        if feed == "law-enforcement":
            tokens.append(
                f"CASE WHEN person_role = 'suspect' THEN {first['suspect']} ELSE {first['victim']} END "
                f"AS {ESCROW_PREFIX}{name}"
            )
            tokens.append(
                f"CASE WHEN person_role = 'suspect' THEN {stored['suspect']} ELSE {stored['victim']} END "
                f"AS {name}_token"
            )
        else:
            tokens += [f"{first['victim']} AS {ESCROW_PREFIX}{name}", f"{stored['victim']} AS {name}_token"]
    case_token = hmac_sql("record", "$provider || '|' || case_id")
    sql = f"""
        SELECT _row AS row_number,
               {hmac_sql("record", "$provider || '|' || provider_record_id")} AS record_token,
               {", ".join(tokens)},
               $key_version::INTEGER AS key_version,
               reporting_year, sex, year(date_of_birth) AS birth_year, age_at_event,
               {_age_group("age_at_event")} AS age_group,
               CASE WHEN age_at_event IS NULL THEN NULL ELSE age_at_event < 18 END AS is_child,
               citizenship, {_region("address")} AS region,
               string_split(exploitation_form, ';') AS exploitation_forms,
               {FEED_COLUMNS[feed].format(case_token=case_token)}
        FROM valid ORDER BY _row
    """
    con = duckdb.connect()
    con.register("valid", valid)
    try:
        return con.execute(sql, params).to_arrow_table()
    finally:
        con.close()
