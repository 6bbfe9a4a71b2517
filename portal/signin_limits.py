"""Failed sign-ins are limited per account and per client address (the `limits` library's moving window)."""

from __future__ import annotations

import ipaddress

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT = "5 per 15 minutes"
PER_ADDRESS = "20 per 15 minutes"


class SigninLimiter:
    """Counts failed sign-ins; once either budget is spent, even the right password is refused until it refills.

    The counts live in the server's memory: they are per process and reset when the portal restarts.
    """

    def __init__(self, per_account: str = PER_ACCOUNT, per_address: str = PER_ADDRESS):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._account, self._address = parse(per_account), parse(per_address)

    def allowed(self, org: str, address: str) -> bool:
        return self._limiter.test(self._account, "account", org[:64]) and self._limiter.test(
            self._address, "address", address_key(address)
        )

    def failed(self, org: str, address: str) -> None:
        self._limiter.hit(self._account, "account", org[:64])
        self._limiter.hit(self._address, "address", address_key(address))


def address_key(address: str) -> str:
    """What the per-address budget counts: an IPv4 address, or an IPv6 address's /64 (one subscriber's
    network: its owner can use any of its 2**64 addresses)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    mapped = getattr(parsed, "ipv4_mapped", None)
    if parsed.version == 6 and mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(mapped or parsed)
