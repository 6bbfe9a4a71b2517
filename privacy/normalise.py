"""Normalisation of identifiers before they are tokenised, as DuckDB SQL expressions (no per-row Python).

Every function takes SQL expression text and returns SQL expression text, so that the whole of a
provider extract is normalised and hashed in one vectorised query (see privacy.pseudonymise).

Names:
  1. `clean_sql`: lower case, letters without Unicode decomposition rewritten (ø, æ, ß, ł, ...),
     accents stripped, anything that is not a-z becomes a single space.
  2. `field_words_sql`: within one field (given or family name), a name particle followed by another
     word is glued to it (`El Masri`, `Al-Masri` -> `elmasri`, `almasri`; `de Vries` -> `devries`), then
     transliteration variants are reduced to one spelling (ph->f, kh->h, ks->x, ou->u, y->i, w->v, ...).
  3. `name_parts_sql`: the words of both fields, sorted, so that swapped given and family names agree.
  4. `phonetic_sql` / `skeleton_sql`: an error-tolerant code per word (a vowel-free consonant skeleton
     with phonetic classes, doubles collapsed), sorted; it absorbs most one-character typos and the
     transliteration variants (Mohammed/Muhammad, Sergei/Serhiy, Olena/Elena/Yelena, Yulia/Julia,
     Shevchenko/Chevtchenko, Georgiev/Gueorguiev, ...).
Documents: `document_sql` keeps letters and digits, upper case.
Dates of birth: `dob_sql` writes an ISO date.
"""

from __future__ import annotations

MAX_NAME_CHARS = 200  # longer than any real name field
# Letters that Unicode decomposition does not reduce to ASCII, as providers' systems spell them.
LETTERS = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ı": "i"}

# Name particles glued to the word that follows them within the same field.
PARTICLES = [
    "al", "el", "ben", "bin", "ibn", "bint", "abu", "ait", "de", "del", "della", "der", "den", "di", "da",
    "das", "dos", "du", "van", "von", "ter", "ten", "la", "le", "mac", "mc", "saint",
]  # fmt: skip

# Common transliteration variants, reduced to one spelling (applied in order, to whole words).
TRANSLIT = [
    ("ph", "f"),
    ("kh", "h"),
    ("ks", "x"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("y", "i"),
    ("w", "v"),
    ("dj", "j"),
    ("tch", "ch"),
    ("ck", "k"),
    ("q", "k"),
]

# Phonetic classes of the error-tolerant code (applied after TRANSLIT, in order).
PHONETIC = [
    ("sch", "s"),
    ("sh", "s"),
    ("ch", "s"),
    ("zh", "s"),
    ("x", "ks"),
    ("c", "k"),
    ("z", "s"),
    ("j", "i"),  # Yulia / Julia (y is already i)
    ("g", "h"),  # Sergei / Serhiy, Georgiev / Gueorguiev (h is dropped below)
    ("v", "f"),
    ("b", "p"),
    ("d", "t"),
]
# Letters dropped from the code: vowels, and h (silent or from g).
DROPPED = "[aeiouh]"


def clean_sql(expr: str) -> str:
    """Lower-case ASCII letters and single spaces: accents stripped, punctuation and digits gone.

    Only the first MAX_NAME_CHARS characters count: a name field of megabytes (an export gone wrong, or
    hostile) would otherwise make the phonetic code quadratic in its length.
    """
    out = f"lower(left(coalesce({expr}, ''), {MAX_NAME_CHARS}))"
    for src, dst in LETTERS.items():
        out = f"replace({out}, '{src}', '{dst}')"
    out = f"strip_accents({out})"
    return f"trim(regexp_replace({out}, '[^a-z]+', ' ', 'g'))"


def translit_sql(expr: str) -> str:
    for src, dst in TRANSLIT:
        expr = f"replace({expr}, '{src}', '{dst}')"
    return expr


def glue_particles_sql(expr: str) -> str:
    """`el masri` -> `elmasri`: a particle at the start of a word, followed by another word, is glued to it."""
    alternatives = "|".join(PARTICLES)
    # Twice, for chains such as `van der berg` (the regex cannot overlap its own matches).
    once = f"regexp_replace(' ' || {expr}, ' ({alternatives}) ([a-z])', ' \\1\\2', 'g')"
    return f"trim(regexp_replace({once}, ' ({alternatives}) ([a-z])', ' \\1\\2', 'g'))"


def field_words_sql(expr: str) -> str:
    """One name field (given or family) as cleaned, particle-glued, transliterated words."""
    return f"string_split({translit_sql(glue_particles_sql(clean_sql(expr)))}, ' ')"


def name_parts_sql(given: str, family: str) -> str:
    """The person's name words, normalised and sorted, so swapped given/family names agree."""
    words = f"list_concat({field_words_sql(given)}, {field_words_sql(family)})"
    return f"list_sort(list_filter({words}, p -> p <> ''))"


def phonetic_sql(word: str) -> str:
    """The error-tolerant code of one normalised word: phonetic classes, vowels and h dropped, doubles collapsed.

    A one-character typo that touches a vowel, doubles or drops a doubled letter, or swaps a vowel with a
    neighbouring consonant leaves the code unchanged.
    """
    expr = word
    for src, dst in PHONETIC:
        expr = f"replace({expr}, '{src}', '{dst}')"
    letters = f"string_split(regexp_replace({expr}, '{DROPPED}', '', 'g'), '')"
    # RE2 has no back-references: collapse runs of the same letter by comparing neighbours in a list.
    return (
        f"list_reduce(list_prepend('', {letters}), (acc, c) -> CASE WHEN right(acc, 1) = c THEN acc ELSE acc || c END)"
    )


def skeleton_sql(parts: str) -> str:
    """The error-tolerant code of a name: the sorted codes of its words (`parts` from name_parts_sql)."""
    codes = f"list_filter(list_transform({parts}, p -> {phonetic_sql('p')}), c -> c <> '')"
    return f"array_to_string(list_sort({codes}), ' ')"


def document_sql(expr: str) -> str:
    """A document number as letters and digits only, upper case; NULL when nothing is left."""
    return f"nullif(upper(regexp_replace(coalesce({expr}, ''), '[^A-Za-z0-9]', '', 'g')), '')"


def dob_sql(expr: str) -> str:
    """A DATE as ISO text (NULL stays NULL)."""
    return f"strftime({expr}, '%Y-%m-%d')"
