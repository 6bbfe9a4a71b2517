"""The feed assets: per feed and per submission, landed -> validated -> pseudonymised -> loaded."""

import traceback
from pathlib import Path
from typing import Any

import dagster as dg

from application import steps
from errors import RapporteurError, storage_error
from intake.inbox import Inbox, Submission
from pipelines.checks import (
    reconciliation_result,
    reconciliation_spec,
    validation_check_results,
    validation_check_specs,
)
from pipelines.partitions import submission_id_of, submission_partitions
from pipelines.resources import RapporteurHome
from schemas.standard import feed as feed_spec

# DuckDB allows one writer per file, and a reader locks out writers of other processes: every step that
# opens a repository (the loads of both feeds, the research build) takes this pool's one slot.
WAREHOUSE_POOL = "warehouse"

# The status a submission waits in before each step, and the step that moves it on.
STEPS = {
    "validated": ("received", steps.stage_validated),
    "pseudonymised": ("validated", steps.stage_pseudonymised),
    "loaded": ("pseudonymised", steps.load_staged),
}
DESCRIPTIONS = {
    "landed": "A {feed} submission registered in the inbox by content hash (one partition per submission).",
    "validated": "{Feed} submission checked against the common data set; failing rows quarantined with a reason.",
    "pseudonymised": "{Feed} rows with direct identifiers replaced by keyed linkage tokens and generalised fields.",
    "loaded": "{Feed} submission loaded into the {repo} repository in one transaction.",
}


def _guarded(run_step, home, inbox, sub, keyring) -> steps.Outcome:
    """Run one step of one submission (see `guarded_call`)."""
    return guarded_call(f"submission {sub.submission_id}", run_step, home, inbox, sub, keyring)


def guarded_call(label: str, fn, *args):
    """Call `fn`; an error is reported by type and place only, since a library's message may quote data."""
    try:
        return fn(*args)
    except RapporteurError as exc:  # our own messages never hold personal data
        raise dg.Failure(description=f"{label}: {exc.redacted()}") from None
    except Exception as exc:
        fault = storage_error(exc)  # a full or read-only disk: say so (it names only our own file)
        if fault is not None:
            raise dg.Failure(description=f"{label}: {fault}") from None
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise dg.Failure(
            description=f"{label}: {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} "
            "(message withheld: it may quote personal data)"
        ) from None


def _submission(context: dg.AssetExecutionContext, inbox: Inbox) -> Submission:
    """The submission whose partition this run materialises."""
    sub = inbox.get(submission_id_of(context.partition_key))
    if sub is None:
        raise dg.Failure(description=f"submission {context.partition_key} is not in the inbox ledger")
    return sub


def _described(sub: Submission) -> dict[str, str]:
    """Whose submission an asset's materialisation is about, for its metadata in the UI."""
    return {"feed": sub.feed, "provider": sub.provider, "period": sub.period, "submission": sub.submission_id}


def feed_assets(feed_name: str) -> list[dg.AssetsDefinition]:
    """The four assets of one feed, partitioned by submission (a factory: both feeds differ only by name)."""
    prefix = feed_spec(feed_name).table
    repo = feed_spec(feed_name).repository
    partitions = submission_partitions(feed_name)
    kwargs = {"feed": feed_name, "Feed": feed_name.capitalize(), "repo": repo}

    @dg.asset(
        name=f"{prefix}_landed",
        group_name=prefix,
        partitions_def=partitions,
        description=DESCRIPTIONS["landed"].format(**kwargs),
        kinds={"python"},
    )
    def landed(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
        sub = _submission(context, rapporteur.ledger())
        if not sub.path.exists():
            raise dg.Failure(description=f"submission {sub.submission_id}: its sealed file is missing from the inbox")
        return dg.MaterializeResult(metadata=_described(sub) | {"status": sub.status, "received_at": sub.received_at})

    def make_step(step: str, upstream: str) -> dg.AssetsDefinition:
        waits_in, run_step = STEPS[step]
        name = f"{prefix}_{step}"
        specs = {"validated": validation_check_specs(name), "loaded": [reconciliation_spec(name)]}

        @dg.asset(
            name=name,
            group_name=prefix,
            deps=[upstream],
            partitions_def=partitions,
            description=DESCRIPTIONS[step].format(**kwargs),
            pool=WAREHOUSE_POOL if step == "loaded" else None,
            kinds={"duckdb"} if step == "loaded" else {"python"},
            check_specs=specs.get(step),
        )
        def _asset(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
            home, keyring = rapporteur.home(), rapporteur.keyring(context.log)
            inbox = home.sealed_inbox(keyring)
            sub = _submission(context, inbox)
            if step != "validated" and sub.status != waits_in:  # validation may re-run any submission
                raise dg.Failure(
                    description=f"submission {sub.submission_id} is {sub.status}, not {waits_in}: "
                    f"materialise {upstream} for it first"
                )
            o = _guarded(run_step, home, inbox, sub, keyring)
            context.log.info(
                "submission %s (%s): %s, %d rows in, %d quarantined",
                o.submission_id,
                o.provider,
                o.status,
                o.rows_in,
                o.rows_quarantined,
            )
            checks = None
            if step == "validated":
                checks = validation_check_results(o)
            elif step == "loaded":
                checks = [reconciliation_result(inbox.record(sub.submission_id) or {})]
            metadata: dict[str, Any] = _described(sub) | {"status": o.status, "rows_in": o.rows_in}
            metadata |= {"rows_loaded": o.rows_loaded, "rows_quarantined": o.rows_quarantined}
            return dg.MaterializeResult(metadata=metadata, check_results=checks)

        return _asset

    validated = make_step("validated", f"{prefix}_landed")
    pseudonymised = make_step("pseudonymised", f"{prefix}_validated")
    loaded = make_step("loaded", f"{prefix}_pseudonymised")
    return [landed, validated, pseudonymised, loaded]
