"""The asset graph: per feed landed -> validated -> pseudonymised -> loaded, then the research database."""

import traceback
from pathlib import Path

import dagster as dg

from pipelines import steps
from pipelines.resources import RapporteurHome
from schemas.standard import feed as feed_spec
from sources.errors import RapporteurError
from warehouse.repository import REPOSITORIES
from warehouse.research import build_research_database

# The status a submission waits in before each step, and the step that moves it on.
STEPS = {
    "validated": ("received", steps.stage_validated),
    "pseudonymised": ("validated", steps.stage_pseudonymised),
    "loaded": ("pseudonymised", steps.load_staged),
}
DESCRIPTIONS = {
    "landed": "New {feed} submissions found in the inbox and registered by content hash.",
    "validated": "{Feed} submissions checked against the common data set; failing rows quarantined with a reason.",
    "pseudonymised": "{Feed} rows with direct identifiers replaced by keyed linkage tokens and generalised fields.",
    "loaded": "{Feed} submissions loaded into the {repo} repository, one transaction each.",
}


def _totals(outcomes: list[steps.Outcome]) -> dict[str, int]:
    return {
        "submissions": len(outcomes),
        "rows_in": sum(o.rows_in for o in outcomes),
        "rows_loaded": sum(o.rows_loaded for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
    }


def validation_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            "submissions_readable",
            asset=asset,
            description="Every submission validated in this run could be read; unusable files are rejected whole.",
        ),
        dg.AssetCheckSpec(
            "dataset_expectations",
            asset=asset,
            description="Great Expectations: completeness, unique record ids, plausible row count, share of unknown "
            "(thresholds warn).",
        ),
    ]


def validation_check_results(outcomes: list[steps.Outcome]) -> list[dg.AssetCheckResult]:
    """Per-submission results of this run: rejections fail (error), expectation misses warn.

    A rejected file never reaches the downstream assets (it leaves the flow for inbox/rejected), so the
    check does not block the feed: that would hold back every other provider's submission too.
    """
    rejected = {f"{o.submission_id} ({o.provider})": o.message or "" for o in outcomes if o.status == "rejected"}
    warned = {f"{o.submission_id} ({o.provider})": "; ".join(o.warnings) for o in outcomes if o.warnings}
    return [
        dg.AssetCheckResult(
            check_name="submissions_readable",
            passed=not rejected,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"submissions": len(outcomes), "rejected": len(rejected), **rejected},
        ),
        dg.AssetCheckResult(
            check_name="dataset_expectations",
            passed=not warned,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"submissions": len(outcomes), "with_warnings": len(warned), **warned},
        ),
    ]


def _guarded(run_step, home, inbox, sub, keyring) -> steps.Outcome:
    """Run one step of one submission (see `_guarded_call`)."""
    return _guarded_call(f"submission {sub.submission_id}", run_step, home, inbox, sub, keyring)


def _guarded_call(label: str, fn, *args):
    """Call `fn`; an error is reported by type and place only, since a library's message may quote data."""
    try:
        return fn(*args)
    except RapporteurError as exc:  # our own messages never hold personal data
        raise dg.Failure(description=f"{label}: {exc.redacted()}") from None
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise dg.Failure(
            description=f"{label}: {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} "
            "(message withheld: it may quote personal data)"
        ) from None


def feed_assets(feed_name: str) -> list[dg.AssetsDefinition]:
    """The four assets of one feed (a factory: both feeds differ only by name)."""
    prefix = feed_spec(feed_name).table
    repo = REPOSITORIES[feed_name][0]
    kwargs = {"feed": feed_name, "Feed": feed_name.capitalize(), "repo": repo}

    @dg.asset(
        name=f"{prefix}_landed",
        group_name=prefix,
        description=DESCRIPTIONS["landed"].format(**kwargs),
        kinds={"python"},
    )
    def landed(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
        inbox = rapporteur.home().sealed_inbox(rapporteur.keyring(context.log))
        new = [s for s in inbox.scan() if s.feed == feed_name]
        waiting = len(inbox.pending(feed_name, "received"))
        context.log.info("%d new %s submission(s); %d waiting for validation", len(new), feed_name, waiting)
        return dg.MaterializeResult(metadata={"new_submissions": len(new), "waiting": waiting})

    def make_step(step: str, upstream: str) -> dg.AssetsDefinition:
        waits_in, run_step = STEPS[step]
        name = f"{prefix}_{step}"

        @dg.asset(
            name=name,
            group_name=prefix,
            deps=[upstream],
            description=DESCRIPTIONS[step].format(**kwargs),
            pool=f"{repo}_repository" if step == "loaded" else None,
            kinds={"duckdb"} if step == "loaded" else {"python"},
            check_specs=validation_check_specs(name) if step == "validated" else None,
        )
        def _asset(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
            home, keyring = rapporteur.home(), rapporteur.keyring(context.log)
            inbox = home.sealed_inbox(keyring)
            outcomes = [_guarded(run_step, home, inbox, sub, keyring) for sub in inbox.pending(feed_name, waits_in)]
            for o in outcomes:
                context.log.info(
                    "submission %s (%s): %s, %d rows in, %d quarantined",
                    o.submission_id,
                    o.provider,
                    o.status,
                    o.rows_in,
                    o.rows_quarantined,
                )
            checks = validation_check_results(outcomes) if step == "validated" else None
            return dg.MaterializeResult(metadata=_totals(outcomes), check_results=checks)

        return _asset

    validated = make_step("validated", f"{prefix}_landed")
    pseudonymised = make_step("pseudonymised", f"{prefix}_validated")
    loaded = make_step("loaded", f"{prefix}_pseudonymised")
    return [landed, validated, pseudonymised, loaded]


@dg.asset_check(asset="victim_assistance_loaded", blocking=True)
def victim_assistance_reconciles(rapporteur: RapporteurHome) -> dg.AssetCheckResult:
    """Every loaded victim-assistance submission accounts for each row: in = loaded + quarantined."""
    return _reconcile(rapporteur, "victim-assistance")


@dg.asset_check(asset="law_enforcement_loaded", blocking=True)
def law_enforcement_reconciles(rapporteur: RapporteurHome) -> dg.AssetCheckResult:
    """Every loaded law-enforcement submission accounts for each row: in = loaded + quarantined."""
    return _reconcile(rapporteur, "law-enforcement")


def _reconcile(rapporteur: RapporteurHome, feed_name: str) -> dg.AssetCheckResult:
    ledger = [r for r in rapporteur.ledger().ledger() if r["feed"] == feed_name and r["status"] == "loaded"]
    broken = [r["submission_id"] for r in ledger if r["rows_in"] != r["rows_loaded"] + r["rows_quarantined"]]
    return dg.AssetCheckResult(
        passed=not broken,
        metadata={"submissions_checked": len(ledger), "not_reconciled": ", ".join(broken) or "none"},
    )


@dg.asset(
    name="research_database",
    group_name="analysis",
    deps=["victim_assistance_loaded", "law_enforcement_loaded"],
    pool="research_database",
    kinds={"duckdb"},
)
def research_database(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """Aggregate tables for researchers and the annual report, rebuilt from both repositories (no pseudonyms)."""
    home, db_key = rapporteur.home(), rapporteur.keyring(context.log).key("database")
    counts = _guarded_call(
        "research database", build_research_database, home.warehouse, db_key, home.disclosure_k(), home.baseline_year()
    )
    context.log.info("research database rebuilt: %s", counts)
    return dg.MaterializeResult(metadata={f"rows_{t}": n for t, n in counts.items()})


@dg.asset(name="annual_report", group_name="analysis", deps=["research_database"], kinds={"html"})
def annual_report(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
    """The annual report for the latest reporting year with data, as one self-contained HTML file."""
    from reporting import write_annual_report

    home = rapporteur.home()
    research = home.warehouse / "research.duckdb"
    year = latest_year(research)
    if year is None:
        context.log.info("no reporting year with data yet: no report written")
        return dg.MaterializeResult(metadata={"year": "none"})
    path = _guarded_call(
        "annual report",
        write_annual_report,
        research,
        year,
        home.reports / f"annual-report-{year}.html",
        home.disclosure_k(),
    )
    return dg.MaterializeResult(metadata={"year": year, "path": dg.MetadataValue.path(str(path))})


def latest_year(research: Path) -> int | None:
    import duckdb

    con = duckdb.connect(str(research), read_only=True)
    try:
        return con.execute("SELECT max(period) FROM indicators").fetchone()[0]
    finally:
        con.close()
