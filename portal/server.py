"""Serve the portal with uvicorn: one process, no access log of its own (the portal logs without personal data)."""

from __future__ import annotations

import logging
import os
import socket

from sources.errors import RapporteurError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, in one line, an address that cannot be bound."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise RapporteurError(f"cannot listen on {host}:{port}: {reason}") from None


def serve(app, host: str, port: int, forwarded_allow_ips: str = "127.0.0.1") -> None:
    """Run the portal until interrupted. Behind a TLS reverse proxy on the same machine, the proxy's
    X-Forwarded-Proto makes cookies Secure and turns HSTS on; `forwarded_allow_ips` names the proxies trusted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,  # its lines carry query strings and client addresses; portal.middleware.Guard logs instead
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
