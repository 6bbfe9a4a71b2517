"""Linkage quality on generated samples: pairwise recall and precision of link_records against ground truth.

Usage: python benchmarks/linkage_quality.py [--rows 20000] [--providers 3] [--seeds 1 2 3] [--scale 1000000]
       [--no-write]

For each seed: generate a sample, validate and pseudonymise every provider CSV of both feeds in memory,
keep the victims (law-enforcement rows with person_role victim, and every victim-assistance row), link
them all together and compare the clusters with the true persons. Pairs are counted from a contingency
table (sum of n*(n-1)/2 per cluster, per person and per cluster-person cell), never enumerated. With
--scale N, link_records is also timed on N records (copies of the samples with tokens salted per copy).
Writes docs/linkage.md (the rule, the normalisation and the results) unless --no-write.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from application.steps import validate_file  # noqa: E402
from privacy.keys import Keyring  # noqa: E402
from privacy.linkage import LINKAGE_RULE, link_records  # noqa: E402
from privacy.pseudonymise import pseudonymise  # noqa: E402
from synthetic.generator import generate  # noqa: E402

FEEDS = ("victim-assistance", "law-enforcement")
DOC = ROOT / "docs" / "linkage.md"


def test_keyring() -> Keyring:
    return Keyring({1: b"\x01" * 32}, 1, False)


def victim_records(sample_dir: Path, keyring: Keyring | None = None) -> pa.Table:
    """The pseudonymised victim records of every provider CSV of a generated sample, with their true person.

    Columns: record_key, document_token, name_dob_token, skeleton_token, event_token, sex, birth_year,
    person_id.
    """
    keyring = keyring or test_keyring()
    sample_dir = Path(sample_dir)
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE truth AS SELECT feed, provider, provider_record_id, person_id "
            "FROM read_csv(?, all_varchar = true) WHERE valid = '1'",
            [str(sample_dir / "ground_truth" / "records.csv")],
        )
        parts = []
        for feed in FEEDS:
            for path in sorted(sample_dir.glob(f"{feed}__*.csv")):
                if path.name.count(".") > 1:  # the cp1252 copy of the first provider's file
                    continue
                provider = path.stem.split("__", 1)[1]
                valid = validate_file(path, feed, provider).valid
                stored = pseudonymise(valid, feed, provider, keyring)
                ids = valid.select(["_row", "provider_record_id"])
                con.register("stored", stored)
                con.register("ids", ids)
                role = "person_role = 'victim'" if feed == "law-enforcement" else "true"
                parts.append(
                    con.execute(
                        f"""
                    SELECT $feed || '|' || $provider || '|' || s.row_number AS record_key,
                           s.document_token, s.name_dob_token, s.skeleton_token, s.event_token, s.sex, s.birth_year,
                           t.person_id::BIGINT AS person_id
                    FROM stored s JOIN ids i ON i._row = s.row_number
                    JOIN truth t ON t.feed = $feed AND t.provider = $provider
                                AND t.provider_record_id = i.provider_record_id
                    WHERE {role}
                    """,
                        {"feed": feed, "provider": provider},
                    ).to_arrow_table()
                )
                con.unregister("stored")
                con.unregister("ids")
        return pa.concat_tables(parts)
    finally:
        con.close()


def pair_quality(records: pa.Table, links: pa.Table) -> dict:
    """Pairwise recall and precision of `links` (record_key, person_key) against records' person_id."""
    con = duckdb.connect()
    try:
        con.register("records", records)
        con.register("links", links)
        row = con.execute("""
            WITH j AS (SELECT l.person_key, r.person_id FROM records r JOIN links l USING (record_key)),
            cell AS (SELECT count(*)::HUGEINT AS n FROM j GROUP BY person_key, person_id),
            clu AS (SELECT count(*)::HUGEINT AS n FROM j GROUP BY person_key),
            per AS (SELECT count(*)::HUGEINT AS n FROM j GROUP BY person_id)
            SELECT (SELECT count(*) FROM j),
                   (SELECT count(*) FROM per), (SELECT count(*) FROM clu),
                   (SELECT sum(n * (n - 1) / 2) FROM cell),
                   (SELECT sum(n * (n - 1) / 2) FROM clu),
                   (SELECT sum(n * (n - 1) / 2) FROM per)
        """).fetchone()
    finally:
        con.close()
    n, persons, clusters, tp, predicted, true = (int(v or 0) for v in row)
    return {
        "records": n,
        "persons": persons,
        "clusters": clusters,
        "true_pairs": true,
        "predicted_pairs": predicted,
        "true_positive_pairs": tp,
        "recall": tp / true if true else 1.0,
        "precision": tp / predicted if predicted else 1.0,
    }


def link(records: pa.Table) -> tuple[pa.Table, float]:
    con = duckdb.connect()
    try:
        con.register("records", records)
        start = time.perf_counter()
        links = link_records(con, "SELECT * FROM records")
        return links, time.perf_counter() - start
    finally:
        con.close()


def scaled(samples: list[pa.Table], target: int) -> pa.Table:
    """About `target` records: copies of the samples whose tokens are salted per copy (no cross-copy links)."""
    base = pa.concat_tables([s.drop_columns(["person_id"]) for s in samples])
    copies = -(-target // base.num_rows)
    con = duckdb.connect()
    try:
        con.register("base", base)
        return con.execute(f"""
            SELECT c || '|' || record_key AS record_key,
                   c || document_token AS document_token, c || name_dob_token AS name_dob_token,
                   c || skeleton_token AS skeleton_token, c || event_token AS event_token, sex, birth_year
            FROM base, range({copies}) t(c) LIMIT {target}
        """).to_arrow_table()
    finally:
        con.close()


HEADER = (
    "| sample | records | true persons | clusters | true pairs | predicted pairs | correct pairs | recall "
    "| precision | link seconds |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _fmt(q: dict) -> str:
    return (
        f"| {q['label']} | {q['records']:,} | {q['persons']:,} | {q['clusters']:,} | {q['true_pairs']:,} | "
        f"{q['predicted_pairs']:,} | {q['true_positive_pairs']:,} | {q['recall']:.4f} | {q['precision']:.4f} | "
        f"{q['seconds']:.2f} |"
    )


NORMALISATION = """\
All normalisation runs as DuckDB SQL inside `pseudonymise` (`privacy/normalise.py`), then the result is
hashed with HMAC-SHA256 under the victim-linkage key (suspects: the suspect-linkage key), also in SQL.

- **Name cleaning** (`clean_sql`): lower case; letters that Unicode decomposition keeps (ø, æ, œ, ß, đ, ł,
  þ, ð, ı) rewritten to ASCII; accents stripped; anything other than a-z becomes one space.
- **Particles** (`glue_particles_sql`): within one field, a particle (al, el, de, van, der, da, ben, ait,
  ...) followed by another word is glued to it, so `El Amrani`, `Elamrani`, `Al-Masri`, `de Vries`,
  `DeVries` give one word each.
- **Transliteration** (`translit_sql`): ph->f, kh->h, ks->x, ou->u, oo->u, ee->i, y->i, w->v, dj->j,
  tch->ch, ck->k, q->k.
- **Name words** (`name_parts_sql`): the words of both fields, sorted, so a swapped given and family name
  agree.
- **Error-tolerant code** (`phonetic_sql`, `skeleton_sql`): per word, phonetic classes (sch/sh/ch/zh->s,
  x->ks, c->k, z->s, j->i, g->h, v->f, b->p, d->t), then vowels and h dropped and runs of one letter
  collapsed; the codes of the words are sorted. A typo that replaces, drops, doubles or moves a vowel, or
  doubles or un-doubles a letter, leaves the code unchanged, and so do the generator's transliteration
  variants (Mohammed/Muhammad/Mohamed/Mohammad -> `mt`, Sergei/Sergey/Serhiy -> `sr`,
  Olena/Elena/Yelena -> `ln`, Yulia/Julia/Yuliya -> `l`, Shevchenko/Chevtchenko -> `sfsnk`,
  Georgiev/Gueorguiev -> `rf`, Aleksandr/Alexander/Oleksandr -> `lksntr`, Khaled/Khalid -> `lt`, ...).
- **Documents** (`document_sql`): letters and digits only, upper case; empty means missing.
- **Date of birth** (`dob_sql`): ISO `YYYY-MM-DD`; a missing date of birth makes both name tokens missing.
- **Event date** (`EVENT_DATE` in `privacy/pseudonymise.py`): the identification date (victim assistance)
  or the investigation date (law enforcement), ISO.

Tokens (all four are NULL when any part of their message is missing):

- `document_token` = HMAC(`doc|` document)
- `name_dob_token` = HMAC(`nd|` sorted words `|` date of birth)
- `skeleton_token` = HMAC(`slk|` sorted codes `|` date of birth)
- `event_token` = HMAC(`ev|` sorted codes `|` event date `|` sex), added for rule (4): a record without a
  date of birth has neither name token, and without it could link only through its document number.
"""


def write_doc(args, results: list[dict], overall: dict, speed: list[tuple[int, float]]) -> None:
    table = "\n".join(_fmt(q) for q in [*results, overall])
    speed_lines = "\n".join(f"- {n:,} records: {s:.1f} s" for n, s in speed) or "- not measured"
    DOC.write_text(
        f"""# Victim record linkage

`privacy/linkage.py` groups the stored records of victims (from both repositories) into persons, using
only the keyed tokens that `privacy/pseudonymise.py` stores: no name, date of birth or document number is
needed at linkage time.

## The rule

{LINKAGE_RULE}

The closure is computed in DuckDB (`link_records`): each record is joined to the first record of every
token group it belongs to, and labels are propagated (smallest id among neighbours, then pointer jumping)
until nothing changes. `person_key` is the smallest `record_key` of the person's records.

## Normalisation

{NORMALISATION}
## Measured quality

Generated by `python benchmarks/linkage_quality.py --rows {args.rows} --providers {args.providers} \
--seeds {" ".join(map(str, args.seeds))}{f" --scale {args.scale}" if args.scale else ""}` \
({platform.platform()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}).
Each seed: `synthetic.generator.generate(rows={args.rows}, providers={args.providers})`, every provider CSV
of both feeds validated and pseudonymised; records are the valid victim rows (victim-assistance rows and
law-enforcement rows with `person_role` victim), all linked together. A pair is two records; recall is the
share of true same-person pairs put in one cluster, precision the share of same-cluster pairs that are
truly one person. Target: recall >= 0.95, precision >= 0.99. The pooled row adds up the seeds' pair
counts (the seeds are separate populations); its time is one `link_records` over all seeds' records.

{HEADER}
{table}

Speed of `link_records` (records salted per copy of the samples above, so the structure is realistic):

{speed_lines}

## Known limits

- A record without a date of birth links through its document number or, by rule (4), to records of
  the same event (identification or investigation date) in the same feed. Between a victim-assistance
  record without a date of birth and a law-enforcement record (their event dates differ), only the
  document number links.
- Rule (3) ignores the sex only when it is `unknown`; a sex recorded differently by two providers keeps
  typo-variant records apart (rules (1) and (2) still link them).
- A typo that changes a consonant (or swaps two consonants) changes the error-tolerant code; such a
  record links only through its document number or through another record of the same person.
- A record whose given name is missing gets different name tokens from the person's full name.
- Two different people with the same name (or the same error-tolerant code) and the same date of birth
  are merged unless nothing else separates them; this is most of the precision loss above (the
  generator's name pools are small).
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--providers", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scale", type=int, default=1_000_000, help="also time link_records on this many records")
    ap.add_argument("--samples", type=Path, help="reuse generated samples in SAMPLES/s<seed>")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    results, samples = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            out = (args.samples or Path(tmp)) / f"s{seed}"
            if not (out / "ground_truth" / "records.csv").exists():
                generate(out, rows=args.rows, providers=args.providers, seed=seed)
            records = victim_records(out)
            links, seconds = link(records)
            q = pair_quality(records, links) | {"label": f"seed {seed}", "seconds": seconds}
            print(_fmt(q), flush=True)
            results.append(q)
            keys = pc.binary_join_element_wise(str(seed), records["record_key"], "|")
            samples.append(records.set_column(0, "record_key", keys))
    everything = pa.concat_tables(samples)
    _, seconds = link(everything)  # timing only: person ids repeat across seeds
    # Seeds are separate populations: pairs across seeds are neither true nor (in practice) predicted, so
    # the overall row pools the seeds' pair counts.
    counts = ("records", "persons", "clusters", "true_pairs", "predicted_pairs", "true_positive_pairs")
    totals = {k: sum(q[k] for q in results) for k in counts}
    overall = totals | {
        "label": "all seeds (pooled)",
        "recall": totals["true_positive_pairs"] / totals["true_pairs"],
        "precision": totals["true_positive_pairs"] / totals["predicted_pairs"],
        "seconds": seconds,
    }
    print(_fmt(overall), flush=True)
    speed = []
    if args.scale:
        big = scaled(samples, args.scale)
        _, seconds = link(big)
        speed.append((big.num_rows, seconds))
        print(f"link_records on {big.num_rows:,} records: {seconds:.1f} s", flush=True)
    if not args.no_write:
        write_doc(args, results, overall, speed)


if __name__ == "__main__":
    main()
