"""Serve the portal with uvicorn: one process, no access log of its own (the portal logs without personal data)."""

from __future__ import annotations

import os
import socket

from errors import RapporteurError
from portal.logs import configure_server_logging


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, in one line, an address that cannot be bound."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise RapporteurError(f"cannot listen on {host}:{port}: {reason}") from None


def serve(app, host: str, port: int) -> None:
    """Run the portal until interrupted. uvicorn reads no forwarded header: the portal's `ClientAddress`
    trusts them from the configured proxies only."""
    import uvicorn

    configure_server_logging()
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,  # its lines carry query strings and client addresses; portal.middleware.Guard logs instead
        proxy_headers=False,
        log_config=None,  # uvicorn's records go through the portal's handler (portal.logs)
        server_header=False,
        log_level="info",
        ws="none",  # the portal has no websocket
    )
