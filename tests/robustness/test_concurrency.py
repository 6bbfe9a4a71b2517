"""Two people press the button at once: concurrent ingests and submissions lose nothing and load nothing twice."""

from __future__ import annotations

import json

import pytest

from tests.robustness.conftest import ROWS, WHOLE, cli
from tests.robustness.conftest import sid as _sid
from tests.robustness.faults import held, start
from tests.robustness.inputs import PROVIDER, VA

pytestmark = pytest.mark.slow


def _together(home, *commands):
    children = [start(home.root, *c) for c in commands]
    return [(c.wait(timeout=600), *c.communicate()) for c in children]


def test_two_ingests_into_one_repository_at_once(home, extracts):
    home.keyring(create_demo=True)
    outcomes = _together(home, *(["ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", p] for p in extracts))
    for (code, out, err), path in zip(outcomes, extracts, strict=True):
        if code == 0:
            assert json.loads(out)["rows_loaded"] == ROWS
        else:  # DuckDB has one writer per file: the other is told so in one line, and loads on a retry
            assert code == 2 and err.strip().splitlines()[-1].endswith("wait for it to finish and retry"), err
            assert cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], path).exit_code == 0
    for path in extracts:
        assert held(home, VA, _sid(path)) == WHOLE
    inbox = home.sealed_inbox(home.keyring()[0])
    assert sorted(r["status"] for r in inbox.ledger()) == ["loaded", "loaded"]


def test_the_same_file_submitted_twice_at_once_is_one_submission(home, extracts):
    home.keyring(create_demo=True)
    outcomes = _together(home, *(["submit", "--feed", VA, "--provider", PROVIDER[VA], extracts[0]] for _ in range(2)))
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    inbox = home.sealed_inbox(home.keyring()[0])
    assert [r["submission_id"] for r in inbox.ledger()] == [_sid(extracts[0])]
    assert len(list(home.inbox.rglob("*.sealed"))) == 1 and not list(home.inbox.rglob(".*partial"))
