"""The client's address and scheme: forwarded headers count only from a configured proxy, so a client cannot
reset its sign-in budget or pass for https by sending them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from application.settings import parse_trusted_proxies
from portal.app import create_app
from portal.signin_limits import SigninLimiter
from tests.portal.conftest import csrf_of, running_portal, sign_in

SPOOFS = [
    {"x-forwarded-for": "203.0.113.{n}"},
    {"forwarded": "for=203.0.113.{n};proto=https"},
    {"x-real-ip": "203.0.113.{n}"},
    {"x-forwarded-for": "203.0.113.{n}, 198.51.100.{n}", "x-forwarded-proto": "https"},
    {"x-client-ip": "203.0.113.{n}", "true-client-ip": "203.0.113.{n}", "cf-connecting-ip": "203.0.113.{n}"},
]


def _spoofed(n: int) -> dict[str, str]:
    return {k: v.format(n=n) for k, v in SPOOFS[n % len(SPOOFS)].items()}


def _app(home, inbox, proxies: str = ""):
    limiter = SigninLimiter(per_address="3 per 15 minutes")
    return create_app(home.root, inbox, limiter=limiter, trusted_proxies=parse_trusted_proxies(proxies))


def _failed_sign_in(client, n: int, headers: dict[str, str]) -> int:
    csrf = csrf_of(client.get("/signin").text)
    form = {"org": f"org-{n}", "password": "wrong-password-0", "csrf_token": csrf}
    return client.post("/signin", data=form, headers=headers).status_code


@pytest.mark.parametrize("peer", ["127.0.0.1", "192.0.2.1", "::1"])
def test_forwarded_headers_from_a_client_do_not_reset_its_budget(home, accounts, inbox, peer):
    with TestClient(_app(home, inbox), follow_redirects=False, client=(peer, 4000)) as c:
        assert [_failed_sign_in(c, n, _spoofed(n)) for n in range(3)] == [401] * 3
        csrf = csrf_of(c.get("/signin").text)
        form = {"org": "ngo-harbour", "password": "harbour-password-1", "csrf_token": csrf}
        assert c.post("/signin", data=form, headers=_spoofed(99)).status_code == 429


def test_a_client_cannot_pass_for_https(home, accounts, inbox):
    with TestClient(_app(home, inbox), follow_redirects=False, client=("127.0.0.1", 4000)) as c:
        headers = {"x-forwarded-proto": "https", "forwarded": "proto=https", "x-forwarded-ssl": "on"}
        answer = c.get("/signin", headers=headers)
        assert "Secure" not in answer.headers["set-cookie"] and "strict-transport-security" not in answer.headers


def test_ipv6_addresses_of_one_network_share_a_budget(home, accounts, inbox):
    app = _app(home, inbox)
    for n in range(3):
        with TestClient(app, follow_redirects=False, client=(f"2001:db8:1:2::{n + 1:x}", 4000)) as c:
            assert _failed_sign_in(c, n, {}) == 401
    with TestClient(app, follow_redirects=False, client=("2001:db8:1:2:ffff::9", 4000)) as c:
        assert sign_in(c, "ngo-harbour").status_code == 429
    with TestClient(app, follow_redirects=False, client=("2001:db8:1:3::1", 4000)) as c:
        assert sign_in(c, "ngo-harbour").status_code == 303, "another network is not blocked"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(home, accounts, inbox):
    app = _app(home, inbox, "10.0.0.0/8, 127.0.0.1")
    with TestClient(app, follow_redirects=False, client=("10.0.0.2", 4000)) as proxy:
        for n in range(3):  # what the client wrote on the left changes, the address the proxies saw does not
            chain = {"x-forwarded-for": f"203.0.113.{n}, 198.51.100.7, 10.1.1.1", "x-real-ip": f"192.0.2.{n}"}
            assert _failed_sign_in(proxy, n, chain) == 401
        csrf = csrf_of(proxy.get("/signin").text)
        form = {"org": "ngo-harbour", "password": "harbour-password-1", "csrf_token": csrf}
        chain = {"x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https"}
        assert proxy.post("/signin", data=form, headers=chain).status_code == 429
        other = {"x-forwarded-for": "198.51.100.7, 198.51.100.8", "x-forwarded-proto": "https"}
        answer = proxy.post("/signin", data=form, headers=other)
        assert answer.status_code == 303, "the proxy's other client is not blocked"
        assert "Secure" in answer.headers["set-cookie"] and "strict-transport-security" in answer.headers


def test_trusted_proxies_setting_is_checked():
    networks = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8 ::1 ::ffff:192.0.2.0/120")
    assert [str(n) for n in networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "192.0.2.0/24"]
    assert parse_trusted_proxies("") == ()
    with pytest.raises(ValueError, match="'proxy.example' is not an IP address"):
        parse_trusted_proxies("proxy.example")


def _sign_in_budget_spent(url: str, headers_of) -> int:
    """20 failed sign-ins from this machine, each with other headers, then the right password; its status."""
    import httpx2

    with httpx2.Client(base_url=url) as client:
        for n in range(21):
            csrf = csrf_of(client.get("/signin").text)
            org, password = (f"org-{n}", "wrong-password-0") if n < 20 else ("ngo-harbour", "harbour-password-1")
            form = {"org": org, "password": password, "csrf_token": csrf}
            status = client.post("/signin", data=form, headers=headers_of(n)).status_code
        return status


def test_the_server_ignores_forwarded_headers_by_default(tmp_path, home):
    with running_portal(home, tmp_path / "portal.log") as url:
        assert _sign_in_budget_spent(url, _spoofed) == 429


def test_the_server_trusts_the_configured_proxy(tmp_path, home):
    env = {"RAPPORTEUR_PORTAL_TRUSTED_PROXIES": "127.0.0.1"}
    with running_portal(home, tmp_path / "portal.log", env) as url:
        assert _sign_in_budget_spent(url, lambda n: {"x-forwarded-for": f"203.0.113.{n}"}) == 303


def test_a_bad_trusted_proxies_setting_is_one_line(home, monkeypatch):
    from tests.portal.test_cli import _one_line_error, _run

    monkeypatch.setenv("RAPPORTEUR_PORTAL_TRUSTED_PROXIES", "127.0.0.1, proxy.example")
    line = _one_line_error(_run("portal", "--port", 8000))
    assert "RAPPORTEUR_PORTAL_TRUSTED_PROXIES" in line and "proxy.example" in line
