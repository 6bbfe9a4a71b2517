"""The simulated true population: yearly trends, victims and suspects, each rebuilt from (seed, index)."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import random
from itertools import accumulate

from synthetic import pools

YEARS = list(range(2015, 2026))
FORMS = [
    "sexual",
    "forced_labour",
    "forced_criminality",
    "begging",
    "servitude",
    "forced_marriage",
    "slavery",
    "organ_removal",
    "illegal_adoption",
    "other",
    "unknown",
]
_CITIZENSHIPS = list(pools.GROUPS)
_CIT_CUM = list(accumulate(g[0] for g in pools.GROUPS.values()))
_SUSPECT_CIT_CUM = list(accumulate((45 if c == pools.HOME else g[0]) for c, g in pools.GROUPS.items()))
_REGIONS = list(pools.TOWNS)
_REGION_LABEL = {r: r.capitalize() for r in _REGIONS}
_DOC_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_JAN1 = {y: dt.date(y, 1, 1).toordinal() for y in range(2000, 2031)}


def derive(seed: int, *parts: object) -> int:
    """A 64-bit integer derived from the seed and a label, stable across runs and platforms."""
    text = "|".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def split(total: int, weights: list[float]) -> list[int]:
    """`total` split over `weights` by the largest remainder; the parts sum to `total` exactly."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


class Model:
    """Year trends and the person factory for one seed."""

    def __init__(self, seed: int, victims: int):
        rng = random.Random(derive(seed, "trend"))
        self.seed = seed
        # Victims per year roughly double over the decade, with +-10% noise.
        self.year_weight = {y: (1 + (y - YEARS[0]) / 10) * rng.uniform(0.9, 1.1) for y in YEARS}
        self.victims_per_year = dict(zip(YEARS, split(victims, list(self.year_weight.values())), strict=True))
        self.year_start = dict(zip(YEARS, accumulate([0, *self.victims_per_year.values()]), strict=False))
        self._starts = [self.year_start[y] for y in YEARS]
        self.male_share = {y: 0.22 + 0.025 * (y - YEARS[0]) + rng.uniform(-0.02, 0.02) for y in YEARS}
        self.form_cum = {}
        for y in YEARS:
            t = y - YEARS[0]
            w = [0.60 - 0.025 * t, 0.16 + 0.025 * t, 0.07, 0.04, 0.02, 0.02, 0.01, 0.004, 0.004, 0.02, 0.03]
            self.form_cum[y] = list(accumulate(w))
        self._victim_base = derive(seed, "victim") << 64
        self._suspect_base = derive(seed, "suspect") << 64
        self._case_base = derive(seed, "case") << 64
        self._r = random.Random()

    def year_of(self, index: int) -> int:
        return YEARS[bisect.bisect_right(self._starts, index) - 1]

    # -- persons -------------------------------------------------------------------------------

    def _identity(self, r: random.Random, sex: str, cit_cum: list[float]) -> dict:
        rnd = r.random
        cit = _CITIZENSHIPS[bisect.bisect(cit_cum, rnd() * cit_cum[-1])]
        _, fem, mal, fam, phone = pools.GROUPS[cit]
        given_pool = fem if sex == "female" or (sex not in ("male", "female") and rnd() < 0.5) else mal
        doc = None
        if rnd() < 0.6:
            a, b = _DOC_LETTERS[int(rnd() * 23)], _DOC_LETTERS[int(rnd() * 23)]
            doc = f"{a}{b}{1000000 + int(rnd() * 9000000)}"
        ph = f"{phone}{1000000 + int(rnd() * 9000000)}" if rnd() < 0.65 else None
        addr = None
        if rnd() < 0.7:
            region = _REGIONS[int(rnd() * 5)]
            towns = pools.TOWNS[region]
            town = towns[int(rnd() * len(towns))]
            street = pools.STREETS[int(rnd() * len(pools.STREETS))]
            pc = f"{1000 + int(rnd() * 9000)} {chr(65 + int(rnd() * 26))}{chr(65 + int(rnd() * 26))}"
            addr = (f"{1 + int(rnd() * 249)} {street}, {pc} {town}", _REGION_LABEL[region])
        return {
            "citizenship": cit,
            "given_name": given_pool[int(rnd() * len(given_pool))],
            "family_name": fam[int(rnd() * len(fam))],
            "document_number": doc,
            "phone": ph,
            "address": addr,
        }

    def victim(self, index: int, year: int | None = None) -> dict:
        """Victim number `index` (0-based) of the true population; person_id = index + 1."""
        if year is None:
            year = self.year_of(index)
        r = self._r
        r.seed(self._victim_base | index)
        rnd = r.random
        u = rnd()
        if u < self.male_share[year]:
            sex = "male"
        elif u < 0.985:
            sex = "female"
        else:
            sex = "other" if u < 0.9925 else "unknown"
        age = 8 + int(rnd() * 10) if rnd() < 0.15 else int(r.triangular(18, 66, 23))
        ident = _JAN1[year] + int(rnd() * 365)
        p = self._identity(r, sex, _CIT_CUM)
        cit = p["citizenship"]
        if cit == pools.HOME:
            coe = pools.HOME if rnd() < 0.95 else pools.ABROAD[int(rnd() * len(pools.ABROAD))]
        else:
            v = rnd()
            coe = pools.HOME if v < 0.85 else (cit if v < 0.93 else pools.ABROAD[int(rnd() * len(pools.ABROAD))])
        cum = self.form_cum[year]
        forms = [FORMS[bisect.bisect(cum, rnd() * cum[-1])]]
        if rnd() < 0.15:
            second = FORMS[bisect.bisect(cum, rnd() * cum[-1])]
            if second != forms[0]:
                forms.append(second)
        p.update(
            person_id=index + 1,
            person_role="victim",
            year=year,
            sex=sex,
            dob=ident - int(age * 365.25) - 1 - int(rnd() * 364),
            identification=ident,
            country_of_exploitation=coe,
            forms=forms,
        )
        return p

    def suspect(self, index: int, investigation: int, forms: list[str]) -> dict:
        """Suspect number `index` (0-based, in case order); ids start at 1,000,000,001."""
        r = self._r
        r.seed(self._suspect_base | index)
        u = r.random()
        sex = "male" if u < 0.75 else ("female" if u < 0.99 else "unknown")
        age = int(r.triangular(18, 71, 32))
        p = self._identity(r, sex, _SUSPECT_CIT_CUM)
        p.update(
            person_id=1_000_000_001 + index,
            person_role="suspect",
            sex=sex,
            forms=forms,
            dob=investigation - int(age * 365.25) - r.randrange(1, 365),
        )
        return p

    # -- criminal cases ------------------------------------------------------------------------

    def case(self, year: int, number: int) -> dict:
        """Case `number` of the cases whose latest stage date falls in `year`."""
        r = self._r
        r.seed(self._case_base | (year << 40) | number)
        u = r.random()
        stage = "convicted" if u < 0.3 else ("prosecuted" if u < 0.5 else "investigated")
        last = dt.date(year, 1, 1).toordinal() + r.randrange(365)
        inv = pro = con = None
        if stage == "convicted":
            con = last
            pro = con - r.randrange(60, 540)
            inv = pro - r.randrange(30, 365)
        elif stage == "prosecuted":
            pro = last
            inv = pro - r.randrange(30, 365)
        else:
            inv = last
        o = r.random()
        offence = "trafficking" if o < 0.8 else ("related" if o < 0.98 else "unknown")
        cum = self.form_cum[year]
        forms = [FORMS[bisect.bisect(cum, r.random() * cum[-1])]]
        suspects = 1 + (r.random() >= 0.5) + (r.random() >= 0.6)
        v = r.random()
        victims = 0 if v < 0.3 else (1 if v < 0.7 else (2 if v < 0.9 else 3))
        sentences = [r.randrange(6, 181) if r.random() < 0.95 else None for _ in range(suspects)]
        return {
            "year": year,
            "stage": stage,
            "investigation": inv,
            "prosecution": pro,
            "conviction": con,
            "offence": offence,
            "forms": forms,
            "suspects": suspects,
            "victims": victims,
            "sentences": sentences,
        }
