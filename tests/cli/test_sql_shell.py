"""`rapporteur sql` behaves like the DuckDB shell: dot commands, help, Ctrl-C cancels, Ctrl-D quits."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from application.home import Home


@pytest.fixture
def research(tmp_path) -> Home:
    """An installation whose research database holds two small tables and a view."""
    home = Home(tmp_path / "home").ensure()
    with duckdb.connect(str(home.warehouse / "research.duckdb")) as con:
        con.execute("CREATE TABLE attrition (period INTEGER, investigated BIGINT)")
        con.execute("INSERT INTO attrition VALUES (2024, 40)")
        con.execute("CREATE TABLE indicators (indicator VARCHAR, value BIGINT)")
        con.execute("CREATE VIEW recent AS SELECT * FROM attrition WHERE period > 2020")
    return home


def _env(home: Home) -> dict[str, str]:
    return os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster), "TERM": "dumb"}


class Terminal:
    """`rapporteur sql` on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, home: Home):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the shell, with the terminal as its controlling terminal
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job inherits Ctrl-C ignored; a person's is not
            os.execve(sys.executable, [sys.executable, "-m", "cli.main", "sql", "--db", "research"], _env(home))
        self.seen = ""

    def expect(self, text: str, timeout: float = 60) -> str:
        """Read until `text` appears after what was already matched; return what was read up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no {text!r} in {self.seen[-2000:]!r}")
            try:
                chunk = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                chunk = ""
            if not chunk:
                raise AssertionError(f"the shell ended before {text!r}: {self.seen[-2000:]!r}")
            self.seen += chunk
        before, _, self.seen = self.seen.partition(text)
        return before

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining the terminal so the child never blocks on output
                if select.select([self.fd], [], [], 0.2)[0]:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                time.sleep(0.1)
        os.kill(self.pid, 9)
        raise AssertionError(f"the shell did not end: {self.seen[-2000:]!r}")


def test_dot_commands_help_and_ctrl_c_keep_the_shell(research):
    term = Terminal(research)
    term.expect("sql> ")
    term.send(".tables\r")
    listed = term.expect("sql> ")
    assert "attrition" in listed and "indicators" in listed and "recent" in listed
    term.send(".schema attrition\r")
    assert "CREATE TABLE attrition" in term.expect("sql> ")
    for word in ("help", ".help"):
        term.send(f"{word}\r")
        assert ".tables" in term.expect("sql> ") and ".quit" in term.seen + ".quit"
    term.send(".nonsense\r")
    assert ".help" in term.expect("sql> ")
    term.send("SELECT 'half typed'")  # Ctrl-C drops the line being typed
    term.send("\x03")
    term.expect("sql> ")
    term.send("SELECT count(*) FROM range(100000000000) a, range(10) b;\r")  # Ctrl-C cancels a running query
    time.sleep(2)
    term.send("\x03")
    term.expect("sql> ", timeout=60)
    term.send("SELECT investigated * 2 AS doubled FROM attrition;\r")
    assert "80" in term.expect("sql> ")
    term.send("\x04")  # Ctrl-D quits
    assert term.exit_code() == 0


def test_quit_and_exit_leave_the_shell(research):
    for word in (".quit", ".exit"):
        term = Terminal(research)
        term.expect("sql> ")
        term.send(f"{word}\r")
        assert term.exit_code() == 0


def test_dot_commands_from_a_pipe_and_with_c(research):
    """Scripts get the same commands: from standard input, and as -c."""
    script = ".tables\n.schema recent\nSELECT period FROM attrition;\n.quit\nSELECT 'never reached';\n"
    cmd = [sys.executable, "-m", "cli.main", "sql", "--db", "research"]
    piped = subprocess.run(cmd, input=script, env=_env(research), capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "indicators" in piped.stdout and "CREATE VIEW recent" in piped.stdout and "2024" in piped.stdout
    assert "never reached" not in piped.stdout
    one = subprocess.run([*cmd, "-c", ".tables"], env=_env(research), capture_output=True, text=True, timeout=120)
    assert one.returncode == 0 and "attrition" in one.stdout, one.stderr
    bad = subprocess.run([*cmd, "-c", ".tabels"], env=_env(research), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and ".help" in bad.stderr, bad.stderr
    failing = [*cmd, "-c", "SELECT 'x'::INTEGER"]  # fails while it runs, not when parsed
    late = subprocess.run(failing, env=_env(research), capture_output=True, text=True, timeout=120)
    assert late.returncode == 2 and late.stderr.startswith("rapporteur: SQL error") and "Traceback" not in late.stderr
