"""The whole graph on a temporary home, checked against the sample generator's ground truth."""

from __future__ import annotations

import pytest

from intake.inbox import Inbox
from pipelines.runner import run_main_job
from tests.conftest import installation_after_run, sample_files
from warehouse.repository import connect, repository_path

pytestmark = pytest.mark.integration


def _query(path, sql, home=None):
    """Query a DuckDB file read-only; the repositories are encrypted under the home's database key."""
    key = home.keyring()[0].key("database") if home is not None else None
    with connect(path, read_only=True, key=key) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def ran(tmp_path_factory, sample_dir):
    """One installation that ran the main job once over every sample extract."""
    with installation_after_run(tmp_path_factory.mktemp("graph") / "home", sample_dir) as home:
        yield home


def test_loaded_counts_match_ground_truth(ran, truth):
    for feed, spec in truth["feeds"].items():
        repo = repository_path(ran.warehouse, feed)
        got = dict(_query(repo, "SELECT provider, rows_loaded FROM submissions WHERE superseded_by IS NULL", ran))
        assert got == {p: v["valid_rows"] for p, v in spec["providers"].items()}
        got = dict(_query(repo, "SELECT provider, rows_quarantined FROM submissions", ran))
        assert got == {p: v["rows"] - v["valid_rows"] for p, v in spec["providers"].items()}
        assert _query(
            repo, "SELECT count(*) FROM submissions WHERE rows_in <> rows_loaded + rows_quarantined", ran
        ) == [(0,)]


def test_research_trend_matches_ground_truth_where_published(ran, truth):
    """Published cells equal the ground truth (0 where nothing was counted); withheld cells are NULL and marked."""
    want = {}
    for year, spec in truth["feeds"]["victim-assistance"]["years"].items():
        for sex, n in spec["valid_victim_rows_by_sex"].items():
            if n:
                want[(int(year), sex)] = n
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT reporting_year, sex, victim_records, suppressed FROM victims_by_year_sex",
    )
    assert {(y, s) for y, s, _, _ in rows} >= set(want)
    for year, sex, n, hidden in rows:
        assert (n is None) == hidden
        assert hidden or n == want.get((year, sex), 0)
    assert any(hidden and 0 < want.get((y, s), 0) < 5 for y, s, _, hidden in rows)  # small cells (sex 'other')


def test_no_published_cell_is_small(ran):
    """The attacker's audit runs inside every build (warehouse/protection.py) and as a blocking check."""
    from warehouse.published import COUNT_TABLES, SIDE

    for table in ("indicators", "victims_by_year_sex", "suspects_by_year_stage", "provider_overlap"):
        for count in COUNT_TABLES[table][1]:
            rows = _query(ran.warehouse / "research.duckdb", f"SELECT {count}, suppressed FROM {table}")
            assert rows, table
            for n, suppressed in rows:
                assert n is None or (table, count) in SIDE or not 0 < n < 5, table
                assert (n is None) == suppressed, table


def test_second_run_loads_nothing_twice(ran, monkeypatch):
    monkeypatch.setenv("RAPPORTEUR_HOME", str(ran.root))
    monkeypatch.setenv("DAGSTER_HOME", str(ran.dagster))
    inbox = Inbox(ran.inbox)
    before = inbox.ledger()
    repo = repository_path(ran.warehouse, "victim-assistance")
    rows_before = _query(repo, "SELECT count(*) FROM victim_assistance", ran)
    assert run_main_job(ran) == []
    assert inbox.ledger() == before
    assert _query(repo, "SELECT count(*) FROM victim_assistance", ran) == rows_before
    assert not any(ran.staging.iterdir())  # nothing left staged


def test_an_unusable_submission_is_rejected_and_the_rest_load(home, sample_dir, tmp_path):
    inbox = home.sealed_inbox(home.keyring(create_demo=True)[0])
    bad = tmp_path / "broken.csv"
    bad.write_bytes(bytes(range(256)) * 4)
    inbox.place(bad, "victim-assistance", "ngo-broken", "2024")
    path, feed, provider = next(p for p in sample_files(sample_dir) if p[1] == "victim-assistance")
    inbox.place(path, feed, provider, "all")
    (failure,) = run_main_job(home)  # the rejected file's blocking check stops its own run only
    assert "(ngo-broken) rejected:" in failure and "not a text file" in failure
    status = {r["provider"]: (r["status"], r["message"]) for r in inbox.ledger()}
    assert status[provider][0] == "loaded"
    assert status["ngo-broken"][0] == "rejected" and "not a text file" in status["ngo-broken"][1]
    assert list((home.inbox / "rejected" / "victim-assistance" / "ngo-broken" / "2024").iterdir())


def test_each_submission_has_a_validation_report(ran):
    for row in Inbox(ran.inbox).ledger():
        folder = ran.reports / "validation" / row["submission_id"]
        assert (folder / "report.html").exists() and (folder / "data-docs" / "index.html").exists()


def test_not_covered_by_law_is_not_zero(ran):
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT reporting_year, suspect_records, status, suppressed FROM suspects_by_year_form "
        "WHERE exploitation_form = 'forced_marriage' ORDER BY 1",
    )
    assert rows and all((s == "not_covered_by_law") == (y < 2018) for y, _, s, _ in rows)
    assert all(n is None and not hidden for y, n, _, hidden in rows if y < 2018)
    assert all((n is None) == hidden for y, n, _, hidden in rows if y >= 2018)


def _truth_persons(truth_records, role: str) -> dict[int, int]:
    """Distinct true persons per reporting year among valid rows of `role`, both feeds together."""
    persons: dict[int, set] = {}
    for r in truth_records:
        if r["valid"] == "1" and r["person_role"] == role:
            persons.setdefault(int(r["reporting_year"]), set()).add(r["person_id"])
    return {year: len(ids) for year, ids in persons.items()}


def test_unique_victims_and_suspects_match_ground_truth(ran, truth_records):
    """Linkage is not perfect (docs/linkage.md: recall about 0.97), so counts agree within 5%."""
    published = dict(
        _query(
            ran.warehouse / "research.duckdb",
            "SELECT period, value FROM indicators WHERE indicator = 'unique_victims' "
            "AND dimension = 'total' AND NOT suppressed",
        )
    )
    truth = _truth_persons(truth_records, "victim")
    assert set(published) == set(truth)
    for year, n in published.items():
        assert abs(n - truth[year]) <= 0.05 * truth[year], (year, n, truth[year])
    investigated = dict(
        _query(
            ran.warehouse / "research.duckdb",
            "SELECT period, value FROM indicators WHERE indicator = 'suspects' "
            "AND category = 'investigated' AND NOT suppressed",
        )
    )
    truth = _truth_persons(truth_records, "suspect")
    for year, n in investigated.items():
        assert abs(n - truth[year]) <= 0.05 * truth[year], (year, n, truth[year])


def test_indicators_have_baselines_and_trends(ran):
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT period, value, baseline_period, baseline_value, change_abs, change_pct, trend "
        "FROM indicators WHERE indicator = 'unique_victims' AND dimension = 'total' ORDER BY period",
    )
    first = rows[0]
    assert first[2] == first[0] and first[4] == 0
    for _period, value, base_period, base, change, pct, _ in rows[1:]:
        assert base_period == first[0] and change == value - base
        assert pct == pytest.approx(round(100 * change / base, 1))
    assert {r[6] for r in rows[1:]} <= {"rising", "falling", "stable"}
    attrition = _query(ran.warehouse / "research.duckdb", "SELECT investigated, prosecuted, convicted FROM attrition")
    assert attrition and all(i >= p >= c for i, p, c in attrition if None not in (i, p, c))


def test_hidden_population_estimate_is_at_least_what_was_identified(ran, truth):
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT period, observed, estimate, lower_95, upper_95 FROM hidden_population ORDER BY period",
    )
    identified = dict(
        _query(
            ran.warehouse / "research.duckdb",
            "SELECT period, value FROM indicators WHERE indicator = 'unique_victims' AND dimension = 'total'",
        )
    )
    true_population = truth["population"]["victims_per_year"]
    assert rows
    for period, observed, estimate, low, high in rows:
        assert observed == identified[period] and estimate >= observed
        assert low <= estimate <= high
        assert estimate <= 3 * true_population[str(period)]  # sane, not a blow-up


def test_unknown_share_is_a_data_quality_indicator(ran):
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT dimension, unknown_share_pct, suppressed FROM data_quality",
    )
    assert {d for d, _, _ in rows} >= {"sex", "age_group"}
    assert all((v is None) == s and (v is None or 0 <= v <= 100) for _, v, s in rows)


def test_unique_victims_by_sex_match_ground_truth(ran, truth_records):
    """Per dimension too: published cells within 10% of the true distinct persons (linkage is ~97% exact)."""
    persons: dict[tuple[int, str], set] = {}
    for r in truth_records:
        if r["valid"] == "1" and r["person_role"] == "victim":
            persons.setdefault((int(r["reporting_year"]), r["sex"]), set()).add(r["person_id"])
    rows = _query(
        ran.warehouse / "research.duckdb",
        "SELECT period, category, value FROM indicators WHERE indicator = 'unique_victims' "
        "AND dimension = 'sex' AND NOT suppressed",
    )
    compared = 0
    for year, sex, n in rows:
        truth = len(persons.get((year, sex), ()))
        if truth >= 30:
            assert abs(n - truth) <= 0.1 * truth, (year, sex, n, truth)
            compared += 1
    assert compared >= 10


def test_suspects_per_stage_match_ground_truth(ran, sample_dir, truth_records):
    """Unique suspects reaching each stage per year, computed independently from the raw extracts."""
    import csv

    from schemas.standard import feed
    from schemas.standardise import code_lookup

    person = {(r["provider"], r["provider_record_id"]): r for r in truth_records if r["valid"] == "1"}
    rank = {"investigated": 1, "prosecuted": 2, "convicted": 3}
    best: dict[tuple[int, str], int] = {}
    for path, feed_name, provider in sample_files(sample_dir):
        if feed_name != "law-enforcement":
            continue
        stages = code_lookup(feed(feed_name), provider)["stage"]
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                truth = person.get((provider, row["provider_record_id"]))
                if truth is None or truth["person_role"] != "suspect":
                    continue
                key = (int(truth["reporting_year"]), truth["person_id"])
                best[key] = max(best.get(key, 0), rank[stages[row["stage"].strip().casefold()]])
    published = _query(
        ran.warehouse / "research.duckdb",
        "SELECT period, category, value FROM indicators WHERE indicator = 'suspects' AND NOT suppressed",
    )
    compared = 0
    for year, stage, n in published:
        truth = sum(1 for (y, _), r in best.items() if y == year and r >= rank[stage])
        if truth >= 20:
            assert abs(n - truth) <= 0.1 * truth, (year, stage, n, truth)
            compared += 1
    assert compared >= 10


def test_data_dictionary_covers_every_research_table_and_column(ran):
    """Every table and column the main job builds is in the dictionary (with unit and suppression), and the
    database's comments say the same: both are generated from schemas/research_tables.yaml."""
    from schemas.dictionary import dictionary_html, dictionary_markdown
    from schemas.research_tables import research_tables

    research = ran.warehouse / "research.duckdb"
    columns = _query(
        research,
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE database_name = current_database()",
    )
    tables = dict(_query(research, "SELECT table_name, comment FROM duckdb_tables()"))
    documented = {t.name: t for t in research_tables()[1]}
    assert set(tables) == set(documented)
    md, page = dictionary_markdown(), dictionary_html()
    sections = md[md.index('<a id="research"></a>') :].split('<a id="research-')[1:]
    by_table = {s.split('"', 1)[0]: s for s in sections}
    assert set(by_table) == set(tables)
    for table, comment in tables.items():
        spec = documented[table]
        assert spec.description in comment and spec.suppression in comment and spec.counts in comment
        assert f"Counts: {spec.counts}" in by_table[table] and f"Suppression: {spec.suppression}" in by_table[table]
        assert f'id="research-{table}"' in page
    for table, column, comment in columns:
        spec = next(c for c in documented[table].columns if c.name == column)
        assert comment and comment.startswith(spec.description), (table, column)
        row = next(line for line in by_table[table].splitlines() if line.startswith(f"| `{column}` |"))
        assert spec.description in row and (spec.unit or "") in row
    counts = [c.name for t in documented.values() for c in t.columns if c.unit in ("persons", "records")]
    assert counts  # the counts say whether they count persons or records
