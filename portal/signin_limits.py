"""Failed sign-ins are limited per account and per client address (the `limits` library's moving window)."""

from __future__ import annotations

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
            self._address, "address", address
        )

    def failed(self, org: str, address: str) -> None:
        self._limiter.hit(self._account, "account", org[:64])
        self._limiter.hit(self._address, "address", address)
