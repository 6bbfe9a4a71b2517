"""The providers that exist: one file per provider under `schemas/mappings/` (`<provider-id>.yaml`).

That folder is the one register of providers and their feed. A provider that sends the standard codes
has a file with no `codes`. Every front end (validate, prepare, submit, ingest, the portal) and the
freshness checks ask here, so a misspelled id is refused at once instead of failing every coded cell.
"""

from __future__ import annotations

import difflib
from functools import cache

from errors import UnusableInput
from schemas.standard import FEEDS, HERE, PROVIDER_ID, check_submission_args, read_yaml

MAPPINGS = HERE / "mappings"


@cache
def _register() -> dict[str, tuple[str, bool]]:
    """Every registered provider id: its feed, and whether it is expected to submit every period."""
    found = {}
    for path in sorted(MAPPINGS.glob("*.yaml")):
        spec = read_yaml(path)
        if PROVIDER_ID.fullmatch(path.stem) and isinstance(spec, dict) and spec.get("provider") == path.stem:
            found[path.stem] = (str(spec.get("feed") or ""), spec.get("expected", True) is not False)
    return found


def providers() -> dict[str, str]:
    """Every registered provider id and its feed, sorted by id."""
    return {p: feed for p, (feed, _) in _register().items()}


def feed_providers(feed_name: str) -> list[str]:
    """The registered providers of one feed, sorted."""
    return [p for p, f in providers().items() if f == feed_name]


def expected_providers(feed_name: str) -> list[str]:
    """The registered providers of one feed that must submit every period (`expected: false` opts out), sorted."""
    return [p for p, (f, expected) in _register().items() if f == feed_name and expected]


def check_provider(feed_name: str, provider: str) -> None:
    """Refuse, in one line naming the providers that exist, a provider not registered for the feed (a valid id)."""
    known = providers()
    if known.get(provider) == feed_name:
        return
    if provider in known:
        raise UnusableInput(
            f"provider {provider} is registered for the {known[provider]} feed, not {feed_name}: choose that feed"
        )
    close = difflib.get_close_matches(provider, feed_providers(feed_name), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    elsewhere = "; ".join(f"of {f}: {_listing(f)}" for f in FEEDS if f != feed_name)
    raise UnusableInput(
        f"unknown provider id '{provider}' for {feed_name}: {hint}the providers of {feed_name} are "
        f"{_listing(feed_name)} ({elsewhere}; a new provider needs a file in schemas/mappings/: ask the bureau)"
    )


def _listing(feed_name: str) -> str:
    """The providers of a feed in words: the expected ones first, then those that submit only now and then."""
    regular = expected_providers(feed_name)
    occasional = [p for p in feed_providers(feed_name) if p not in regular]
    words = ", ".join(regular) or "none yet"
    return f"{words} and, occasionally, {', '.join(occasional)}" if occasional else words


def check_submission(feed_name: str, provider: str, period: str) -> None:
    """Refuse a feed, provider id or period of the wrong form, then a provider that is not registered."""
    check_submission_args(feed_name, provider, period)
    check_provider(feed_name, provider)
