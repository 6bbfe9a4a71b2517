"""The providers that exist: one file per provider under `schemas/mappings/` (`<provider-id>.yaml`).

That folder is the one register of providers and their feed. A provider that sends the standard codes
has a file with no `codes`. Every front end (validate, prepare, submit, ingest, the portal) and the
freshness checks ask here, so a misspelled id is refused at once instead of failing every coded cell.
"""

from __future__ import annotations

import difflib
from functools import cache

import yaml

from errors import UnusableInput
from schemas.standard import FEEDS, HERE, PROVIDER_ID, check_submission_args

MAPPINGS = HERE / "mappings"


@cache
def providers() -> dict[str, str]:
    """Every registered provider id and its feed, sorted by id."""
    found = {}
    for path in sorted(MAPPINGS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if PROVIDER_ID.fullmatch(path.stem) and isinstance(spec, dict) and spec.get("provider") == path.stem:
            found[path.stem] = str(spec.get("feed") or "")
    return found


def feed_providers(feed_name: str) -> list[str]:
    """The registered providers of one feed, sorted."""
    return [p for p, f in providers().items() if f == feed_name]


def check_provider(feed_name: str, provider: str) -> None:
    """Refuse, in one line naming the providers that exist, a provider not registered for the feed (a valid id)."""
    known = providers()
    if known.get(provider) == feed_name:
        return
    if provider in known:
        raise UnusableInput(
            f"provider {provider} is registered for the {known[provider]} feed, not {feed_name}: choose that feed"
        )
    others = feed_providers(feed_name)
    close = difflib.get_close_matches(provider, others, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    elsewhere = "; ".join(f"of {f}: {', '.join(feed_providers(f))}" for f in FEEDS if f != feed_name)
    raise UnusableInput(
        f"unknown provider id '{provider}' for {feed_name}: {hint}the providers of {feed_name} are "
        f"{', '.join(others) or 'none yet'} ({elsewhere}; a new provider needs a file in schemas/mappings/: "
        "ask the bureau)"
    )


def check_submission(feed_name: str, provider: str, period: str) -> None:
    """Refuse a feed, provider id or period of the wrong form, then a provider that is not registered."""
    check_submission_args(feed_name, provider, period)
    check_provider(feed_name, provider)
