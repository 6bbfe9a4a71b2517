"""The client's address and scheme: the socket's peer, or what a trusted reverse proxy forwarded.

Only a peer in RAPPORTEUR_PORTAL_TRUSTED_PROXIES (addresses or CIDR networks; none by default) may say who
its client was. From such a peer `X-Forwarded-For` is read right to left, skipping our own proxies: the first
hop that is not one of them is the client (every hop to its left was written by that client, so it may be
forged). `X-Forwarded-Proto` from a trusted peer gives the scheme. `Forwarded` and `X-Real-IP` are never read:
trusting a second header would let a client forge whichever one the proxy does not set.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from application.settings import Network

log = logging.getLogger("rapporteur.portal")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`, `2001:db8::1`)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in n for n in networks)


def _headers(scope: Scope, name: bytes) -> list[str]:
    """Every value of header `name`, in order, split at commas (several header lines count as one list)."""
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return [hop.strip() for value in values for hop in value.split(",")]


def client_and_scheme(scope: Scope, networks: tuple[Network, ...]) -> tuple[str | None, str]:
    """The client's address (None when unknown) and the scheme it used, trusting forwarded headers only from
    a peer in `networks`."""
    client, scheme = scope.get("client"), scope.get("scheme", "http")
    peer = client[0] if client else None
    if not networks or not _trusted(_address(peer or ""), networks):
        return peer, scheme
    for hop in reversed(_headers(scope, b"x-forwarded-for")):
        address = _address(hop)
        if not _trusted(address, networks):
            return (str(address) if address else hop[:64]), _forwarded_scheme(scope, scheme)
    return peer, _forwarded_scheme(scope, scheme)


def _forwarded_scheme(scope: Scope, default: str) -> str:
    protos = [p.lower() for p in _headers(scope, b"x-forwarded-proto") if p]
    return protos[-1] if protos and protos[-1] in ("http", "https") else default


class ClientAddress:
    """Sets the scope's client and scheme to what `client_and_scheme` finds, for every layer inside it."""

    def __init__(self, app: ASGIApp, trusted_proxies: tuple[Network, ...] = ()):
        self.app, self.networks = app, tuple(trusted_proxies)
        self._noted = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host, scheme = client_and_scheme(scope, self.networks)
            port = scope["client"][1] if scope.get("client") else 0
            if not self.networks and not self._noted and any(k == b"x-forwarded-for" for k, _ in scope["headers"]):
                self._noted = True  # once: a hint for the bureau, never the address or the header's value
                log.warning("X-Forwarded-For ignored: set RAPPORTEUR_PORTAL_TRUSTED_PROXIES if a proxy sits in front")
            scope["client"], scope["scheme"] = ((host, port) if host else None), scheme
        await self.app(scope, receive, send)
