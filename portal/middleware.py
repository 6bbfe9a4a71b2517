"""The portal's outer layers: a body size limit, security headers, an access log without personal data,
and a last guard that turns any unexpected exception into a plain page and a log line without its message."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("rapporteur.portal")

HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")
PLAIN_500 = (
    b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Something went wrong</title></head>"
    b"<body><main><h1>Something went wrong</h1><p>The portal could not complete this request. If you were "
    b"submitting a file, look at <a href='/submissions'>Submissions</a> before you try again; if it happens "
    b"again, tell the bureau the time it happened.</p></main></body></html>"
)


class BodyLimit:
    """Refuse a request body over `max_bytes` (413), whether or not it declares its length."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        too_big = HTTPException(413, f"The file is too large: the limit is {self.max_bytes >> 20} MB.")
        if not declared.isdigit() or int(declared) > self.max_bytes:

            async def refuse() -> Message:
                raise too_big

            return await self.app(scope, refuse, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise too_big
            return message

        await self.app(scope, counted, send)


class SecurityHeaders:
    """Headers on every response: no framing, no sniffing, no caching, no referrer; HSTS over https."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
                if scope.get("scheme") == "https":
                    message["headers"].append(HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)


class Guard:
    """Outermost layer: an access log line per request (method, route pattern, status: never a query string,
    a body or a client address) and, for an unexpected exception, its type and place only: its message can
    quote a cell of a provider's file."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status: dict[str, int | None] = {"code": None}

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        except Exception as exc:  # a bug: logged without its message, answered with a plain page
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            log.error(
                "unexpected %s at %s:%s in %s", type(exc).__name__, Path(frame.filename).name, frame.lineno, frame.name
            )
            if status["code"] is None:
                status["code"] = 500
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"), *HEADERS],
                    }
                )
                await send({"type": "http.response.body", "body": PLAIN_500})
        route = scope.get("route")
        log.info("%s %s %s", scope["method"], getattr(route, "path", "(no route)"), status["code"])
