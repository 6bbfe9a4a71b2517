"""How each synthetic provider writes a person: its ids, local codes, date format and spelling habits."""

from __future__ import annotations

import datetime as dt
import random

from schemas import standard
from synthetic import pools
from synthetic.population import derive

PROVIDER_NAMES = {
    "law-enforcement": [
        "police-central",
        "police-north",
        "prosecution-service",
        "court-registry",
        "labour-inspectorate",
        "border-police",
    ],
    "victim-assistance": ["ngo-harbour", "ngo-lighthouse", "nrm-central", "ngo-safehouse", "ngo-crossroads"],
}
PREFIX = {"law-enforcement": "le", "victim-assistance": "va"}
DATE_FORMATS = ["YYYY-MM-DD", "DD/MM/YYYY", "DD.MM.YYYY"]
LAST_VALID_DATE = dt.date(2026, 6, 30).toordinal()
_fromordinal = dt.date.fromordinal


def provider_ids(feed: str, count: int) -> list[str]:
    """The first `count` provider ids of a feed, then `<le|va>-provider-N`."""
    names = PROVIDER_NAMES[feed]
    return [names[i] if i < len(names) else f"{PREFIX[feed]}-provider-{i + 1}" for i in range(count)]


def _date_writer(fmt: str):
    if fmt == "YYYY-MM-DD":

        def write(o: int) -> str:
            d = _fromordinal(o)
            return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    else:
        sep = "/" if fmt == "DD/MM/YYYY" else "."

        def write(o: int) -> str:
            d = _fromordinal(o)
            return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year:04d}"

    return write


def _spelling(pid: str) -> dict[str, dict[str, str]]:
    """The mapping file's local codes as spelled there, keyed by their case-folded form."""
    path = standard.HERE / "mappings" / f"{pid}.yaml"
    if not standard.PROVIDER_ID.fullmatch(pid) or not path.exists():
        return {}
    spec = standard.read_yaml(path) or {}
    return {col: {str(k).strip().casefold(): str(k).strip() for k in m} for col, m in (spec.get("codes") or {}).items()}


def _typo(r: random.Random, s: str) -> str:
    """One character substituted, dropped, doubled or two neighbours swapped."""
    if len(s) < 3:
        return s
    i = r.randrange(1, len(s) - 1)
    op = r.randrange(4)
    if op == 0:
        c = "aeiounrst"[r.randrange(9)]
        return s[:i] + (c if c != s[i] else "e") + s[i + 1 :]
    if op == 1:
        return s[:i] + s[i + 1 :]
    if op == 2:
        return s[:i] + s[i] + s[i:]
    return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]


class Provider:
    """One provider of one feed, with its own random stream (rows are written in a fixed order)."""

    def __init__(self, feed: str, pid: str, index: int, seed: int, date_format: str):
        self.feed = feed
        self.id = pid
        self.index = index
        self.rng = random.Random(derive(seed, "provider", feed, pid))
        self.select_rng = random.Random(derive(seed, "select", feed, pid))
        self.date_format = date_format
        self._write_date = _date_writer(date_format)
        self._dates: dict[int, str] = {}  # bounded: a few tens of thousands of distinct days
        spec = standard.feed(feed)
        lists = standard.codelists()
        local = standard.mapping(pid).codes
        spelled = _spelling(pid)
        self.local: dict[str, dict[str, str]] = {}
        self.junk: dict[str, list[str]] = {}
        for col in spec.columns.values():
            if col.type not in ("code", "codes"):
                continue
            inverse: dict[str, str] = {}
            for loc, std in sorted(local.get(col.name, {}).items()):
                inverse.setdefault(std, spelled.get(col.name, {}).get(loc, loc))
            self.local[col.name] = {code: inverse.get(code, code) for code in lists[col.code_list]}
            known = {c.casefold() for c in lists[col.code_list]} | set(local.get(col.name, {}))
            self.junk[col.name] = [j for j in pools.JUNK_CODES if j.casefold() not in known]
        self.case_columns = [c for c in self.local if spec.columns[c].codelist != "country"]
        letters = "".join(p[0] for p in pid.split("-")).upper()
        style = index % 3
        if style == 0:
            self._rid = lambda n: f"{letters}-{n:07d}"
        elif style == 1:
            self._rid = lambda n: f"{letters}{n:08d}"
        else:
            self._rid = lambda n: f"{letters.lower()}/{n}"
        self._case_letters = letters
        self.count = 0
        self.last_valid_id: str | None = None

    def date(self, ordinal: int) -> str:
        s = self._dates.get(ordinal)
        if s is None:
            s = self._dates[ordinal] = self._write_date(ordinal)
        return s

    def next_record_id(self) -> str:
        self.count += 1
        return self._rid(self.count)

    def case_id(self, year: int, number: int) -> str:
        return f"{self._case_letters}/{year}/{number + 1:05d}"

    def code(self, column: str, value: str) -> str:
        return self.local[column][value]

    def codes(self, column: str, values: list[str]) -> str:
        m = self.local[column]
        return m[values[0]] if len(values) == 1 else ";".join(m[v] for v in values)

    def vary_case(self, out: dict) -> None:
        """Now and then, one coded cell of the row in another letter case (`Female`, `f`)."""
        r = self.rng
        if r.random() < 0.05:
            col = self.case_columns[int(r.random() * len(self.case_columns))]
            v = out.get(col)
            if v:
                out[col] = v.capitalize() if v.islower() else v.lower()

    def names(self, given: str, family: str) -> tuple[str, str]:
        """The person's name as this provider happened to record it."""
        r = self.rng
        u = r.random()
        if u < 0.05:
            if given in pools.VARIANTS:
                v = pools.VARIANTS[given]
                given = v[r.randrange(len(v))]
            elif family in pools.VARIANTS:
                v = pools.VARIANTS[family]
                family = v[r.randrange(len(v))]
        elif u < 0.10:
            if r.random() < 0.5:
                family = _typo(r, family)
            else:
                given = _typo(r, given)
        if r.random() < 0.10:
            given = given.translate(pools.STRIP_ACCENTS)
            family = family.translate(pools.STRIP_ACCENTS)
        if r.random() < 0.10:
            given, family = family, given
        if r.random() < 0.01:
            given = ""
        return given, family

    def document(self, doc: str | None) -> str:
        if doc is None:
            return ""
        u = self.rng.random()
        if u < 0.08:
            return ""
        if u < 0.55:
            return doc
        if u < 0.70:
            return f"{doc[:2]} {doc[2:5]} {doc[5:]}"
        if u < 0.85:
            return f"{doc[:2]}-{doc[2:]}"
        return doc.lower()

    def impossible_date(self, year: int) -> str:
        """A date that does not exist (31 February, month 13, ...), in this provider's format."""
        m, d = [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (13, 1), (13, 12), (0, 10)][
            self.rng.randrange(9)
        ]
        if self.date_format == "YYYY-MM-DD":
            return f"{year:04d}-{m:02d}-{d:02d}"
        sep = "/" if self.date_format == "DD/MM/YYYY" else "."
        return f"{d:02d}{sep}{m:02d}{sep}{year:04d}"
