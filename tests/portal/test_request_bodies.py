"""No byte of a request body ever reaches a log or an error page, however the body is malformed."""

from __future__ import annotations

import logging
import socket

import pytest

from tests.portal.conftest import csrf_of, running_portal, sign_in

# Bytes a parser could quote: non-ASCII, so each shows only as itself, its escape or its decimal value.
CANARY = b"\xd7\xe9\xf3\xfbQzxKwvJqYp"
BOUNDARY = "zz"
HEADER = b'Content-Disposition: form-data; name="csrf_token"'
MALFORMED = {
    "boundary": b"-" + CANARY,  # the parser expected '-' and names what it found
    "end of boundary": b"--zz" + CANARY,
    "header name": b"--zz\r\n" + CANARY + b": x\r\n\r\nvalue\r\n--zz--\r\n",
    "end of header": b"--zz\r\n" + HEADER + b"\r" + CANARY,
    "end of headers": b"--zz\r\n" + HEADER + b"\r\n\r" + CANARY,
    "after boundary": b"--zz\r\n" + HEADER + b"\r\n\r\nabc\r\n--zz" + CANARY,
}


def traces(text: str) -> list[str]:
    """What of CANARY `text` shows: its text, a byte's escape, character or decimal value."""
    text_part = CANARY[4:].decode()
    forms = [CANARY.decode("latin-1"), *(text_part[i : i + 4] for i in range(len(text_part) - 3))]
    for byte in CANARY[:4]:
        forms += [f"{byte}", f"\\x{byte:02x}", bytes([byte]).decode("latin-1"), repr(bytes([byte]))]
    return [form for form in forms if form in text]


def _send_raw(url: str, request: bytes) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        connection.recv(65536)


def _post(client, path: str, body: bytes):
    return client.post(path, content=body, headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})


@pytest.mark.parametrize("path", ["/upload", "/signin", "/signout", "/uploads/none/submit"])
def test_a_malformed_body_is_one_plain_message_and_never_logged(client, caplog, path):
    sign_in(client, "ngo-harbour")
    answers, records = [], []
    for body in MALFORMED.values():
        with caplog.at_level(logging.DEBUG):
            answers.append(_post(client, path, body))
        records += caplog.records
        caplog.clear()
    for answer in answers:
        assert answer.status_code in (400, 403, 404)
        assert "<h1>" in answer.text and "Traceback" not in answer.text and traces(answer.text) == []
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "") for r in records
    )
    assert not [r.name for r in records if "multipart" in r.name], "the multipart parser logs what it choked on"
    assert traces(logged) == []
    assert f"POST {path if 'none' not in path else '/uploads/{token}/submit'} " in logged


def test_the_server_logs_no_byte_of_a_malformed_body(tmp_path, home):
    import httpx2

    log = tmp_path / "portal.log"
    with running_portal(home, log) as url, httpx2.Client(base_url=url) as client:
        csrf = csrf_of(client.get("/signin").text)
        client.post("/signin", data={"org": "ngo-harbour", "password": "harbour-password-1", "csrf_token": csrf})
        start = log.stat().st_size
        for body in MALFORMED.values():
            for path in ("/upload", "/signin"):
                answer = _post(client, path, body)
                assert answer.status_code in (400, 403) and traces(answer.text) == [], (path, body, answer.headers)
        for request in (b"GET /" + CANARY + b" HTTP/1.1\r\n\r\n", b"POST /upload HTTP/1.1\r\n" + CANARY + b"\r\n\r\n"):
            _send_raw(url, request)  # not even HTTP
        client.get("/healthz")
    lines = log.read_bytes()[start:].decode("utf-8", "replace").splitlines()
    assert any("POST /upload 400" in line for line in lines)
    messages = [line[24:] for line in lines]  # after the time stamp, whose milliseconds may be any number
    assert traces("\n".join(messages)) == [] and "Traceback" not in "\n".join(lines)


def test_the_server_log_shows_exceptions_and_bytes_by_their_type_only():
    import io

    from portal.logs import server_handler

    out = io.StringIO()
    handler = server_handler(out)
    secret = CANARY.decode("latin-1")
    try:
        raise ValueError(secret)
    except ValueError as exc:
        records = [
            logging.LogRecord(
                "uvicorn.error", logging.ERROR, "h11_impl.py", 1, "Exception in app", None, (0, exc, exc.__traceback__)
            ),
            logging.LogRecord("uvicorn.error", logging.WARNING, "x.py", 1, "Invalid frame: %s %s", (exc, CANARY), None),
            logging.LogRecord("some.library", logging.WARNING, "x.py", 1, "got %r", (CANARY,), None),
        ]
    for record in records:
        handler.handle(record)
    text = out.getvalue()
    assert "ValueError at test_request_bodies.py" in text and "Invalid frame: (ValueError) (bytes)" in text
    assert "some.library" not in text and traces("\n".join(line[24:] for line in text.splitlines())) == []
