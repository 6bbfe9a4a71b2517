"""Synthetic provider extracts of both feeds, with ground truth, streamed to disk from a seed."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import random
import re
import shutil
import zipfile
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

from schemas import standard
from synthetic.population import YEARS, Model, derive, split
from synthetic.providers import DATE_FORMATS, Provider, provider_ids

VA, LE = "victim-assistance", "law-enforcement"
XLSX_MAX_ROWS = 200_000
DEFECT_RATE = 0.015
PROGRESS_EVERY = 10_000
GROUND_TRUTH_COLUMNS = [
    "feed",
    "provider",
    "provider_record_id",
    "person_id",
    "person_role",
    "reporting_year",
    "sex",
    "valid",
    "defect",
]
DEFECTS = {
    VA: [
        "unmapped_code",
        "required",
        "invalid_date",
        "future_date",
        "birth_after_event",
        "assistance_before_identification",
        "child_flag_disagrees_with_age",
        "duplicate_record_id",
    ],
    LE: [
        "unmapped_code",
        "required",
        "invalid_date",
        "future_date",
        "birth_after_event",
        "stage_dates_out_of_order",
        "sentence_without_conviction",
        "duplicate_record_id",
    ],
}
IDENTIFIED_BY = ["police", "ngo", "nrm", "labour_inspection", "social_services", "self", "other", "unknown"]
_IDENTIFIED_CUM = [w / 100 for w in accumulate([35, 20, 12, 10, 10, 7, 4])]
CONTROL = [
    "debt_bondage",
    "physical_violence",
    "psychological_abuse",
    "document_withholding",
    "restriction_of_movement",
    "false_promises",
    "withholding_earnings",
    "abuse_of_vulnerability",
    "unknown",
]
DURATIONS = ["under_1_month", "1_to_6_months", "6_to_12_months", "1_to_2_years", "over_2_years", "unknown"]
RECRUITERS = ["intimate_partner", "family_member", "friend", "acquaintance", "employer", "stranger", "unknown"]
SECTOR_OF_FORM = {"sexual": "sex_industry", "begging": "street", "forced_criminality": "street"}
LABOUR_SECTORS = ["agriculture", "construction", "domestic_work", "hospitality", "manufacturing", "retail"]
SERVICES = [
    "shelter",
    "medical",
    "psychological",
    "legal",
    "reflection_period",
    "residence_permit",
    "compensation",
    "return",
    "reintegration",
]
FIXED_TIME = (2026, 1, 1, 0, 0, 0)
FUTURE_DATE = dt.date(2090, 1, 1).toordinal()


class _Output:
    """The files of one provider: its CSV (plus variants) and its part of the ground truth."""

    def __init__(self, out_dir: Path, gt_dir: Path, prov: Provider, columns: list[str], variants: bool, xlsx: bool):
        self.name = f"{prov.feed}__{prov.id}"
        self.files = [out_dir / f"{self.name}.csv"]
        self._handles = [(out_dir / f"{self.name}.csv").open("w", encoding="utf-8", newline="")]
        if variants:
            self.files.append(out_dir / f"{self.name}.cp1252.csv")
            self._handles.append(self.files[-1].open("w", encoding="cp1252", newline=""))
        self.writers = [csv.writer(h, lineterminator="\n") for h in self._handles]
        self.gt_path = gt_dir / f".{self.name}.part.csv"
        self._gt = self.gt_path.open("w", encoding="utf-8", newline="")
        self.gt = csv.writer(self._gt, lineterminator="\n")
        xlsx_path = out_dir / f"{self.name}.xlsx"
        self.xlsx_path = xlsx_path if xlsx else None
        self._wb = self._ws = None
        if xlsx:
            from openpyxl import Workbook

            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet(prov.feed)
            self.files.append(xlsx_path)
        for w in self.writers:
            w.writerow(columns)
        if self._ws is not None:
            self._ws.append(columns)

    def write(self, values: list[str]) -> None:
        for w in self.writers:
            w.writerow(values)
        if self._ws is not None:
            self._ws.append(values)

    def close(self) -> None:
        for h in self._handles:
            h.close()
        self._gt.close()
        if self._wb is not None and self.xlsx_path is not None:
            stamp = dt.datetime(*FIXED_TIME)
            self._wb.properties.created = self._wb.properties.modified = stamp
            tmp = self.xlsx_path.with_suffix(".tmp.xlsx")
            self._wb.save(tmp)
            _restamp_zip(tmp, self.xlsx_path)
            tmp.unlink()


def _restamp_zip(src: Path, dst: Path) -> None:
    """Copy a zip with fixed entry and document times so that the same seed gives the same bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            new.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time into it
                xml = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", zin.read(info)
                )
                zout.writestr(new, xml)
                continue
            with zin.open(info) as fin, zout.open(new, "w") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)


class _Counts:
    """Small running totals for summary.json."""

    def __init__(self, feed: str, providers: list[str], sexes: list[str]):
        self.providers = {p: {"rows": 0, "valid_rows": 0} for p in providers}
        self.years: dict[int, dict[str, Any]] = {
            y: {
                "rows": 0,
                "valid_rows": 0,
                "distinct_persons": 0,
                "valid_victim_rows_by_sex": dict.fromkeys(sexes, 0),
            }
            for y in YEARS
        }
        self.defects = dict.fromkeys(DEFECTS[feed], 0)

    def add(self, provider: str, year: int, role: str, sex: str, defect: str) -> None:
        p, y = self.providers[provider], self.years[year]
        p["rows"] += 1
        y["rows"] += 1
        if defect:
            self.defects[defect] += 1
        else:
            p["valid_rows"] += 1
            y["valid_rows"] += 1
            if role == "victim":
                y["valid_victim_rows_by_sex"][sex] += 1


class _Generator:
    def __init__(self, out_dir: Path, rows: int, providers: int, seed: int, progress: Callable[[int], None] | None):
        if rows < 0 or providers < 1:
            raise ValueError("rows must be >= 0 and providers >= 1")
        self.out_dir, self.gt_dir = out_dir, out_dir / "ground_truth"
        self.rows, self.seed, self.progress = rows, seed, progress
        self.written = 0
        self.lists = standard.codelists()
        self.spec = {f: standard.feed(f) for f in (VA, LE)}
        self.columns = {f: list(self.spec[f].columns) for f in (VA, LE)}
        self.coded = {
            f: [c.name for c in self.spec[f].columns.values() if c.type in ("code", "codes")] for f in (VA, LE)
        }
        self.required = {
            f: [c.name for c in self.spec[f].columns.values() if c.required and c.name != "provider_record_id"]
            for f in (VA, LE)
        }
        self.dates = {f: [c.name for c in self.spec[f].columns.values() if c.type == "date"] for f in (VA, LE)}
        rng = random.Random(derive(seed, "setup"))
        self.providers: dict[str, list[Provider]] = {}
        for feed in (VA, LE):
            formats = DATE_FORMATS[:]
            rng.shuffle(formats)
            self.providers[feed] = [
                Provider(feed, pid, k, seed, formats[k % len(formats)])
                for k, pid in enumerate(provider_ids(feed, providers))
            ]
        # Victim assistance: each provider sees each victim with its own probability; the row quota of a
        # provider is its share of `rows` by that probability, and the population is sized to match.
        self.detection_nominal = [round(rng.uniform(0.2, 0.55), 2) for _ in self.providers[VA]]
        self.va_rows = split(rows, self.detection_nominal)
        self.victims = -(-rows * 100 // round(sum(self.detection_nominal) * 100)) if rows else 0
        self.victims = max(self.victims, max(self.va_rows, default=0))
        self.model = Model(seed, self.victims)
        # Law enforcement: even row split; each provider records a case with its own probability.
        self.le_rows = split(rows, [1.0] * providers)
        self.case_prob = [round(rng.uniform(0.45, 0.9), 2) for _ in self.providers[LE]]
        self.counts = {f: _Counts(f, [p.id for p in self.providers[f]], list(self.lists["sex"])) for f in (VA, LE)}

    # -- shared -------------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.written += 1
        if self.progress is not None and self.written % PROGRESS_EVERY == 0:
            self.progress(self.written)

    def _person_cells(self, prov: Provider, person: dict, out: dict) -> None:
        rnd = prov.rng.random
        local = prov.local
        out["given_name"], out["family_name"] = prov.names(person["given_name"], person["family_name"])
        out["date_of_birth"] = prov.date(person["dob"]) if rnd() < 0.95 else ""
        out["document_number"] = prov.document(person["document_number"])
        phone = person["phone"]
        if phone:
            out["phone"] = phone.replace(" ", "") if rnd() < 0.3 else phone
        addr = person["address"]
        if addr is not None:
            out["address"] = addr[0] if rnd() < 0.05 else f"{addr[0]}, {addr[1]}"
        out["sex"] = local["sex"][person["sex"]]
        out["citizenship"] = local["citizenship"][person["citizenship"]]
        out["exploitation_form"] = prov.codes("exploitation_form", person["forms"])

    def _emit(
        self, feed: str, prov: Provider, output: _Output, out: dict, person: dict, year: int, defect: str
    ) -> bool:
        prov.vary_case(out)
        if defect:
            self._defect(feed, prov, out, defect)
        else:
            prov.last_valid_id = out["provider_record_id"]
        output.write([out.get(c, "") for c in self.columns[feed]])
        output.gt.writerow(
            [
                feed,
                prov.id,
                out["provider_record_id"],
                person["person_id"],
                person["person_role"],
                year,
                person["sex"],
                0 if defect else 1,
                defect,
            ]
        )
        self.counts[feed].add(prov.id, year, person["person_role"], person["sex"], defect)
        self._tick()
        return not defect

    def _pick_defect(self, feed: str, prov: Provider, out: dict) -> str:
        if prov.rng.random() >= DEFECT_RATE:
            return ""
        options = DEFECTS[feed]
        while True:
            d = options[prov.rng.randrange(len(options))]
            if d == "duplicate_record_id" and prov.last_valid_id is None:
                continue
            if d == "stage_dates_out_of_order" and not out.get("_prosecution"):
                continue
            if d == "sentence_without_conviction" and out.get("_stage") == "convicted":
                continue
            return d

    def _defect(self, feed: str, prov: Provider, out: dict, defect: str) -> None:
        """Break exactly one rule in the row's cells, leaving every other rule satisfied."""
        r = prov.rng
        no_stage = bool(out.get("sentence_months"))  # a blank or unknown stage with a sentence breaks two rules
        if defect == "unmapped_code":
            cols = [c for c in self.coded[feed] if not (c == "stage" and no_stage)]
            col = cols[r.randrange(len(cols))]
            junk = prov.junk[col]
            out[col] = junk[r.randrange(len(junk))]
        elif defect == "required":
            cols = [c for c in self.required[feed] if not (c == "stage" and no_stage)]
            out[cols[r.randrange(len(cols))]] = ""
        elif defect == "invalid_date":
            cols = [c for c in self.dates[feed] if out.get(c)]
            out[cols[r.randrange(len(cols))]] = prov.impossible_date(YEARS[r.randrange(len(YEARS))])
        elif defect == "future_date":
            # Far ahead, so that the row stays in the future whenever the sample is validated.
            future = prov.date(FUTURE_DATE + r.randrange(1, 900))
            if feed == VA:
                out["assistance_start_date" if out.get("assistance_start_date") else "identification_date"] = future
            else:
                chain = ("conviction_date", "prosecution_date", "investigation_date")
                out[next(c for c in chain if out.get(c))] = future
        elif defect == "birth_after_event":
            out["date_of_birth"] = prov.date(out["_event"] + r.randrange(1, 150))
        elif defect == "assistance_before_identification":
            out["assistance_start_date"] = prov.date(out["_event"] - r.randrange(1, 90))
        elif defect == "stage_dates_out_of_order":
            if out.get("_conviction") and r.random() < 0.5:
                out["conviction_date"] = prov.date(out["_prosecution"] - r.randrange(1, 100))
            else:
                out["prosecution_date"] = prov.date(out["_event"] - r.randrange(1, 100))
        elif defect == "sentence_without_conviction":
            out["sentence_months"] = str(r.randrange(6, 181))
        elif defect == "child_flag_disagrees_with_age":
            if not out["date_of_birth"]:
                out["date_of_birth"] = prov.date(out["_dob"])
            out["is_child"] = prov.local["is_child"]["no" if out["_child"] else "yes"]
        elif defect == "duplicate_record_id":
            out["provider_record_id"] = prov.last_valid_id

    # -- victim assistance --------------------------------------------------------------------------

    def _va_row(self, prov: Provider, person: dict) -> dict:
        rnd = prov.rng.random
        local = prov.local
        out = {"provider_record_id": prov.next_record_id()}
        self._person_cells(prov, person, out)
        ident = person["identification"]
        out["identification_date"] = prov.date(ident)
        out["identified_by"] = local["identified_by"][IDENTIFIED_BY[bisect.bisect(_IDENTIFIED_CUM, rnd())]]
        u = rnd()
        out["identification_status"] = local["identification_status"][
            "formal" if u < 0.55 else ("presumed" if u < 0.98 else "unknown")
        ]
        out["country_of_exploitation"] = local["country_of_exploitation"][person["country_of_exploitation"]]
        if rnd() < 0.85:
            out["assistance_start_date"] = prov.date(ident + int(rnd() * 60))
        if rnd() < 0.8:
            first = int(rnd() * len(SERVICES))
            chosen = [SERVICES[first]]
            if rnd() < 0.5:
                chosen.append(SERVICES[(first + 1 + int(rnd() * 4)) % len(SERVICES)])
            out["services"] = ";".join(f"{s}:{'state' if rnd() < 0.4 else 'non_state'}" for s in chosen)
        self._va_profile(prov, person, out)
        out["_event"] = ident
        return out

    def _va_profile(self, prov: Provider, person: dict, out: dict) -> None:
        """The optional disaggregations: child flag, means of control, duration, recruiter, sector."""
        rnd, local = prov.rng.random, prov.local
        born, identified = dt.date.fromordinal(person["dob"]), dt.date.fromordinal(person["identification"])
        age = identified.year - born.year - ((identified.month, identified.day) < (born.month, born.day))
        out["_dob"], out["_child"] = person["dob"], age < 18
        if rnd() < 0.6:
            out["is_child"] = local["is_child"]["yes" if age < 18 else "no"]
        if rnd() < 0.7:
            picks = {CONTROL[int(rnd() * len(CONTROL))] for _ in range(1 + (rnd() < 0.4))}
            out["means_of_control"] = prov.codes("means_of_control", sorted(picks))
        for column, codes, share in (
            ("exploitation_duration", DURATIONS, 0.75),
            ("recruiter_relationship", RECRUITERS, 0.7),
            ("referred_by", IDENTIFIED_BY, 0.5),
        ):
            if rnd() < share:
                out[column] = local[column][codes[int(rnd() * len(codes))]]
        if rnd() < 0.7:
            sector = SECTOR_OF_FORM.get(person["forms"][0]) or LABOUR_SECTORS[int(rnd() * len(LABOUR_SECTORS))]
            out["economic_sector"] = local["economic_sector"][sector]
        if rnd() < 0.4:
            out["disability"] = local["disability"]["yes" if rnd() < 0.1 else "no"]

    def _victim_assistance(self) -> list[_Output]:
        provs = self.providers[VA]
        outputs = [
            _Output(
                self.out_dir,
                self.gt_dir,
                p,
                self.columns[VA],
                variants=(k == 0),
                xlsx=(k == 0 and self.va_rows[0] <= XLSX_MAX_ROWS),
            )
            for k, p in enumerate(provs)
        ]
        need = list(self.va_rows)
        sel = [p.select_rng.random for p in provs]
        ks = range(len(provs))
        n = self.victims
        years = self.counts[VA].years
        model = self.model
        for year in YEARS:
            start = model.year_start[year]
            distinct = 0
            for i in range(start, start + model.victims_per_year[year]):
                remaining = n - i
                # Selection sampling: exactly need[k] of the remaining persons, each equally likely.
                seen = [k for k in ks if need[k] and sel[k]() * remaining < need[k]]
                if not seen:
                    continue
                person = model.victim(i, year)
                any_valid = False
                for k in seen:
                    need[k] -= 1
                    prov = provs[k]
                    out = self._va_row(prov, person)
                    any_valid |= self._emit(VA, prov, outputs[k], out, person, year, self._pick_defect(VA, prov, out))
                distinct += any_valid
            years[year]["distinct_persons"] = distinct
        assert not any(need), need
        return outputs

    # -- law enforcement ----------------------------------------------------------------------------

    def _le_row(self, prov: Provider, person: dict, case: dict, number: int, sentence: int | None) -> dict:
        out = {"provider_record_id": prov.next_record_id()}
        self._person_cells(prov, person, out)
        out["case_id"] = prov.case_id(case["year"], number)
        local = prov.local
        out["person_role"] = local["person_role"][person["person_role"]]
        out["stage"] = local["stage"][case["stage"]]
        out["offence"] = local["offence"][case["offence"]]
        out["investigation_date"] = prov.date(case["investigation"])
        if case["prosecution"] is not None:
            out["prosecution_date"] = prov.date(case["prosecution"])
        if case["conviction"] is not None:
            out["conviction_date"] = prov.date(case["conviction"])
        if sentence is not None and case["stage"] == "convicted" and person["person_role"] == "suspect":
            out["sentence_months"] = str(sentence)
        out.update(
            _event=case["investigation"],
            _prosecution=case["prosecution"],
            _conviction=case["conviction"],
            _stage=case["stage"],
        )
        return out

    def _law_enforcement(self) -> list[_Output]:
        provs = self.providers[LE]
        outputs = [_Output(self.out_dir, self.gt_dir, p, self.columns[LE], False, False) for p in provs]
        quotas = [split(q, list(self.model.year_weight.values())) for q in self.le_rows]
        model = self.model
        suspect_next = 0
        for y, year in enumerate(YEARS):
            need = [q[y] for q in quotas]
            victim_next = model.year_start[year]
            victim_end = victim_next + model.victims_per_year[year]
            distinct = 0
            number = 0
            while any(need):
                case = model.case(year, number)
                takers = [k for k, p in enumerate(provs) if need[k] and p.select_rng.random() < self.case_prob[k]]
                n_victims = min(case["victims"], victim_end - victim_next)
                if takers:
                    members = [
                        (model.suspect(suspect_next + j, case["investigation"], case["forms"]), s)
                        for j, s in enumerate(case["sentences"])
                    ]
                    members += [(model.victim(victim_next + j, year), None) for j in range(n_victims)]
                    valid_ids = set()
                    for k in takers:
                        prov = provs[k]
                        for person, sentence in members[: need[k]]:
                            out = self._le_row(prov, person, case, number, sentence)
                            if self._emit(LE, prov, outputs[k], out, person, year, self._pick_defect(LE, prov, out)):
                                valid_ids.add(person["person_id"])
                        need[k] -= min(need[k], len(members))
                    distinct += len(valid_ids)
                suspect_next += case["suspects"]
                victim_next += n_victims
                number += 1
            self.counts[LE].years[year]["distinct_persons"] = distinct
        return outputs

    # -- the whole run ------------------------------------------------------------------------------

    def run(self) -> dict:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.gt_dir.mkdir(exist_ok=True)
        outputs: list[_Output] = []
        try:
            outputs += self._victim_assistance()
            outputs += self._law_enforcement()
        finally:
            for o in outputs:
                o.close()
        records = self.gt_dir / "records.csv"
        with records.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerow(GROUND_TRUTH_COLUMNS)
            for o in outputs:
                with o.gt_path.open(encoding="utf-8", newline="") as part:
                    shutil.copyfileobj(part, f, 1 << 20)
                o.gt_path.unlink()
        if self.progress is not None:
            self.progress(self.written)
        summary = self._summary(outputs)
        summary["files"]["written"] += ["ground_truth/records.csv", "ground_truth/summary.json"]
        (self.gt_dir / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return summary

    def _summary(self, outputs: list[_Output]) -> dict:
        skipped = []
        if self.va_rows[0] > XLSX_MAX_ROWS:
            skipped.append(
                {
                    "file": f"{VA}__{self.providers[VA][0].id}.xlsx",
                    "reason": f"{self.va_rows[0]} rows is more than {XLSX_MAX_ROWS}",
                }
            )
        feeds: dict[str, Any] = {}
        for feed in (VA, LE):
            c = self.counts[feed]
            feeds[feed] = {
                "rows": sum(p["rows"] for p in c.providers.values()),
                "valid_rows": sum(p["valid_rows"] for p in c.providers.values()),
                "defects": c.defects,
                "providers": {p.id: {**c.providers[p.id], "date_format": p.date_format} for p in self.providers[feed]},
                "years": {str(y): v for y, v in c.years.items()},
            }
        for k, p in enumerate(self.providers[LE]):
            feeds[LE]["providers"][p.id]["case_probability"] = self.case_prob[k]
        return {
            "seed": self.seed,
            "rows": self.rows,
            "providers": {f: [p.id for p in self.providers[f]] for f in (LE, VA)},
            "feeds": feeds,
            "population": {
                "victims": self.victims,
                "victims_per_year": {str(y): v for y, v in self.model.victims_per_year.items()},
                "detection_probability": {
                    p.id: round(self.va_rows[k] / self.victims, 6) if self.victims else 0.0
                    for k, p in enumerate(self.providers[VA])
                },
            },
            "files": {"written": [f.name for o in outputs for f in o.files], "skipped": skipped},
        }


def generate(
    out_dir: Path,
    rows: int = 2000,
    providers: int = 3,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write synthetic extracts of both feeds and their ground truth to `out_dir`; return the summary.

    `rows` data rows per feed, over `providers` providers of each feed; the same arguments give the same
    bytes. `progress(n)` is called now and then with the number of data rows written so far (both feeds).
    """
    return _Generator(Path(out_dir), rows, providers, seed, progress).run()
