"""An extract's header against a feed's columns: is it a header at all, what is missing, what is not recognised.

A column that is not recognised is named (with the standard column it most likely means) only when the first
row is recognisably a header: in a file without one, the "names" are a row of data about a person. Names
taken from the file are returned as `quoted`, so the bureau's copies can leave them out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from errors import UnusableInput
from schemas.standard import FEEDS, Feed, feed
from sources.extract_stream import ROW

# Names providers commonly use for a standard column (a suggestion only: the file must use the standard name).
ALIASES = {
    "nationality": "citizenship",
    "gender": "sex",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "first_name": "given_name",
    "surname": "family_name",
    "last_name": "family_name",
    "passport_number": "document_number",
    "record_id": "provider_record_id",
    "id": "provider_record_id",
    "form_of_exploitation": "exploitation_form",
    "country_of_destination": "country_of_exploitation",
    "telephone": "phone",
}
SHOWN = 40  # characters of a header name shown
LISTED = 8  # header names listed in one message


@dataclass(frozen=True)
class Layout:
    """What the header says about the file: notes for the provider and the header names they quote."""

    notes: list[str]
    quoted: tuple[str, ...] = ()


def required_present(columns: list[str], f: Feed) -> int:
    """How many of the feed's required columns the header names."""
    present = set(columns)
    return sum(1 for c in f.columns.values() if c.required and c.name in present)


def is_header(columns: list[str], f: Feed) -> bool:
    """A first row that names at least half the feed's required columns is a header, not a row of data."""
    required = sum(1 for c in f.columns.values() if c.required)
    return 2 * required_present(columns, f) >= required


def fits(columns: list[str], f: Feed) -> bool:
    """The header names every required column of the feed."""
    return required_present(columns, f) == sum(1 for c in f.columns.values() if c.required)


def conform_layout(columns: list[str], f: Feed, filename: str) -> Layout:
    """Check a header against the feed (raises UnusableInput, one line); notes on the columns that are dropped."""
    present = set(columns)
    missing = [c.name for c in f.columns.values() if c.required and c.name not in present]
    unknown = [(i, n) for i, n in enumerate(columns, start=1) if n not in f.columns and n != ROW]
    lacking = f"{filename}: required column(s) missing for feed {f.name}: {', '.join(missing)}"
    other = next((o for o in FEEDS if o != f.name and fits(columns, feed(o))), None) if missing else None
    if other:
        raise UnusableInput(f"{lacking}; this is a {other} extract: choose the feed {other}")
    if missing and not is_header(columns, f):
        raise UnusableInput(
            f"{lacking}; the first row names only {required_present(columns, f)} of the required columns, so it is "
            "not a header: put the column names of the data dictionary in the first row"
        )
    absent = [c for c in f.columns if c not in present]
    named = [_named(i, n, _likely(n, missing, absent, len(unknown))) for i, n in unknown[:LISTED]]
    if len(unknown) > LISTED:
        named.append(f"and {len(unknown) - LISTED} more")
    quoted = tuple(f"'{n[:SHOWN]}'" for _, n in unknown)
    if missing:
        also = f"; not recognised: {', '.join(named)}" if named else ""
        raise UnusableInput(f"{lacking}{also}; see the column names in the data dictionary", quoted=quoted)
    if not unknown:
        return Layout([])
    # Unknown columns may be free text about a person: they are dropped, never stored.
    return Layout([f"dropped {len(unknown)} column(s) not in the standard: {', '.join(named)}"], quoted)


def _likely(name: str, missing: list[str], absent: list[str], unknown: int) -> str | None:
    """The standard column a header name most likely means: a known alias, a close spelling, or the only
    required column missing when it is the only name not recognised."""
    key = name.replace("-", "_")
    if ALIASES.get(key) in absent:
        return ALIASES[key]
    close = difflib.get_close_matches(key, absent, n=1, cutoff=0.75)
    if close:
        return close[0]
    return missing[0] if len(missing) == 1 and unknown == 1 else None


def _named(position: int, name: str, likely: str | None) -> str:
    hint = f"; did you mean {likely}?" if likely else ""
    return f"'{name[:SHOWN]}' (column {position}{hint})"
