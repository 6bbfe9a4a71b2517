"""Faults: a full disk, a read-only warehouse, a file-size limit, a missing or damaged key file.

Each ends with one clear line (exit 2), nothing half-loaded or corrupted, and a next run that recovers.
The disk faults use a real tmpfs mounted over the warehouse (ENOSPC, EROFS from the kernel); where
mounting is not permitted they skip, and the RLIMIT_FSIZE test (EFBIG, no privilege needed) still runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import signal
import subprocess

import pytest

from application.home import Home
from privacy.keys import keyring_path
from tests.robustness.conftest import ROWS, WHOLE, cli, one_line_error
from tests.robustness.conftest import sid as _sid
from tests.robustness.faults import held, run
from tests.robustness.inputs import CANARY, PROVIDER, VA


def _ingest(path):
    return cli("ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", path)


def _loaded(result) -> dict:
    assert result.exit_code == 0, result.output[-2000:]
    out = json.loads(result.stdout)
    assert (out["status"], out["rows_in"], out["rows_loaded"], out["rows_quarantined"]) == ("loaded", ROWS, ROWS, 0)
    return out


def _no_plaintext(home: Home) -> None:
    for path in home.root.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


@contextlib.contextmanager
def tmpfs(path, size: str):
    """A tmpfs of `size` mounted on `path` (root and permission to mount needed, else the test skips)."""
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.decode().strip()[:80]})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder) -> None:
    with (folder / "filler").open("wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * (1 << 16))
            f.flush()


def _fault_then_recover(home: Home, extracts, break_disk, mend_disk, says: str) -> None:
    first, second = extracts
    _loaded(_ingest(first))
    before = held(home, VA, _sid(first))
    assert before == WHOLE
    break_disk()
    one_line_error(_ingest(second), says)
    # No corruption: the earlier submission reads back whole; of the failed one the repository holds nothing.
    assert held(home, VA, _sid(first)) == before
    assert held(home, VA, _sid(second))[:3] == (0, 0, None)
    inbox = home.sealed_inbox(home.keyring()[0])
    waiting = inbox.get(_sid(second))
    assert waiting.status == "received" and waiting.path.exists()  # still in the inbox, to be loaded again
    mend_disk()
    _loaded(_ingest(second))
    assert held(home, VA, _sid(second)) == WHOLE and held(home, VA, _sid(first)) == before
    assert inbox.get(_sid(second)).status == "loaded"
    _no_plaintext(home)


def test_full_disk_is_a_clear_error_and_the_next_run_recovers(home, extracts):
    with tmpfs(home.warehouse, "16m"):
        _fault_then_recover(
            home,
            extracts,
            lambda: _fill(home.warehouse),
            lambda: (home.warehouse / "filler").unlink(),
            r"cannot write .*: no space left on the device; free space",
        )


def test_read_only_warehouse_is_a_clear_error_and_the_next_run_recovers(home, extracts):
    def remount(mode: str):
        subprocess.run(["mount", "-o", f"remount,{mode}", str(home.warehouse)], check=True)

    with tmpfs(home.warehouse, "16m"):
        _fault_then_recover(
            home,
            extracts,
            lambda: remount("ro"),
            lambda: remount("rw"),
            r"cannot write .*: the file system is read-only",
        )


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_file_size_limit_is_a_clear_error_and_the_next_run_recovers(home, extracts):
    """RLIMIT_FSIZE in the child: every write past 64 KB fails (EFBIG), wherever the product writes."""
    first, second = extracts
    assert run(home.root, "ingest", "--feed", VA, "--provider", PROVIDER[VA], first).returncode == 0
    before = held(home, VA, _sid(first))
    limited = run(
        home.root, "ingest", "--feed", VA, "--provider", PROVIDER[VA], second, preexec=_file_size_limit(64 << 10)
    )
    assert limited.returncode == 2, limited.stderr[-2000:]
    lines = limited.stderr.strip().splitlines()
    assert len(lines) == 1 and "a file would exceed the size limit" in lines[0] and "Traceback" not in limited.stderr
    assert held(home, VA, _sid(first)) == before and held(home, VA, _sid(second))[:3] == (0, 0, None)
    again = run(home.root, "ingest", "--feed", VA, "--provider", PROVIDER[VA], "--json", second)
    assert again.returncode == 0 and json.loads(again.stdout)["rows_loaded"] == ROWS
    assert held(home, VA, _sid(second)) == WHOLE
    _no_plaintext(home)


def _state(home: Home) -> tuple:
    files = sorted(str(p.relative_to(home.root)) for p in home.root.rglob("*") if p.is_file())
    return files, hashlib.sha256(b"".join(p.read_bytes() for p in sorted(home.warehouse.glob("*.duckdb")))).hexdigest()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("missing", r"no keyring at .* but this installation holds data: restore the keyring"),
        ("garbage", r"the keyring .* is damaged; restore it from the bureau's backup"),
        ("truncated", r"the keyring .* is damaged; restore it"),
        ("short key", r"the keyring .* is damaged; restore it"),
        ("other format", r"the keyring .* is damaged; restore it"),
    ],
)
def test_missing_or_damaged_keyring_is_a_clear_error_and_nothing_is_written(home, extracts, damage, says, monkeypatch):
    first, second = extracts
    _loaded(_ingest(first))
    path = keyring_path(home.keys)
    spec = json.loads(path.read_text())
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    elif damage == "truncated":
        path.write_text(json.dumps(spec)[:60])
    elif damage == "short key":
        spec["keys"]["root"] = "AAAA"
        path.write_text(json.dumps(spec))
    else:
        spec["format"] = 99
        path.write_text(json.dumps(spec))
    before = _state(home)
    for args in (
        ["ingest", "--feed", VA, "--provider", PROVIDER[VA], second],
        ["submit", "--feed", VA, "--provider", PROVIDER[VA], second],
        ["run"],
        ["sql", "--db", "victims", "--purpose", "checking the fault", "-c", "SELECT 1"],
        ["keys", "status"],
    ):
        one_line_error(cli(*args), says)
    if damage == "missing":  # not even `keys init` makes a new keyring over stored data
        monkeypatch.setenv("RAPPORTEUR_KEY_PASSPHRASE", "a passphrase long enough")
        one_line_error(cli("keys", "init"), says)
    assert _state(home) == before  # nothing written: no new keyring, no file sealed under another key
    assert path.exists() == (damage != "missing")
    _no_plaintext(home)


def test_protected_keyring_without_or_with_a_wrong_passphrase(home, extracts, monkeypatch):
    first, second = extracts
    monkeypatch.setenv("RAPPORTEUR_KEY_PASSPHRASE", "correct horse battery staple")
    assert cli("keys", "init").exit_code == 0
    _loaded(_ingest(first))
    before = _state(home)
    monkeypatch.delenv("RAPPORTEUR_KEY_PASSPHRASE")
    one_line_error(_ingest(second), r"the keyring is protected: set RAPPORTEUR_KEY_PASSPHRASE")
    monkeypatch.setenv("RAPPORTEUR_KEY_PASSPHRASE", "not the passphrase at all")
    one_line_error(_ingest(second), r"wrong passphrase for the keyring \(check RAPPORTEUR_KEY_PASSPHRASE\)")
    assert _state(home) == before
    _no_plaintext(home)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, r"no such key file"),
        (b"\x00\x01garbage", r"is not a key file issued by the bureau; ask for a new one"),
        (b'{"format": "rapporteur-provider-key/1", "keys": {"victim": "!!"}}', r"not a key file issued by the bureau"),
    ],
)
def test_missing_or_damaged_provider_key_file(tmp_path, extracts, content, says):
    key_file = tmp_path / "bureau.key"
    if content is not None:
        key_file.write_bytes(content)
    out = tmp_path / "prepared.parquet"
    result = cli("prepare", "--feed", VA, "--provider", PROVIDER[VA], "--key-file", key_file, "--out", out, extracts[0])
    one_line_error(result, says)
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
