"""The reporting cycle on the command line: `period` (sign-off, approval, locks), `revision` (proposed
revisions to locked periods) and `release` (what was published, immutable, and the revisions since)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from cli.support import installation, user_errors
from intake.agreements import HELD_NO_AGREEMENT
from intake.inbox import Inbox
from intake.periods import ALL_PROVIDERS, operator
from schemas.standard import FEEDS, check_submission_args

period_app = typer.Typer(
    help="The reporting cycle of a period: status, signoff (providers), approve and unlock (the bureau).",
    no_args_is_help=True,
)
revision_app = typer.Typer(
    help="Proposed revisions to locked periods: list, accept, reject (the bureau).", no_args_is_help=True
)
release_app = typer.Typer(
    help="Releases of the annual report: make, list, verify, compare, and revisions of published figures.",
    no_args_is_help=True,
)
PeriodArg = Annotated[str, typer.Option("--period", help="'all', a year (2024) or a quarter (2024-Q1)")]
ProviderScope = Annotated[
    str | None, typer.Option("--provider", help="One provider id (default: every provider of the period).")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger; never a person's name).")]


def _inbox() -> Inbox:
    """The inbox's ledger: the cycle's decisions need no keyring (they never read a submission)."""
    return Inbox(installation("never").inbox)


def _scope(provider: str | None, period: str) -> str:
    check_submission_args(FEEDS[0], provider or "x", period)
    return provider or ALL_PROVIDERS


@period_app.command("status")
@user_errors
def status(
    periods: Annotated[
        list[str] | None, typer.Argument(help="The periods to show (default: every period submitted for).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Per period, feed and provider: missing, submitted, signed_off or approved, and revisions held."""
    from application.cycle import period_states

    for p in periods or []:
        check_submission_args(FEEDS[0], "x", p)
    states = period_states(_inbox(), periods)
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in states]))
        return
    if not states:
        typer.echo("No periods yet: nothing has been submitted.")
    for s in states:
        held = f", {s.revisions_held} revision(s) held" if s.revisions_held else ""
        typer.echo(f"{s.period:8} {s.feed:18} {s.provider:24} {s.state}{held}")


@period_app.command("signoff")
@user_errors
def signoff(
    feed: Annotated[str, typer.Option("--feed", help="law-enforcement or victim-assistance")],
    provider: Annotated[str, typer.Option("--provider", help="Your provider id.")],
    period: PeriodArg,
) -> None:
    """Mark your loaded submission in force for the period (its own, or a whole-history one covering it) final."""
    from application.cycle import in_force

    check_submission_args(feed, provider, period)
    inbox = _inbox()
    current = in_force(inbox, feed, provider, period)
    sid = inbox.periods.sign_off(feed, provider, period, current, operator())
    typer.echo(f"signed off submission {sid} ({feed}, {provider}, period {period}) as final")


@period_app.command("approve")
@user_errors
def approve(period: PeriodArg, provider: ProviderScope = None) -> None:
    """Approve a period (every provider, or one): it is locked, and new submissions to it wait as revisions."""
    from application.cycle import period_states

    scope = _scope(provider, period)
    inbox = _inbox()
    before = period_states(inbox, [period])
    new, held = inbox.approve(period, scope, operator())
    who = "every provider" if scope == ALL_PROVIDERS else scope
    typer.echo(
        f"approved period {period} for {who}: locked" if new else f"period {period} was already approved for {who}"
    )
    for sub in held:
        typer.echo(f"held {sub.submission_id} ({sub.provider}): received before approval, now a proposed revision")
    for s in before:
        if new and scope in (ALL_PROVIDERS, s.provider) and s.state in ("missing", "submitted"):
            typer.echo(f"note: {s.provider} ({s.feed}) had not signed off period {period} (it was {s.state})")


@period_app.command("unlock")
@user_errors
def unlock(period: PeriodArg, reason: ReasonOpt, provider: ProviderScope = None) -> None:
    """Lift an approval (recorded with who, when and why): submissions load again without the bureau's accept."""
    scope = _scope(provider, period)
    _inbox().periods.unlock(period, scope, operator(), reason)
    typer.echo(f"unlocked period {period} for {'every provider' if scope == ALL_PROVIDERS else scope}")


@revision_app.command("list")
@user_errors
def list_revisions(
    all_: Annotated[bool, typer.Option("--all", help="Also those already decided.")] = False,
) -> None:
    """Proposed revisions: submission, provider, period, reason, and the decision once made."""
    inbox = _inbox()
    rows = inbox.periods.revisions(waiting_only=not all_)
    if not rows:
        typer.echo("No proposed revisions." if all_ else "No proposed revisions waiting for a decision.")
    for r in rows:
        sub = inbox.get(r["submission_id"])
        where = f"{sub.feed}, {sub.provider}, period {sub.period}" if sub else "?"
        decided = f" -> {r['decision']} by {r['decided_by']} {r['decided_at']}" if r["decision"] else ""
        typer.echo(f"{r['submission_id']} ({where}) held {r['held_at']}: {r['reason']}{decided}")


@revision_app.command("accept")
@user_errors
def accept(submission: Annotated[str, typer.Argument(help="The submission id of the revision.")]) -> None:
    """Accept a proposed revision: the next `rapporteur run` loads it and it supersedes the approved one."""
    sub = _inbox().accept_revision(submission, operator())
    typer.echo(f"accepted {sub.submission_id} ({sub.provider}, period {sub.period}): the next run loads it")


@revision_app.command("reject")
@user_errors
def reject(submission: Annotated[str, typer.Argument(help="The submission id.")], reason: ReasonOpt) -> None:
    """Reject a proposed revision: nothing is loaded; the file is kept under inbox/rejected/ with the reason."""
    sub = _inbox().reject_revision(submission, operator(), reason)
    typer.echo(f"rejected {sub.submission_id} ({sub.provider}, period {sub.period})")


YearOpt = Annotated[int, typer.Option("--year", help="The reporting year of the annual report.")]


@release_app.command("make")
@user_errors
def make(year: YearOpt) -> None:
    """Release the annual report of YEAR: an immutable snapshot of every research table as published, the
    report, the code and data-standard versions and checksums. Refused unless the period is approved."""
    from application.cycle import release_blockers, release_year
    from errors import RapporteurError

    home = installation("never")
    inbox = Inbox(home.inbox)
    blockers = release_blockers(home, inbox, year)
    if blockers:
        raise RapporteurError(f"cannot release {year}: " + "; ".join(blockers))
    rel = release_year(home, inbox, year, operator())
    typer.echo(f"released {rel.name} in {rel.path} ({len(rel.manifest['sha256'])} files, read-only)")


@release_app.command("list")
@user_errors
def list_releases() -> None:
    """Every release: name, when, by whom, code and data-standard versions."""
    from reporting.releases import releases

    found = releases(installation("never").releases)
    if not found:
        typer.echo("No releases yet: `rapporteur release make --year YEAR` makes one.")
    for rel in found:
        m = rel.manifest
        typer.echo(
            f"{rel.name}  made {m['made_at']} by {m['made_by']}  code {m['code_version']}  "
            f"standard {m['data_standard_version']}  {rel.path}"
        )


@release_app.command("verify")
@user_errors
def verify_release(name: Annotated[str, typer.Argument(help="The release, e.g. 2024-r1.")]) -> None:
    """Check every file of a release against its checksums and render its report again from its own tables:
    exit 0 when it is intact and reproduces byte for byte, 1 otherwise."""
    from reporting.releases import release, verify

    rel = release(installation("never").releases, name)
    problems = verify(rel)
    for p in problems:
        typer.echo(f"rapporteur: {rel.name}: {p}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{rel.name}: intact; its report reproduces byte for byte from its tables")


@release_app.command("compare")
@user_errors
def compare_releases(
    old: Annotated[str, typer.Argument(help="The earlier release, e.g. 2024-r1.")],
    new: Annotated[str, typer.Argument(help="The later release (default: the research database now).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """The published figures that differ between two releases (or a release and the research database now)."""
    from reporting.releases import compare, figures, release
    from warehouse.research import RESEARCH_FILE

    home = installation("never")
    before = figures(release(home.releases, old))
    after = figures(release(home.releases, new) if new else home.warehouse / RESEARCH_FILE)
    _print_changes(compare(before, after), as_json)


@release_app.command("revisions")
@user_errors
def revisions_since(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False) -> None:
    """Figures already published in a release that the research database now changes, with the release and why:
    the revision table the next report carries."""
    from application.cycle import published_revisions

    home = installation("never")
    changes = published_revisions(home, Inbox(home.inbox))
    if changes is None:
        typer.echo("No releases yet: nothing published can have been revised.")
        return
    _print_changes(changes, as_json)


def _print_changes(changes: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(changes, default=str))
        return
    if not changes:
        typer.echo("No published figure differs.")
    for c in changes:
        extra = f"  ({c['release']}: {c['reason']})" if "release" in c else ""
        typer.echo(
            f"{c['indicator']} {c['period']} {c['dimension']}={c['category']}: "
            f"{_shown(c['published'])} -> {_shown(c['now'])}{extra}"
        )


def _shown(value) -> str:
    return "suppressed" if value is None else str(value)


agreements_app = typer.Typer(
    help="The register of data-sharing agreements: add, list (with those expiring soon).", no_args_is_help=True
)


@agreements_app.command("add")
@user_errors
def add_agreement(
    reference: Annotated[str, typer.Option("--reference", help="The agreement's reference, e.g. DPA-2026-04.")],
    provider: Annotated[str, typer.Option("--provider", help="The provider id.")],
    feed: Annotated[list[str], typer.Option("--feed", help="A feed it covers (repeat for both).")],
    purposes: Annotated[str, typer.Option("--purposes", help="What the data may be used for, as agreed.")],
    valid_from: Annotated[str, typer.Option("--valid-from", help="First day it applies (YYYY-MM-DD).")],
    valid_to: Annotated[str, typer.Option("--valid-to", help="Last day it applies (YYYY-MM-DD).")],
) -> None:
    """Register an agreement; submissions held for want of it are released to the next run."""
    import datetime as dt

    from errors import UnusableInput
    from intake.agreements import Agreement

    for f in feed:
        check_submission_args(f, provider, "all")
    try:
        start, end = dt.date.fromisoformat(valid_from), dt.date.fromisoformat(valid_to)
    except ValueError:
        raise UnusableInput("--valid-from and --valid-to are dates written YYYY-MM-DD") from None
    inbox = _inbox()
    agreement = Agreement(
        reference.strip()[:80], provider, tuple(sorted(set(feed))), purposes.strip()[:500], start, end
    )
    inbox.agreements.add(agreement, operator())
    released = inbox.release_agreement_holds(provider, agreement.feeds)
    typer.echo(f"registered {agreement.reference} for {provider} ({', '.join(agreement.feeds)}), {start} to {end}")
    for sub in released:
        typer.echo(f"released {sub.submission_id} ({sub.feed}, period {sub.period}): the next run loads it")


@agreements_app.command("list")
@user_errors
def list_agreements(
    expiring: Annotated[int, typer.Option("--expiring", min=0, help="Days ahead that count as 'expires soon'.")] = 60,
) -> None:
    """Every agreement, marking those that have ended or end within --expiring days."""
    import datetime as dt

    inbox = _inbox()
    found = inbox.agreements.all()
    if not found:
        typer.echo("No agreements registered: submissions are not checked against agreements until the first one.")
    today = dt.date.today()
    soon = {a.reference for a in inbox.agreements.expiring(expiring, today)}
    for a in found:
        mark = "ENDED" if a.valid_to < today else "EXPIRES SOON" if a.reference in soon else "valid"
        typer.echo(
            f"{a.reference}  {a.provider}  {','.join(a.feeds)}  {a.valid_from} to {a.valid_to}  {mark}  ({a.purposes})"
        )
    held = [r for r in inbox.ledger() if r["status"] == "held" and r["message"] == HELD_NO_AGREEMENT]
    for r in held:
        typer.echo(f"held: {r['submission_id']} ({r['provider']}, {r['feed']}, period {r['period']}): no agreement")
