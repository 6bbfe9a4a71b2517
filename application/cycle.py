"""The bureau's reporting cycle as use cases the CLI and the Dagster jobs share: who stands where in a period,
what a release needs, making it, and the revisions of published figures (intake.periods, reporting.releases)."""

from __future__ import annotations

from pathlib import Path

from application.home import Home
from application.monitoring import expected_providers
from application.reporting_periods import covers
from intake.inbox import WAITING, Inbox
from intake.periods import PeriodState, current_loaded, in_force_for
from reporting.releases import Release, make_release, releases, revisions
from schemas.standard import FEEDS
from warehouse.research import RESEARCH_FILE


def expected() -> dict[str, list[str]]:
    """The providers the bureau expects, per feed."""
    return {f: expected_providers(f) for f in FEEDS}


def covering(row: dict, period: str) -> bool:
    """Whether a ledger row's submission accounts for `period` (the freshness checks' rule; `all` is itself)."""
    if period == "all":
        return row["period"] == "all"
    return covers(row["period"], row["received_at"], period)


def period_states(inbox: Inbox, periods: list[str] | None = None) -> list[PeriodState]:
    """Per period, feed and provider: missing, submitted, signed off or approved (default: every period seen).

    A submission accounts for the periods it covers: its own, the quarters of its year, and (a whole-history
    extract) every period that had ended when it was received.
    """
    ledger = inbox.ledger()
    shown = periods or sorted({r["period"] for r in ledger if r["period"] != "all"})
    return inbox.periods.states(ledger, expected(), shown, covering)


def in_force(inbox: Inbox, feed: str, provider: str, period: str) -> dict | None:
    """The provider's loaded submission in force for `period` (its own, else one that covers it)."""
    return in_force_for(current_loaded(inbox.ledger()).values(), feed, provider, period, covering)


def release_blockers(home: Home, inbox: Inbox, year: int) -> list[str]:
    """Why `year` cannot be released now (empty: it can)."""
    problems = []
    if not (home.warehouse / RESEARCH_FILE).is_file():
        problems.append("no research database yet: run `rapporteur run` first")
    unapproved = [s for s in period_states(inbox, [str(year)]) if s.state != "approved"]
    for s in unapproved:
        problems.append(f"period {year} is not approved for {s.provider} ({s.feed}; {s.state})")
    waiting = [r for r in inbox.ledger() if r["status"] in WAITING]
    if waiting:
        problems.append(f"{len(waiting)} submission(s) still waiting to be loaded: run `rapporteur run` first")
    return problems


def accepted_reasons(inbox: Inbox) -> dict[int | None, list[str]]:
    """The providers' reasons for accepted revisions, by the year they revise (None: a whole-history one)."""
    reasons: dict[int | None, list[str]] = {}
    for rev in inbox.periods.revisions():
        sub = inbox.get(rev["submission_id"])
        if rev["decision"] == "accepted" and sub is not None:
            year = int(sub.period[:4]) if sub.period[:4].isdigit() else None
            reasons.setdefault(year, []).append(f"{sub.provider}: {rev['reason']}")
    return reasons


def published_revisions(home: Home, inbox: Inbox) -> list[dict] | None:
    """Figures of earlier releases that the research database now changes; None before the first release."""
    if not releases(home.releases):
        return None
    return revisions(home.releases, home.warehouse / RESEARCH_FILE, accepted_reasons(inbox))


def release_year(home: Home, inbox: Inbox, year: int, who: str) -> Release:
    """Make the next release of `year` (the caller has checked `release_blockers`)."""
    ledger = inbox.ledger()
    basis = {
        "submissions": sorted(r["submission_id"] for r in ledger if r["status"] == "loaded"),
        "approvals": [a for a in inbox.periods.history() if a["unlocked_at"] is None],
        "signoffs": [s.__dict__ for s in period_states(inbox, [str(year)])],
    }
    research = Path(home.warehouse / RESEARCH_FILE)
    return make_release(
        home.releases, research, year, home.settings.disclosure_k, basis, who, published_revisions(home, inbox)
    )
