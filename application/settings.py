"""The product's settings: read from the environment in this one module, validated once, passed down.

No other module reads or writes the environment. A bad value is one line naming the variable (exit 2).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from errors import RapporteurError
from privacy.keys import PASSPHRASE_ENV

HOME_ENV = "RAPPORTEUR_HOME"
CADENCE_ENV = "RAPPORTEUR_REPORTING_PERIOD"
DISCLOSURE_K_ENV = "RAPPORTEUR_DISCLOSURE_K"
BASELINE_ENV = "RAPPORTEUR_BASELINE_YEAR"
RETENTION_ENV = "RAPPORTEUR_RETENTION_DAYS"
MAX_UPLOAD_ENV = "RAPPORTEUR_PORTAL_MAX_UPLOAD_MB"
TRUSTED_PROXIES_ENV = "RAPPORTEUR_PORTAL_TRUSTED_PROXIES"
COUNTRY_ENV = "RAPPORTEUR_COUNTRY"

CADENCES = ("yearly", "quarterly")
DEFAULT_K = 5
DEFAULT_RETENTION_DAYS = 365
DEFAULT_MAX_UPLOAD_MB = 50
DEFAULT_COUNTRY = "NLD"  # the sample generator's country

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    """Every setting of the product, typed; the defaults are the embedded installation's."""

    home: Path | None = None  # $RAPPORTEUR_HOME; None: the nearest installation up from the working directory
    passphrase: str | None = field(default=None, repr=False)  # protects the keyring; never shown
    reporting_period: str = "yearly"  # the bureau's cadence: yearly or quarterly
    disclosure_k: int = DEFAULT_K  # the small-cell threshold (CTDC used 11)
    baseline_year: int | None = None  # the reference year of every indicator (None: each one's first year)
    retention_days: int = DEFAULT_RETENTION_DAYS  # days after the load before a submission's raw content goes
    upload_limit_mb: int = DEFAULT_MAX_UPLOAD_MB  # the portal's largest upload
    trusted_proxies: tuple[Network, ...] = ()  # the portal's reverse proxies whose forwarded headers count
    country: str = DEFAULT_COUNTRY  # the reporting country (ISO 3166 alpha-3), for the international exports

    def __post_init__(self) -> None:
        if self.reporting_period not in CADENCES:
            raise RapporteurError(
                f"{CADENCE_ENV} must be one of {', '.join(CADENCES)}, not '{self.reporting_period[:20]}'"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (default: this process's environment), each one checked."""
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV)
        return cls(
            home=Path(home).expanduser().resolve() if home else None,
            passphrase=env.get(PASSPHRASE_ENV) or None,
            reporting_period=env.get(CADENCE_ENV, "yearly"),
            disclosure_k=_disclosure_k(env.get(DISCLOSURE_K_ENV, str(DEFAULT_K))),
            baseline_year=_baseline_year(env.get(BASELINE_ENV, "")),
            retention_days=_retention_days(env.get(RETENTION_ENV, "").strip()),
            upload_limit_mb=_upload_limit(env.get(MAX_UPLOAD_ENV, str(DEFAULT_MAX_UPLOAD_MB))),
            trusted_proxies=_trusted_proxies(env.get(TRUSTED_PROXIES_ENV, "")),
            country=_country(env.get(COUNTRY_ENV, DEFAULT_COUNTRY)),
        )


def _disclosure_k(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 2:
        raise RapporteurError(f"{DISCLOSURE_K_ENV} must be a whole number of at least 2, not '{raw[:20]}'")
    return int(raw)


def _baseline_year(raw: str) -> int | None:
    if raw and not (raw.isdigit() and len(raw) == 4):
        raise RapporteurError(f"{BASELINE_ENV} must be a year such as 2015, not '{raw[:20]}'")
    return int(raw) if raw else None


def _retention_days(raw: str) -> int:
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if not raw.isdigit() or int(raw) < 1:
        raise RapporteurError(f"{RETENTION_ENV} must be a whole number of days of at least 1, not '{raw[:20]}'")
    return int(raw)


def _country(raw: str) -> str:
    country = raw.strip().upper()
    if len(country) != 3 or not country.isalpha():
        raise RapporteurError(f"{COUNTRY_ENV} must be an ISO 3166 alpha-3 code such as NLD, not '{raw[:10]}'")
    return country


def _upload_limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 1024:
        raise RapporteurError(f"{MAX_UPLOAD_ENV} must be a whole number of megabytes from 1 to 1024, not '{raw[:20]}'")
    return int(raw)


def _trusted_proxies(raw: str) -> tuple[Network, ...]:
    try:
        return parse_trusted_proxies(raw)
    except ValueError as exc:
        raise RapporteurError(f"{TRUSTED_PROXIES_ENV}: {exc}; give addresses or networks such as 127.0.0.1") from None


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """Addresses or CIDR networks separated by commas or spaces (raises ValueError naming the bad entry)."""
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(unmapped(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f"'{entry[:45]}' is not an IP address or a CIDR network") from None
    return tuple(networks)


def unmapped(network: Network) -> Network:
    """An IPv4-mapped IPv6 network as the IPv4 network it maps (a proxy may write either)."""
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    return ipaddress.ip_network(f"{mapped}/{max(network.prefixlen - 96, 0)}") if mapped else network
