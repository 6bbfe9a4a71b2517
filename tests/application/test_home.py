"""How a command finds its installation: $RAPPORTEUR_HOME, else the nearest one up from the working folder;
a command that only reads never creates one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from application.home import Home, locate

READ_ONLY = (
    ["status"],
    ["sql", "-c", "SELECT 1"],
    ["report", "--year", "2024"],
    ["keys", "status"],
    ["period", "status"],
    ["release", "list"],
    ["revision", "list"],
)


def _rapporteur(cwd, *args, home=None, **extra):
    """`rapporteur ARGS` in a child process in `cwd`, with RAPPORTEUR_HOME set only when `home` is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAPPORTEUR_HOME", "DAGSTER_HOME")} | extra
    if home is not None:
        env["RAPPORTEUR_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _refused(result, says: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rapporteur: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a[:2]))
def test_a_read_only_command_elsewhere_refuses_and_creates_nothing(tmp_path, args):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _refused(_rapporteur(elsewhere, *args), "RAPPORTEUR_HOME")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a[:2]))
def test_a_read_only_command_at_an_unset_up_home_refuses_and_creates_nothing(tmp_path, args):
    target = tmp_path / "new"
    _refused(_rapporteur(tmp_path, *args, home=target), "holds no installation")
    assert not target.exists()


def test_commands_find_the_installation_walking_up(tmp_path, monkeypatch):
    """From inside the installation, or a folder holding its var/, or any folder below: the same one."""
    monkeypatch.delenv("RAPPORTEUR_HOME", raising=False)
    home = Home(tmp_path / "checkout" / "var").ensure()
    deep = tmp_path / "checkout" / "docs" / "notes"
    deep.mkdir(parents=True)
    for cwd in (tmp_path / "checkout", deep, home.reports):
        assert locate(None, cwd=cwd) == home.root
        result = _rapporteur(cwd, "status")
        assert result.returncode == 0 and "no submissions yet" in result.stdout, result.stderr
    assert sorted(p.name for p in (tmp_path / "checkout").iterdir()) == ["docs", "var"]


def test_the_setting_wins_over_the_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("RAPPORTEUR_HOME", raising=False)  # `make test` sets it for the whole run
    here = Home(tmp_path / "var").ensure()
    there = Home(tmp_path / "other").ensure()
    (there.inbox / "marker").mkdir()
    result = _rapporteur(tmp_path, "status", home=there.root)
    assert result.returncode == 0, result.stderr
    assert not (here.inbox / "marker").exists() and locate(None, cwd=tmp_path) in (here.root, there.root)


def test_submit_elsewhere_refuses_but_keys_init_sets_one_up(tmp_path, sample_dir):
    from tests.conftest import sample_files

    path, feed, provider = next(sample_files(sample_dir))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _refused(_rapporteur(elsewhere, "submit", "--feed", feed, "--provider", provider, path), "RAPPORTEUR_HOME")
    assert list(elsewhere.iterdir()) == []
    _refused(_rapporteur(elsewhere, "keys", "init"), "RAPPORTEUR_KEY_PASSPHRASE")  # refused before creating
    assert list(elsewhere.iterdir()) == []
    setup = _rapporteur(elsewhere, "keys", "init", RAPPORTEUR_KEY_PASSPHRASE="correct horse battery")
    assert setup.returncode == 0 and (elsewhere / "var" / "inbox").is_dir(), setup.stderr
    assert "new installation" in setup.stderr
    # ... and the next command finds it from there
    assert _rapporteur(elsewhere, "status").returncode == 0
