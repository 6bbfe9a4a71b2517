"""The portal's security rules at the HTTP level (Starlette's TestClient against the real application)."""

from __future__ import annotations

import logging

import pytest

from portal.signin_limits import SigninLimiter
from tests.portal.conftest import (
    CANARY_CODE,
    CANARY_NAME,
    PASSWORDS,
    csrf_of,
    sign_in,
    submit,
    token_of,
    upload,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


@pytest.mark.parametrize(
    "path", ["/", "/submissions", "/upload", "/documents", "/dictionary.md", "/mappings/ngo-harbour.yaml"]
)
def test_every_page_needs_a_signed_in_account(client, path):
    answer = client.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"


def test_session_cookie_is_httponly_strict_and_renewed_at_sign_in(client):
    client.get("/signin")
    anonymous = client.cookies["rapporteur_session"]
    answer = sign_in(client, "ngo-harbour")
    cookie = answer.headers["set-cookie"]
    assert answer.status_code == 303 and answer.headers["location"] == "/submissions"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.cookies["rapporteur_session"] != anonymous, "a sign-in gets a new session (no fixation)"
    client.cookies.clear()
    client.cookies.set("rapporteur_session", anonymous)
    assert client.get("/submissions").status_code == 303, "the pre-sign-in session is not signed in"


def test_cookie_is_secure_and_hsts_sent_over_https(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url="https://portal.example", follow_redirects=False) as c:
        answer = sign_in(c, "ngo-harbour")
        assert "Secure" in answer.headers["set-cookie"]
        assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_security_headers_on_every_page(client):
    headers = client.get("/signin").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"], "no script is allowed at all (default-src 'none')"
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"


def test_wrong_password_unknown_and_disabled_accounts_get_the_same_answer(client, accounts):
    accounts.disable("ngo-lighthouse")
    answers = [
        sign_in(client, "ngo-harbour", "wrong-password-0"),
        sign_in(client, "no-such-org", "wrong-password-0"),
        sign_in(client, "ngo-lighthouse"),
    ]
    assert {a.status_code for a in answers} == {401}
    orgs = ["ngo-harbour", "no-such-org", "ngo-lighthouse"]
    assert len({a.text.replace(org, "") for a, org in zip(answers, orgs, strict=True)}) == 1


def test_sign_in_is_rate_limited_per_account(client):
    for _ in range(5):
        assert sign_in(client, "ngo-harbour", "wrong-password-0").status_code == 401
    refused = sign_in(client, "ngo-harbour")
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert sign_in(client, "ngo-lighthouse").status_code == 303, "another account is not blocked"


def test_sign_in_is_rate_limited_per_client_address(home, accounts, inbox):
    from starlette.testclient import TestClient

    from portal.app import create_app

    app = create_app(home.root, inbox, limiter=SigninLimiter(per_address="3 per 15 minutes"))
    with TestClient(app, follow_redirects=False, client=("192.0.2.1", 4000)) as c:
        for org in ("org-a", "org-b", "org-c"):  # different accounts: only the address budget is spent
            assert sign_in(c, org, "wrong-password-0").status_code == 401
        assert sign_in(c, "ngo-harbour").status_code == 429
    with TestClient(app, follow_redirects=False, client=("192.0.2.2", 4000)) as other:
        assert sign_in(other, "ngo-harbour").status_code == 303


def test_every_post_needs_the_sessions_csrf_token(client, inbox, harbour_csv):
    client.get("/signin")
    forged = {"org": "ngo-harbour", "password": PASSWORDS["ngo-harbour"], "csrf_token": "forged"}
    assert client.post("/signin", data=forged).status_code == 403
    assert sign_in(client, "ngo-harbour").status_code == 303
    answer = client.post(
        "/upload", data={"feed": "victim-assistance", "period": "all"}, files={"file": ("a.csv", harbour_csv)}
    )
    assert answer.status_code == 403
    token = token_of(upload(client, harbour_csv).headers["location"])
    assert client.post(f"/uploads/{token}/submit", data={"csrf_token": "forged"}).status_code == 403
    assert inbox.ledger() == [], "nothing was submitted"
    assert client.post("/signout", data={}).status_code == 403
    assert client.get("/submissions").status_code == 200, "still signed in"


def test_a_token_from_another_session_is_refused(app, client, harbour_csv):
    from starlette.testclient import TestClient

    sign_in(client, "ngo-harbour")
    with TestClient(app, follow_redirects=False) as attacker:
        sign_in(attacker, "ngo-lighthouse")
        their_token = csrf_of(attacker.get("/upload").text)
    answer = client.post(
        "/upload",
        data={"csrf_token": their_token, "feed": "victim-assistance", "period": "all"},
        files={"file": ("a.csv", harbour_csv)},
    )
    assert answer.status_code == 403


def test_upload_size_limit(client):
    sign_in(client, "ngo-harbour")
    big = b"a,b\n" + b"1,2\n" * (300 * 1024)  # 1.2 MB, over the test app's 1 MB
    answer = upload(client, big)
    assert answer.status_code == 413 and "too large" in answer.text
    assert "Traceback" not in answer.text


def test_upload_size_limit_without_a_declared_length(client):
    sign_in(client, "ngo-harbour")
    chunks = (b"x" * 65536 for _ in range(20))  # streamed (chunked): no Content-Length to trust
    answer = client.post("/upload", content=chunks, headers={"content-type": "multipart/form-data; boundary=zz"})
    assert answer.status_code == 413


def test_file_type_is_judged_by_content_not_name(client, harbour_csv, sample_dir):
    sign_in(client, "ngo-harbour")
    fake = upload(client, PNG, name="extract.csv")
    assert fake.status_code == 422 and "not a text file (CSV), an XLSX or a Parquet file" in fake.text
    assert upload(client, harbour_csv, name="extract.png").status_code == 303, "a CSV named .png is a CSV"
    xlsx = (sample_dir / "victim-assistance__ngo-harbour.xlsx").read_bytes()
    assert upload(client, xlsx, name="extract.csv").status_code == 303, "an XLSX named .csv is an XLSX"


def test_bad_arguments_are_plain_messages(client, harbour_csv):
    sign_in(client, "ngo-harbour")
    answer = upload(client, harbour_csv, period="last year")
    assert answer.status_code == 422 and "period must be" in answer.text
    broken = client.post(
        "/upload",
        content=b'--zz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nabc',
        headers={"content-type": "multipart/form-data; boundary=zz"},
    )
    assert broken.status_code in (400, 403) and "Traceback" not in broken.text and "<h1>" in broken.text


def test_provider_never_sees_another_providers_submission(app, client, harbour_csv):
    from starlette.testclient import TestClient

    sign_in(client, "ngo-harbour")
    token = token_of(upload(client, harbour_csv).headers["location"])
    sid = submit(client, token).headers["location"].split("/")[-1].split("?")[0]
    kept = token_of(upload(client, harbour_csv, period="2024").headers["location"])  # held, not submitted
    assert client.get(f"/submissions/{sid}").status_code == 200

    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, "ngo-lighthouse")
        assert sid not in other.get("/submissions").text
        for path in (f"/submissions/{sid}", f"/uploads/{kept}", f"/uploads/{kept}/failures.csv"):
            answer = other.get(path)
            assert answer.status_code == 404 and sid not in answer.text, path
        assert other.get("/submissions/0000000000000000").text == other.get(f"/submissions/{sid}").text
        csrf = csrf_of(other.get("/upload").text)
        assert other.post(f"/uploads/{kept}/submit", data={"csrf_token": csrf}).status_code == 404
        assert other.get("/mappings/ngo-harbour.yaml").status_code == 404
        assert other.get("/mappings/ngo-lighthouse.yaml").status_code == 200

    with TestClient(app, follow_redirects=False) as bureau:
        sign_in(bureau, "bureau")
        assert sid in bureau.get("/submissions").text
        assert bureau.get(f"/submissions/{sid}").status_code == 200
        assert bureau.get("/mappings/ngo-harbour.yaml").status_code == 200
        assert bureau.get("/upload").status_code == 403, "the bureau does not submit for a provider"


def test_sign_out_disable_and_reset_end_the_session_on_the_server(client, accounts):
    sign_in(client, "ngo-harbour")
    cookie = client.cookies["rapporteur_session"]
    client.post("/signout", data={"csrf_token": csrf_of(client.get("/submissions").text)})
    client.cookies.clear()
    client.cookies.set("rapporteur_session", cookie)
    assert client.get("/submissions").status_code == 303, "a signed-out session cookie is worthless"
    sign_in(client, "ngo-harbour")
    assert client.get("/submissions").status_code == 200
    accounts.disable("ngo-harbour")
    assert client.get("/submissions").status_code == 303
    accounts.reset("ngo-harbour", "a-new-password-2")
    assert sign_in(client, "ngo-harbour").status_code == 401, "the old password no longer works"
    assert sign_in(client, "ngo-harbour", "a-new-password-2").status_code == 303
    accounts.reset("ngo-harbour", "a-third-password-3")
    assert client.get("/submissions").status_code == 303, "a reset ends the open sessions"


def test_an_unexpected_error_is_a_plain_page_and_a_log_line_without_its_message(client, monkeypatch, caplog):
    import portal.app

    def broken(*args):
        raise RuntimeError(f"a cell value {CANARY_NAME}")

    monkeypatch.setattr(portal.app, "visible_submissions", broken)
    sign_in(client, "ngo-harbour")
    with caplog.at_level(logging.DEBUG):
        answer = client.get("/submissions")
    assert answer.status_code == 500 and "Something went wrong" in answer.text
    assert CANARY_NAME not in answer.text and "Traceback" not in answer.text
    assert any("unexpected RuntimeError" in r.getMessage() for r in caplog.records)
    assert not any(CANARY_NAME in r.getMessage() or r.exc_info for r in caplog.records)


def test_no_personal_data_in_logs_or_files(home, client, harbour_bad_csv, caplog):
    with caplog.at_level(logging.DEBUG):
        sign_in(client, "ngo-harbour")
        answer = upload(client, harbour_bad_csv, name=f"{CANARY_NAME}.csv")
        token = token_of(answer.headers["location"])
        page = client.get(f"/uploads/{token}").text
        client.get(f"/uploads/{token}/failures.csv")
        submit(client, token)
        client.get("/submissions")
    assert CANARY_CODE in page, "the provider sees their own value on their own result page"
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # the test's own client
    logged = "\n".join(r.getMessage() for r in server)
    assert "GET /uploads/{token} 200" in logged, "the access log names route patterns"
    for needle in (CANARY_NAME, CANARY_CODE, token):
        assert needle not in logged
    for path in home.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY_NAME.encode() not in data and CANARY_CODE.encode() not in data, path
