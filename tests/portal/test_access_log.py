"""Every portal action is in the access log: sign-in (and refused ones), upload, submit, download, sign-out."""

from __future__ import annotations

from privacy import access_log
from tests.portal.conftest import CANARY_NAME, sign_in, submit, upload, with_failures


def test_portal_actions_are_logged_with_the_account_and_never_a_file_content(client, home, harbour_csv):
    assert sign_in(client, "ngo-harbour", "wrong password").status_code == 401
    assert sign_in(client, "ngo-harbour").status_code == 303
    checked = upload(client, with_failures(harbour_csv))
    token = checked.headers["location"].rsplit("/", 1)[-1]
    assert submit(client, token).status_code == 303
    assert client.get("/dictionary.md").status_code == 200
    entries = access_log.entries(home.audit / access_log.LOG_FILE)
    portal = [(e["who"], e["action"]) for e in entries if e["via"] == "portal"]
    assert portal == [
        ("ngo-harbour", "sign-in refused"),
        ("ngo-harbour", "sign-in"),
        ("ngo-harbour", "upload checked"),
        ("ngo-harbour", "submit"),
        ("ngo-harbour", "download"),
    ]
    assert access_log.verify(home.audit / access_log.LOG_FILE, home.keyring()[0].key("access-log")) == []
    assert CANARY_NAME not in (home.audit / access_log.LOG_FILE).read_text()
