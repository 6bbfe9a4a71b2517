"""The portal over a temporary installation: three accounts, the demo keyring's inbox, sample extracts."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from intake.inbox import Inbox
from portal.accounts import Accounts
from portal.app import create_app, portal_database
from portal.signin_limits import SigninLimiter
from privacy.sealed import Sealer

PASSWORDS = {"ngo-harbour": "harbour-password-1", "ngo-lighthouse": "lighthouse-password-1", "bureau": "bureau-pass-12"}
ROLES = {"ngo-harbour": "provider", "ngo-lighthouse": "provider", "bureau": "bureau"}
CANARY_NAME = "Zyxcanaryname"
CANARY_CODE = "Qwcanarycode"


@pytest.fixture
def accounts(home) -> Accounts:
    store = Accounts(portal_database(home.root))
    for org, password in PASSWORDS.items():
        store.add(org, ROLES[org], password)
    return store


@pytest.fixture
def inbox(home) -> Inbox:
    keyring, _ = home.keyring(create_demo=True)
    return Inbox(home.inbox, Sealer(keyring.key("inbox")))


@pytest.fixture
def limiter() -> SigninLimiter:
    return SigninLimiter()


@pytest.fixture
def app(home, accounts, inbox, limiter):
    from privacy.keys import fingerprint
    from privacy.pseudonymise import first_level_keys

    prints = {role: fingerprint(key) for role, key in first_level_keys(home.keyring()[0]).items()}
    return create_app(home.root, inbox, max_upload_mb=1, limiter=limiter, key_prints=prints)


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, org: str, password: str | None = None):
    """Sign `client` in as `org`; the answer to the sign-in POST."""
    csrf = csrf_of(client.get("/signin").text)
    return client.post(
        "/signin", data={"org": org, "password": password or PASSWORDS[org], "csrf_token": csrf}, follow_redirects=False
    )


def upload(client, data: bytes, name: str = "extract.csv", feed: str = "victim-assistance", period: str = "all"):
    """Upload a file through the form (signed in); the answer to the POST."""
    csrf = csrf_of(client.get("/upload").text)
    return client.post(
        "/upload",
        data={"csrf_token": csrf, "feed": feed, "period": period},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


def submit(client, token: str):
    csrf = csrf_of(client.get(f"/uploads/{token}").text)
    return client.post(f"/uploads/{token}/submit", data={"csrf_token": csrf}, follow_redirects=False)


@pytest.fixture(scope="session")
def harbour_csv(sample_dir) -> bytes:
    """ngo-harbour's generated extract without the rows the generator made invalid: a file that passes."""
    from application.steps import validate_file

    raw = (sample_dir / "victim-assistance__ngo-harbour.csv").read_bytes()
    failing = set(validate_file(raw, "victim-assistance", "ngo-harbour").failures.column("row_number").to_pylist())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(r for i, r in enumerate(rows, start=1) if i not in failing)
    return out.getvalue().encode("utf-8")


def with_failures(extract: bytes, code: str = CANARY_CODE) -> bytes:
    """The extract with a name typed into the sex column (unmapped_code), an impossible date (invalid_date)
    and a canary name: failures to show, and personal data that must never reach a log."""
    rows = list(csv.DictReader(io.StringIO(extract.decode("utf-8"))))
    rows[0]["sex"] = code
    rows[1]["identification_date"] = "31/02/2015"
    for row in rows[:5]:
        row["given_name"] = CANARY_NAME
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="session")
def harbour_bad_csv(harbour_csv) -> bytes:
    return with_failures(harbour_csv)


def token_of(location: str) -> str:
    return Path(location).name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_portal(home, log: Path, env: dict[str, str] | None = None):
    """`rapporteur portal` in its own process on a free port over `home` (its accounts added), its stdout and
    stderr in `log`; yields its URL."""
    store = Accounts(portal_database(home.root))
    for org, password in PASSWORDS.items():
        if store.get(org) is None:
            store.add(org, ROLES[org], password)
    port = free_port()
    command = [str(Path(sys.executable).parent / "rapporteur"), "portal", "--port", str(port)]
    environment = os.environ | {"RAPPORTEUR_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)} | (env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a start-up bound, not a performance assertion
        while True:
            assert process.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the portal did not start:\n" + log.read_text()
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
