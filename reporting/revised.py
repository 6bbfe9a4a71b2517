"""The report's section on revisions of figures published in earlier releases, as official statistics carry."""

from __future__ import annotations

import re
from html import escape as e

from reporting.markup import SUPP, table

PROVIDER_REASON = re.compile(r"(?:^|; )([a-z0-9](?:[a-z0-9-]*[a-z0-9])?): ")


def _why(reason: str) -> str:
    """What the public report says of a revision: the providers whose revisions were accepted, never their
    free-text reasons (typed by a provider, they could name a person); the bureau reads those with
    `rapporteur release revisions`."""
    providers = sorted(set(PROVIDER_REASON.findall(reason)))
    return f"accepted revision from {', '.join(providers)}" if providers else reason


def _value(v) -> str:
    return SUPP if v is None else f"{int(v):,}"


def _figure(r: dict) -> str:
    words = (r["indicator"].replace("_", " "), r["dimension"].replace("_", " "))
    return f"{words[0]}, {r['period']}, {words[1]}: {r['category']}"


def section(revised: list[dict]) -> str:
    """Every earlier figure whose published value changed: old and new value, the release, and why."""
    if not revised:
        return "<p>No figure published in an earlier release has changed since it was published.</p>"
    rows = [
        [e(_figure(r)), _value(r["published"]), _value(r["now"]), e(r["release"]), e(_why(r["reason"]))]
        for r in revised
    ]
    lead = (
        f"<p>{len(revised):,} figure(s) published in earlier releases changed after late or corrected "
        "submissions were accepted. The earlier releases stay as they were published; the figures in this "
        "report replace them.</p>"
    )
    return lead + table(
        "Revisions of earlier figures", ["Figure", "Published", "Now", "Release", "Reason"], rows, text_cols=(3, 4)
    )
