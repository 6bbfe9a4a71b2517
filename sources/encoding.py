"""Which text encoding a CSV extract is in, judged from its first bytes; and whether it is text at all."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from errors import UnusableInput

LEGACY_ENCODINGS = ["cp1250", "cp1251", "latin_1", "iso8859_15", "cp1257"]
# A multi-byte UTF-8 letter: in a file that is not valid UTF-8, two of these mean it mixes encodings.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


def detect_encoding(head: bytes, filename: str) -> str:
    """A CSV extract's encoding from its first bytes: a BOM, valid UTF-8, UTF-16 without BOM, cp1252, or a guess."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        if b"\x00" not in head:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    even, odd = head[0::2], head[1::2]
    for zeros, other, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        # UTF-16 without a byte-order mark: for Latin text every other byte, and only those, is zero.
        if len(zeros) > 8 and zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
            return name
    if b"\x00" in head:
        raise UnusableInput(f"{filename}: this is not a text file (CSV), an XLSX or a Parquet file")
    if len(UTF8_SEQUENCE.findall(head)) >= 2:  # UTF-8 rows and legacy rows: one guess would garble names
        raise UnusableInput(f"{filename}: the file mixes text encodings (UTF-8 and another); export it again as UTF-8")
    try:
        head.decode("cp1252")  # the usual legacy export of Western European office software
        return "cp1252"
    except UnicodeDecodeError:
        pass
    best = from_bytes(head, cp_isolation=LEGACY_ENCODINGS).best()
    if best is None:
        raise UnusableInput(f"{filename}: the text encoding could not be detected; save it as UTF-8")
    return best.encoding


def looks_binary(text: str) -> bool:
    """More than 1% control or non-characters: not a text export, whatever the encoding guessed."""
    bad = sum(
        1 for ch in text if (ch < " " and ch not in "\t\r\n") or "\ufff0" <= ch <= "\uffff" or "\ue000" <= ch < "\uf900"
    )
    return bad > 0.01 * max(len(text), 1)
