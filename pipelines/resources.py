"""Dagster resources: the installation's home folder, its keyring and the settings the steps need."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from application.home import Home
from application.settings import DEFAULT_COUNTRY, DEFAULT_K, DEFAULT_RETENTION_DAYS, HOME_ENV, PASSPHRASE_ENV, Settings
from intake.inbox import Inbox
from privacy import access_log
from privacy.keys import Keyring


class RapporteurHome(dg.ConfigurableResource):
    """The RAPPORTEUR_HOME folder (inbox, staging, warehouse and keys) and the settings of its steps."""

    root: str
    demo_keyring: bool = True  # the embedded default: create an unprotected demo keyring on first run
    passphrase: str | None = None  # through EnvVar(RAPPORTEUR_KEY_PASSPHRASE): never in the run's config
    reporting_period: str = "yearly"
    disclosure_k: int = DEFAULT_K
    baseline_year: int | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    country: str = DEFAULT_COUNTRY

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """What this run opens is recorded in the access log as the run's (privacy.access_log)."""
        run = (context.run_id or "")[:8] or "without id"
        job = context.dagster_run.job_name if context.dagster_run else "?"
        access_log.act_as("dagster", f"{job} run {run}")

    def settings(self) -> Settings:
        return Settings(
            home=Path(self.root).resolve(),
            passphrase=self.passphrase or None,
            reporting_period=self.reporting_period,
            disclosure_k=self.disclosure_k,
            baseline_year=self.baseline_year,
            retention_days=self.retention_days,
            country=self.country,
        )

    def home(self) -> Home:
        return Home(Path(self.root).resolve(), self.settings()).ensure()

    def ledger(self) -> Inbox:
        """The inbox for its ledger only (no key needed)."""
        return Inbox(self.home().inbox)

    def keyring(self, log) -> Keyring:
        keyring, created = self.home().keyring(create_demo=self.demo_keyring)
        if created:
            log.warning("created an UNPROTECTED demo keyring under keys/: for demos only, not for real data")
        return keyring


def rapporteur_resource(settings: Settings, root: Path | None = None) -> RapporteurHome:
    """The resource for `settings`: the home is `root`, else $RAPPORTEUR_HOME through EnvVar (the code location);
    the passphrase always comes through EnvVar, so Dagster never stores or shows it."""
    return RapporteurHome(
        root=str(root) if root is not None else dg.EnvVar(HOME_ENV),
        passphrase=dg.EnvVar(PASSPHRASE_ENV) if settings.passphrase else None,
        reporting_period=settings.reporting_period,
        disclosure_k=settings.disclosure_k,
        baseline_year=settings.baseline_year,
        retention_days=settings.retention_days,
        country=settings.country,
    )
