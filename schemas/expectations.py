"""Dataset-level expectations of a submission, as one Great Expectations 1.x suite per feed.

Row-level rules live in pandera (`schemas.rules`); what pandera expresses poorly is a property of the
whole submission: how complete a column is, whether the provider's record ids are unique, whether the
number of rows is plausible against the provider's earlier submissions and how often "unknown" is
used. Every expectation here is a warning: it is reported, it never blocks a load.

Privacy: identifier columns never reach Great Expectations (they are dropped here even if the caller
left them in), and text columns reach it only as what the checks need (`compact_frame`): the record id as
the row where it first occurs, a case id as given or blank, because Data Docs render unexpected values
and a provider can trace its own record id to a person. Coded columns go in as they are: a provider's raw
unmapped value may appear in Data Docs (the bureau's reports blank them first: `without_values`).

`great_expectations` takes ~3 s to import, so it is imported only when its Data Docs are wanted (`_run_gx`;
without them the suite is measured in pandas, `_measure`), and the modules it loads only for expectations
this suite never uses (`DEFERRED_MODULES`) wait for their first use.
"""

from __future__ import annotations

import importlib.util
import re
import statistics
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.standard import Feed, codelists

# Completeness thresholds (share of non-blank cells). A required column is blank only by mistake (the
# row is quarantined by the row-level `required` rule), so anything above 1% blank points at a
# systematic extraction problem. An optional column is legitimately blank for many rows (e.g. no
# conviction yet, no sentence), so only "blank for most rows" (< 50% filled) is worth a warning.
MOSTLY_REQUIRED = 0.99
MOSTLY_OPTIONAL = 0.5
# "unknown" is a code of its own; more than 20% of a dimension recorded as unknown weakens the statistics.
MAX_UNKNOWN_SHARE = 0.2
UNKNOWN = "unknown"
# Row count plausible: between half and twice the median of the provider's previous submissions.
ROW_COUNT_LOW, ROW_COUNT_HIGH = 0.5, 2.0
# What Data Docs may show of unexpected values: only codes and row labels ever go in (see module doc).
# BASIC: counts and up to 20 unexpected values. SUMMARY would also list the index of every unexpected
# row (every blank or "unknown" cell: a Python list as long as the file), 2.3x the time at 3 million rows.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 20}
SEVERITY = "warning"


@dataclass
class ExpectationResult:
    """The outcome of one expectation, in words a provider can read."""

    name: str  # short stable id, e.g. "completeness:sex", "unique:provider_record_id", "row_count_plausible"
    column: str | None
    success: bool
    observed: str
    expected: str
    severity: str = SEVERITY  # always "warning": dataset-level expectations never block


@dataclass
class ExpectationReport:
    """Every expectation's result, and the Data Docs index when a site was written."""

    results: list[ExpectationResult]
    docs_index: Path | None = None

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]


@dataclass(frozen=True)
class _Spec:
    """One expectation to build: our stable name, its column, the GX class name and its arguments."""

    name: str
    column: str | None
    gx_type: str
    kwargs: dict
    expected: str


FIRST_ROW_SUFFIX = "__first_row"  # the provider's record id, as the row where it first occurs
GIVEN_SUFFIX = "__given"  # another text column (a case id), as given or blank


def compact_frame(frame: pd.DataFrame, feed: Feed, first_rows: pd.Series | None = None) -> pd.DataFrame:
    """Only what Great Expectations needs of standardised rows, in little memory and without any id.

    Coded, date and number columns become categoricals (a few distinct values each: small integer codes, and
    GX filters them far faster than strings). The provider's record id becomes the data row where that id
    first occurs in the file (`first_rows`, worked out across batches by the caller; by default from `frame`
    itself): equal ids get equal labels, so uniqueness is checked exactly, but Data Docs, which render
    unexpected values, show row numbers, never an id (a provider can trace its own record id to a person).
    Other text columns (a case id) become "given" or blank: completeness is all that is checked of them.
    Identifier columns never reach this frame. Already compact columns pass through unchanged.
    """
    data = {}
    for col in feed.columns.values():
        if col.identifier:
            continue
        if col.name == "provider_record_id" and col.name in frame:
            if first_rows is None:
                first_rows = frame.groupby(col.name, dropna=True)["_row"].transform("min")
            labels = "Int32" if len(first_rows) == 0 or first_rows.max() < 2**31 else "Int64"
            data[col.name + FIRST_ROW_SUFFIX] = pd.array(first_rows.where(frame[col.name].notna()), labels)
        elif col.type == "text" and col.name in frame:
            data[col.name + GIVEN_SUFFIX] = pd.Categorical(frame[col.name].notna().map({True: "given", False: None}))
        elif col.name in frame:
            values = frame[col.name]
            data[col.name] = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
        else:
            for suffix in (FIRST_ROW_SUFFIX, GIVEN_SUFFIX):
                if col.name + suffix in frame:
                    data[col.name + suffix] = frame[col.name + suffix]
    return pd.DataFrame(data, index=pd.RangeIndex(len(frame)), copy=False)


def concat_compact(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Compact frames of successive batches as one (categories unified, column by column)."""
    if not parts:
        return pd.DataFrame()
    if len(parts) == 1:
        return parts[0]
    data = {}
    for name in parts[0].columns:
        columns = [p[name] for p in parts]
        if isinstance(columns[0].dtype, pd.CategoricalDtype):
            data[name] = pd.api.types.union_categoricals([c.array for c in columns])
        else:
            data[name] = pd.concat(columns, ignore_index=True)
    return pd.DataFrame(data)


def _gx_names(frame: pd.DataFrame, feed: Feed) -> dict[str, str]:
    """Per standard column, the name of its column in a compact frame."""
    names = {}
    for col in feed.columns.values():
        for gx_name in (col.name, col.name + FIRST_ROW_SUFFIX, col.name + GIVEN_SUFFIX):
            if gx_name in frame.columns and not col.identifier:
                names[col.name] = gx_name
    return names


def _raised(exception_info: dict | None) -> bool:
    """Whether GX caught an exception evaluating an expectation (flat or keyed by metric)."""
    info = exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _specs(feed: Feed, names: dict[str, str], previous_row_counts: Sequence[int]) -> list[_Spec]:
    specs = []
    for col, gx_col in names.items():
        mostly = MOSTLY_REQUIRED if feed.columns[col].required else MOSTLY_OPTIONAL
        specs.append(
            _Spec(
                f"completeness:{col}",
                col,
                "ExpectColumnValuesToNotBeNull",
                {"column": gx_col, "mostly": mostly},
                f"at least {mostly:.0%} complete" + (" (required)" if feed.columns[col].required else " (optional)"),
            )
        )
    if "provider_record_id" in names:
        specs.append(
            _Spec(
                "unique:provider_record_id",
                "provider_record_id",
                "ExpectColumnValuesToBeUnique",
                {"column": names["provider_record_id"]},
                "every provider record id used once",
            )
        )
    previous = [int(n) for n in previous_row_counts]
    if previous:
        median = statistics.median(previous)
        low, high = round(ROW_COUNT_LOW * median), round(ROW_COUNT_HIGH * median)
        specs.append(
            _Spec(
                "row_count_plausible",
                None,
                "ExpectTableRowCountToBeBetween",
                {"min_value": low, "max_value": high},
                f"{low:,}-{high:,} rows (half to twice the median {median:,.0f} of "
                f"{len(previous)} previous submission{'s' if len(previous) != 1 else ''})",
            )
        )
    lists = codelists()
    for col, gx_col in names.items():
        c = feed.columns[col]
        if c.type == "code" and c.codelist and UNKNOWN in lists[c.codelist]:
            specs.append(
                _Spec(
                    f"unknown_share:{col}",
                    col,
                    "ExpectColumnValuesToNotBeInSet",
                    {"column": gx_col, "value_set": [UNKNOWN], "mostly": round(1 - MAX_UNKNOWN_SHARE, 6)},
                    f'at most {MAX_UNKNOWN_SHARE:.0%} "unknown" (of non-blank cells)',
                )
            )
    return specs


def _observed(spec: _Spec, result: dict, previous_row_counts: Sequence[int]) -> str:
    if spec.gx_type == "ExpectTableRowCountToBeBetween":
        observed = int(result.get("observed_value", 0))
        lo, hi = min(previous_row_counts), max(previous_row_counts)
        before = f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"
        return f"{observed:,} rows vs {before} before"
    total = int(result.get("element_count", 0))
    unexpected = int(result.get("unexpected_count", 0) or 0)
    if spec.gx_type == "ExpectColumnValuesToNotBeNull":
        share = 1.0 if total == 0 else (total - unexpected) / total
        return f"{share:.1%} complete ({unexpected:,} of {total:,} blank)"
    if spec.gx_type == "ExpectColumnValuesToBeUnique":
        return "all unique" if unexpected == 0 else f"{unexpected:,} rows share a record id with another row"
    # ExpectColumnValuesToNotBeInSet: GX measures the share among non-blank cells.
    non_blank = total - int(result.get("missing_count", 0) or 0)
    share = 0.0 if non_blank == 0 else unexpected / non_blank
    return f"{share:.1%} unknown ({unexpected:,} of {non_blank:,})"


# Modules Great Expectations imports at start-up for expectations this suite never uses (a KL-divergence
# expectation and its chart): about half of its import time. They are imported on first use instead.
DEFERRED_MODULES = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then becomes that module."""

    def __getattr__(self, attribute: str):
        if attribute.startswith("__") and attribute not in ("__path__", "__all__", "__version__"):
            raise AttributeError(attribute)  # a probe (inspect, pickle) of a module not yet used loads nothing
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def _import_gx():
    """Import `great_expectations`, deferring the modules in `DEFERRED_MODULES` that are not loaded yet."""
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_MODULES:
            if name not in sys.modules and importlib.util.find_spec(name.split(".")[0]) is not None:
                stand_in = _Deferred(name)
                stand_in.__spec__ = importlib.util.spec_from_loader(name, loader=None)
                sys.modules[name] = stand_in
    import great_expectations

    return great_expectations


def run_expectations(
    frame: pd.DataFrame,
    feed: Feed,
    previous_row_counts: Sequence[int] = (),
    docs_dir: Path | None = None,
    run_name: str = "submission",
) -> ExpectationReport:
    """Validate `frame` (standardised rows, as pandera sees them) against the feed's expectation suite.

    `previous_row_counts` are the row counts of the provider's earlier submissions of this feed; without
    them the row-count expectation is left out. With `docs_dir`, a Data Docs site for this validation is
    written in `docs_dir` (its index.html is returned) and nothing is written anywhere else.

    Without `docs_dir` nothing of Great Expectations is wanted but the results, so the suite is measured
    directly on the compact frame (`_measure`, the same counts and the same pass rule as GX 1.x) and
    `great_expectations` is never imported: its ~3 s import was most of `rapporteur validate`'s start-up.
    """
    gx_frame = compact_frame(frame, feed)
    if docs_dir is None:
        specs = _specs(feed, _gx_names(gx_frame, feed), previous_row_counts)
        results = []
        for spec in specs:
            success, measured = _measure(spec, gx_frame)
            observed = _observed(spec, measured, previous_row_counts)
            results.append(ExpectationResult(spec.name, spec.column, success, observed, spec.expected))
        return ExpectationReport(results)
    return _run_gx(gx_frame, feed, previous_row_counts, docs_dir, run_name)


def _measure(spec: _Spec, gx_frame: pd.DataFrame) -> tuple[bool, dict]:
    """One expectation of the suite measured in pandas: its success and the counts GX reports as `result`.

    GX 1.x's rules: a row count must lie between its bounds; "not null" counts every row; "unique" and "not
    in set" count non-blank cells only (blank cells are `missing_count`); with no row, or no non-blank cell,
    an expectation holds; otherwise it holds when the share of expected cells is at least `mostly` (1.0
    when not given). Tested against GX itself (tests/schemas/test_expectations.py).
    """
    kwargs = spec.kwargs
    total = len(gx_frame)
    if spec.gx_type == "ExpectTableRowCountToBeBetween":
        return kwargs["min_value"] <= total <= kwargs["max_value"], {"observed_value": total}
    column = gx_frame[kwargs["column"]]
    mostly = kwargs.get("mostly", 1.0)
    nulls = int(column.isna().sum())
    if spec.gx_type == "ExpectColumnValuesToNotBeNull":
        success = total == 0 or (total - nulls) / total >= mostly
        return success, {"element_count": total, "unexpected_count": nulls}
    values = column.dropna()
    if spec.gx_type == "ExpectColumnValuesToBeUnique":
        unexpected = int(values.duplicated(keep=False).sum())
    else:  # ExpectColumnValuesToNotBeInSet
        unexpected = int(values.isin(kwargs["value_set"]).sum())
    considered = total - nulls
    success = total == 0 or considered == 0 or (considered - unexpected) / considered >= mostly
    return success, {"element_count": total, "missing_count": nulls, "unexpected_count": unexpected}


def _run_gx(
    gx_frame: pd.DataFrame, feed: Feed, previous_row_counts: Sequence[int], docs_dir: Path, run_name: str
) -> ExpectationReport:
    """The suite run by Great Expectations itself, writing its Data Docs site in `docs_dir`."""
    gx = _import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # The run name becomes a folder of the docs site: keep it to a safe file name.
    run_name = re.sub(r"[^A-Za-z0-9._-]+", "_", run_name).strip("._") or "submission"
    # GX keeps, for each "not in set" and "unique" expectation, the rows it filtered with their labels until
    # the suite is done: 32-bit labels rather than 64-bit (what a RangeIndex gives when filtered) take a third
    # off its memory per row (131 to 97 bytes at 3 million rows).
    labels = np.int32 if len(gx_frame) < 2**31 else np.int64
    gx_frame = gx_frame.set_axis(pd.Index(np.arange(len(gx_frame), dtype=labels)), axis=0)
    names = _gx_names(gx_frame, feed)
    specs = _specs(feed, names, previous_row_counts)

    site = "rapporteur"
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    sites = {
        site: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    # Ephemeral context: every store in memory; the only thing written to disk is the docs site above.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        # No analytics, nothing that could reach the network: GX 1.24.1 ships no usage-statistics client and
        # never calls its PyPI version check; a context's own `analytics_enabled` wins over GX_ANALYTICS_ENABLED,
        # in case a later release brings them back. (The Data Docs pages link CSS/JS from public CDNs: a browser
        # opening them may fetch those; nothing in this process does.)
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites=sites,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    batch = (
        context.data_sources.add_pandas("submission")
        .add_dataframe_asset(feed.table)
        .add_batch_definition_whole_dataframe("whole submission")
    )
    # The suite is stored once, with all its expectations (adding them one by one stores it each time).
    expectations = [
        getattr(gx.expectations, spec.gx_type)(**spec.kwargs, meta={"rapporteur": spec.name}) for spec in specs
    ]
    suite = context.suites.add(gx.ExpectationSuite(name=feed.name, expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{feed.name} {run_name}", data=batch, suite=suite)
    )
    actions = [gx.checkpoint.UpdateDataDocsAction(name="data docs", site_names=[site])]
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=feed.name, validation_definitions=[definition], actions=actions, result_format=RESULT_FORMAT)
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": gx_frame}, run_id=gx.RunIdentifier(run_name=run_name))

    by_name = {}
    for validation in outcome.run_results.values():
        for r in validation.results:
            by_name[(r.expectation_config.meta or {}).get("rapporteur")] = r
    results = []
    for spec in specs:
        r = by_name.get(spec.name)
        raised = r is None or _raised(r.exception_info)
        observed = (
            "could not be evaluated"
            if r is None or raised
            else _observed(spec, dict(r.result or {}), previous_row_counts)
        )
        results.append(
            ExpectationResult(spec.name, spec.column, bool(r is not None and r.success), observed, spec.expected)
        )
    index = docs_dir / "index.html"
    return ExpectationReport(results, index if index.exists() else None)
