"""Tests of the synthetic sample generator: determinism, counts, codes, ground truth and file variants."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook

from schemas import standard
from synthetic.generator import generate

FEEDS = ("law-enforcement", "victim-assistance")
RULES = {
    "unmapped_code",
    "required",
    "invalid_date",
    "future_date",
    "birth_after_event",
    "assistance_before_identification",
    "child_flag_disagrees_with_age",
    "stage_dates_out_of_order",
    "sentence_without_conviction",
    "duplicate_record_id",
}
ROWS = 3000


def read_csv(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    seen: list[int] = []
    summary = generate(out, rows=ROWS, providers=3, seed=7, progress=seen.append)
    assert seen and seen[-1] == 2 * ROWS and seen == sorted(seen)
    return out, summary


@pytest.fixture(scope="module")
def files(sample) -> dict[tuple[str, str], list[dict]]:
    """Every provider CSV as a list of row dicts, keyed by (feed, provider)."""
    out, summary = sample
    result = {}
    for feed in FEEDS:
        for pid in summary["providers"][feed]:
            rows = read_csv(out / f"{feed}__{pid}.csv")
            assert rows[0] == list(standard.feed(feed).columns)
            result[feed, pid] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    return result


@pytest.fixture(scope="module")
def truth(sample) -> list[dict]:
    out, _ = sample
    with (out / "ground_truth" / "records.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def by_file(truth: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups = defaultdict(list)
    for t in truth:
        groups[t["feed"], t["provider"]].append(t)
    return groups


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, rows=400, providers=2, seed=3)
    time.sleep(1.1)  # a save time leaking into a file (xlsx metadata) would show
    generate(b, rows=400, providers=2, seed=3)
    generate(c, rows=400, providers=2, seed=4)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(n.suffix == ".xlsx" for n in names)
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    differ = [n for n in names if n.name != "summary.json" and (a / n).read_bytes() != (c / n).read_bytes()]
    assert len(differ) >= len(names) - 2


def test_provider_ids_and_exact_row_counts(sample, files):
    out, summary = sample
    assert summary["providers"] == {
        "law-enforcement": ["police-central", "police-north", "prosecution-service"],
        "victim-assistance": ["ngo-harbour", "ngo-lighthouse", "nrm-central"],
    }
    for feed in FEEDS:
        assert sum(len(files[feed, p]) for p in summary["providers"][feed]) == ROWS
        for p in summary["providers"][feed]:
            assert len(files[feed, p]) == summary["feeds"][feed]["providers"][p]["rows"] > 0
    le = [len(files["law-enforcement", p]) for p in summary["providers"]["law-enforcement"]]
    assert max(le) - min(le) <= 1


def test_more_providers_than_named(tmp_path):
    summary = generate(tmp_path, rows=700, providers=7, seed=1)
    assert summary["providers"]["law-enforcement"][-1] == "le-provider-7"
    assert summary["providers"]["victim-assistance"][5:] == ["va-provider-6", "va-provider-7"]
    for feed in FEEDS:
        total = sum(len(read_csv(tmp_path / f"{feed}__{p}.csv")) - 1 for p in summary["providers"][feed])
        assert total == 700


def test_ground_truth_matches_files_row_for_row(files, truth):
    groups = by_file(truth)
    assert set(groups) == set(files)
    for key, rows in files.items():
        assert [t["provider_record_id"] for t in groups[key]] == [r["provider_record_id"] for r in rows], key
    for t in truth:
        assert t["valid"] in ("0", "1")
        assert (t["valid"] == "0") == bool(t["defect"])
        assert not t["defect"] or t["defect"] in RULES
        assert t["sex"] in standard.codelists()["sex"]
        assert 2015 <= int(t["reporting_year"]) <= 2025


def test_coded_cells_are_standard_or_mapped(files, truth):
    lists = standard.codelists()
    groups = by_file(truth)
    unmapped = 0
    for (feed, pid), rows in files.items():
        mapping = standard.mapping(pid).codes
        coded = [c for c in standard.feed(feed).columns.values() if c.type in ("code", "codes")]
        for row, t in zip(rows, groups[feed, pid], strict=True):
            bad = []
            for col in coded:
                if not row[col.name]:
                    continue
                known = {c.casefold() for c in lists[col.codelist]} | set(mapping.get(col.name, {}))
                values = row[col.name].split(";") if col.type == "codes" else [row[col.name]]
                bad += [v for v in values if v.strip().casefold() not in known]
                if col.codelist == "country" and t["valid"] == "1":
                    assert row[col.name] == row[col.name].upper()
            if t["defect"] == "unmapped_code":
                assert len(bad) == 1, (row, t)
                unmapped += 1
            else:
                assert not bad, (row, t)
    assert unmapped > 0


def test_valid_rows_keep_the_rules(files, truth):
    """Spot-check the date rules on valid rows, parsing each provider's own format."""
    import datetime as dt

    def parse(s: str) -> dt.date:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(s, fmt).date()
            except ValueError:
                pass
        raise AssertionError(s)

    limit = dt.date(2026, 6, 30)
    groups = by_file(truth)
    for (feed, pid), rows in files.items():
        ids = set()
        for row, t in zip(rows, groups[feed, pid], strict=True):
            if t["valid"] == "1":
                assert row["provider_record_id"] not in ids
                dates = {
                    c: parse(row[c])
                    for c in standard.feed(feed).columns
                    if standard.feed(feed).columns[c].type == "date" and row[c]
                }
                assert all(d <= limit for d in dates.values())
                for c in standard.feed(feed).columns.values():
                    if c.required:
                        assert row[c.name], (c.name, row)
                event = dates.get("identification_date") or dates.get("investigation_date")
                if "date_of_birth" in dates:
                    assert dates["date_of_birth"] < event
                if feed == "victim-assistance" and "assistance_start_date" in dates:
                    assert dates["assistance_start_date"] >= event
                if feed == "law-enforcement":
                    chain = [dates.get(c) for c in ("investigation_date", "prosecution_date", "conviction_date")]
                    chain = [d for d in chain if d]
                    assert chain == sorted(chain)
                    assert max(chain).year == int(t["reporting_year"])
                    if row["sentence_months"]:
                        assert 6 <= int(row["sentence_months"]) <= 180 and row["conviction_date"]
                else:
                    assert dates["identification_date"].year == int(t["reporting_year"])
            elif t["defect"] == "duplicate_record_id":
                assert row["provider_record_id"] in ids
            ids.add(row["provider_record_id"])


def test_invalid_share_and_every_rule_used(truth):
    share = sum(t["valid"] == "0" for t in truth) / len(truth)
    assert 0.01 <= share <= 0.03
    used = {t["defect"] for t in truth if t["defect"]}
    assert used == RULES
    invalid_providers = {(t["feed"], t["provider"]) for t in truth if t["defect"]}
    assert len(invalid_providers) == 6


def test_same_person_across_providers_and_feeds_with_name_variation(files, truth):
    groups = by_file(truth)
    names: dict[str, set[tuple[str, str]]] = defaultdict(set)
    where: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, rows in files.items():
        for row, t in zip(rows, groups[key], strict=True):
            names[t["person_id"]].add((row["given_name"], row["family_name"]))
            where[t["person_id"]].add(key)
    multi_provider = [p for p, w in where.items() if len({k for k in w if k[0] == "victim-assistance"}) > 1]
    both_feeds = [p for p, w in where.items() if {k[0] for k in w} == set(FEEDS)]
    assert len(multi_provider) > 100 and len(both_feeds) > 20
    varied = [p for p in multi_provider + both_feeds if len(names[p]) > 1]
    assert len(varied) > 0.1 * len(set(multi_provider + both_feeds))
    suspects = {t["person_id"] for t in truth if t["person_role"] == "suspect"}
    victims = {t["person_id"] for t in truth if t["person_role"] == "victim"}
    assert suspects and not suspects & victims


def test_variants_hold_the_same_rows(sample):
    out, summary = sample
    stem = out / "victim-assistance__ngo-harbour"
    rows = read_csv(stem.with_suffix(".csv"))
    assert read_csv(out / "victim-assistance__ngo-harbour.cp1252.csv", encoding="cp1252") == rows
    raw = (out / "victim-assistance__ngo-harbour.cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # accents really are written as cp1252 bytes
    sheet = load_workbook(stem.with_suffix(".xlsx"), read_only=True).active
    assert [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)] == rows
    assert "victim-assistance__ngo-harbour.xlsx" in summary["files"]["written"]


def test_summary_equals_recount(sample, truth):
    out, summary = sample
    assert json.loads((out / "ground_truth" / "summary.json").read_text(encoding="utf-8")) == summary
    assert summary["seed"] == 7 and summary["rows"] == ROWS
    for feed in FEEDS:
        recs = [t for t in truth if t["feed"] == feed]
        s = summary["feeds"][feed]
        assert s["rows"] == len(recs) and s["valid_rows"] == sum(t["valid"] == "1" for t in recs)
        defects = Counter(t["defect"] for t in recs if t["defect"])
        assert s["defects"] == {k: defects.get(k, 0) for k in s["defects"]} and set(defects) <= set(s["defects"])
        for pid, p in s["providers"].items():
            mine = [t for t in recs if t["provider"] == pid]
            assert p["rows"] == len(mine) and p["valid_rows"] == sum(t["valid"] == "1" for t in mine)
        for year, y in s["years"].items():
            mine = [t for t in recs if t["reporting_year"] == year]
            valid = [t for t in mine if t["valid"] == "1"]
            assert y["rows"] == len(mine) and y["valid_rows"] == len(valid)
            assert y["distinct_persons"] == len({t["person_id"] for t in valid})
            by_sex = Counter(t["sex"] for t in valid if t["person_role"] == "victim")
            assert y["valid_victim_rows_by_sex"] == {s: by_sex.get(s, 0) for s in standard.codelists()["sex"]}
    pop = summary["population"]
    assert sum(pop["victims_per_year"].values()) == pop["victims"]
    va_persons = {t["person_id"] for t in truth if t["feed"] == "victim-assistance"}
    assert len(va_persons) < pop["victims"]  # some victims were seen by no provider
    for year, n in pop["victims_per_year"].items():
        seen = {t["person_id"] for t in truth if t["feed"] == "victim-assistance" and t["reporting_year"] == year}
        assert len(seen) <= n
    assert set(pop["detection_probability"]) == set(summary["providers"]["victim-assistance"])
    assert all(0 < p < 1 for p in pop["detection_probability"].values())


def test_trends(sample, truth):
    _, summary = sample
    per_year = summary["population"]["victims_per_year"]
    assert 1.5 < (per_year["2024"] + per_year["2025"]) / (per_year["2015"] + per_year["2016"]) < 2.6
    years = summary["feeds"]["victim-assistance"]["years"]

    def male_share(ys):
        m = sum(years[y]["valid_victim_rows_by_sex"]["male"] for y in ys)
        return m / sum(sum(years[y]["valid_victim_rows_by_sex"].values()) for y in ys)

    assert male_share(["2023", "2024", "2025"]) > male_share(["2015", "2016", "2017"]) + 0.1


def test_xlsx_skipped_above_limit(tmp_path, monkeypatch):
    import synthetic.generator as g

    monkeypatch.setattr(g, "XLSX_MAX_ROWS", 50)
    summary = generate(tmp_path, rows=300, providers=2, seed=2)
    assert not (tmp_path / "victim-assistance__ngo-harbour.xlsx").exists()
    assert (tmp_path / "victim-assistance__ngo-harbour.cp1252.csv").exists()
    assert summary["files"]["skipped"][0]["file"] == "victim-assistance__ngo-harbour.xlsx"


def test_single_provider_and_zero_rows(tmp_path):
    s = generate(tmp_path / "one", rows=150, providers=1, seed=5)
    assert s["feeds"]["victim-assistance"]["providers"]["ngo-harbour"]["rows"] == 150
    assert s["feeds"]["law-enforcement"]["providers"]["police-central"]["rows"] == 150
    z = generate(tmp_path / "zero", rows=0, providers=2, seed=5)
    assert z["feeds"]["law-enforcement"]["rows"] == 0
    with pytest.raises(ValueError):
        generate(tmp_path / "bad", rows=10, providers=0)
