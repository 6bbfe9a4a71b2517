"""`rapporteur users add|list|disable` and `rapporteur portal`: accounts with argon2id hashes, one-line errors."""

from __future__ import annotations

import socket
import sqlite3

from typer.testing import CliRunner

from cli.main import app
from portal.accounts import Accounts
from portal.app import portal_database

runner = CliRunner()


def _run(*args, stdin: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rapporteur: ") and "Traceback" not in result.output
    return lines[0]


def test_help():
    for command in ("users", "users add", "users list", "users disable", "users reset", "portal"):
        result = _run(*command.split(), "--help")
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_add_list_disable(home):
    made = _run("users", "add", "ngo-harbour")
    assert made.exit_code == 0, made.output
    password = next(line for line in made.stdout.splitlines() if line.startswith("password: ")).split(": ")[1]
    assert (
        _run("users", "add", "bureau", "--role", "bureau", "--password-stdin", stdin="a-long-bureau-pw\n").exit_code
        == 0
    )
    listed = _run("users", "list").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["bureau", "bureau", "enabled"],
        ["ngo-harbour", "provider", "enabled"],
    ]
    accounts = Accounts(portal_database(home.root))
    assert accounts.verify("ngo-harbour", password) is not None
    assert accounts.verify("bureau", "a-long-bureau-pw").is_bureau
    with sqlite3.connect(portal_database(home.root)) as con:
        hashes = [r[0] for r in con.execute("SELECT password_hash FROM accounts")]
    assert all(h.startswith("$argon2id$") for h in hashes) and password not in "".join(hashes)
    assert _run("users", "disable", "ngo-harbour").exit_code == 0
    assert "ngo-harbour\tprovider\tdisabled" in _run("users", "list").stdout
    assert accounts.verify("ngo-harbour", password) is None
    reset = _run("users", "reset", "ngo-harbour")
    new_password = next(line for line in reset.stdout.splitlines() if line.startswith("password: ")).split(": ")[1]
    assert accounts.verify("ngo-harbour", new_password) is not None and accounts.verify("ngo-harbour", password) is None
    assert "ngo-harbour\tprovider\tenabled" in _run("users", "list").stdout


def test_user_errors_are_one_line(home):
    assert "lowercase letters" in _one_line_error(_run("users", "add", "Not An Id"))
    assert "role must be" in _one_line_error(_run("users", "add", "x-org", "--role", "admin"))
    assert "12 to 1024 characters" in _one_line_error(
        _run("users", "add", "x-org", "--password-stdin", stdin="short\n")
    )
    _run("users", "add", "x-org")
    assert "exists already" in _one_line_error(_run("users", "add", "x-org"))
    assert "no account" in _one_line_error(_run("users", "disable", "nobody"))
    assert "no account" in _one_line_error(_run("users", "reset", "nobody"))


def test_portal_refuses_a_busy_port_and_a_bad_limit(home, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert "cannot listen on" in _one_line_error(_run("portal", "--port", port))
    monkeypatch.setenv("RAPPORTEUR_PORTAL_MAX_UPLOAD_MB", "lots")
    assert "RAPPORTEUR_PORTAL_MAX_UPLOAD_MB" in _one_line_error(_run("portal", "--port", port))


def test_the_portal_never_imports_dagster():
    import subprocess
    import sys

    code = "import sys, portal.app, portal.server; print('dagster' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
