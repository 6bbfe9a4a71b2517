"""The international exports as Dagster assets, one per collection, partitioned by reporting year."""

import dagster as dg

from pipelines.assets import guarded_call
from pipelines.partitions import YEARS
from pipelines.resources import RapporteurHome
from reporting.exports.run import KINDS, POPULATION_FILE, make_export
from warehouse.protection import RECORD_FILE, read_record
from warehouse.research import RESEARCH_FILE

PURPOSE = {
    "glotip": "UNODC's Global Report questionnaire tables of one reporting year (XLSX and CSV).",
    "eurostat": "Eurostat's crim_thb dataflows of one reporting year as SDMX-CSV, with Eurostat's flags.",
    "sdg": "SDG indicator 16.2.2 of one reporting year as SDMX-CSV: detected victims, number and per 100,000.",
}


def export_asset(kind: str) -> dg.AssetsDefinition:
    """The `<kind>_export` asset: writes reports/international/<kind>/<year>/ from the published figures.

    The export is read back against its SDMX structure, its totals compared with the research database (so
    the exports agree with each other), and audited with the disclosure model; any failure fails the
    partition and writes nothing.
    """

    @dg.asset(
        name=f"{kind}_export",
        group_name="international",
        deps=["hidden_population"],  # the last step that writes research.duckdb
        partitions_def=YEARS,
        kinds={"csv"},
        description=PURPOSE[kind],
    )
    def _asset(context: dg.AssetExecutionContext, rapporteur: RapporteurHome) -> dg.MaterializeResult:
        home = rapporteur.home()
        year = int(context.partition_key)
        keyring = rapporteur.keyring(context.log)
        record = guarded_call(
            "record of withheld cells", read_record, home.warehouse / RECORD_FILE, keyring.key("database")
        )
        population = home.root / POPULATION_FILE if kind == "sdg" else None
        if population is not None and not population.is_file():
            raise dg.Failure(
                description=f"no population file at {population}: the bureau supplies it (docs/exports.md)"
            )
        out = home.reports / "international" / kind / str(year)
        result = guarded_call(
            f"{kind} export",
            make_export,
            kind,
            home.warehouse / RESEARCH_FILE,
            [year],
            out,
            home.settings.country,
            record,
            home.settings.disclosure_k,
            population,
        )
        return dg.MaterializeResult(
            metadata={
                "year": year,
                "folder": dg.MetadataValue.path(str(out)),
                "files": len(result.files),
                "total_victims": result.totals[year] or "withheld",
                **{f"cells_{status}": n for status, n in sorted(result.statuses.items())},
                "export_sums_audited": result.audit["export_sums"],
            }
        )

    return _asset


def export_assets() -> list[dg.AssetsDefinition]:
    return [export_asset(kind) for kind in KINDS]


def totals_agree(kind: str) -> dg.AssetChecksDefinition:
    """`totals_agree` on `<kind>_export`: every year written agrees with the research database, so with the others."""

    @dg.asset_check(asset=f"{kind}_export", name="totals_agree", blocking=True)
    def _check(context: dg.AssetCheckExecutionContext, rapporteur: RapporteurHome) -> dg.AssetCheckResult:
        """The total of victims of every table of every year written equals the research database's."""
        from reporting.exports.agreement import disagreements, folder_totals
        from reporting.exports.figures import Published

        home = rapporteur.home()
        root = home.reports / "international"
        pub = guarded_call("research database", Published.from_database, home.warehouse / RESEARCH_FILE)
        found = [key for key in folder_totals(root) if key[0] == kind]
        problems = [p for p in disagreements(pub, root) if p.startswith(f"{kind} ")]
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"years_checked": len(found), "disagreements": "; ".join(problems[:10]) or "none"},
        )

    return _check


def export_checks() -> list[dg.AssetChecksDefinition]:
    return [totals_agree(kind) for kind in KINDS]
