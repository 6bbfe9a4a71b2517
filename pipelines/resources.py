"""Dagster resources: the installation's home folder and its keyring."""

from pathlib import Path

import dagster as dg

from pipelines.home import Home
from privacy import access_log
from privacy.keys import Keyring
from sources.inbox import Inbox


class RapporteurHome(dg.ConfigurableResource):
    """The RAPPORTEUR_HOME folder: inbox, staging, warehouse and keys."""

    root: str
    demo_keyring: bool = True  # the embedded default: create an unprotected demo keyring on first run

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """What this run opens is recorded in the access log as the run's (privacy.access_log)."""
        run = (context.run_id or "")[:8] or "without id"
        job = context.dagster_run.job_name if context.dagster_run else "?"
        access_log.act_as("dagster", f"{job} run {run}")

    def home(self) -> Home:
        return Home(Path(self.root).resolve()).ensure()

    def ledger(self) -> Inbox:
        """The inbox for its ledger only (no key needed)."""
        return Inbox(self.home().inbox)

    def keyring(self, log) -> Keyring:
        keyring, created = self.home().keyring(create_demo=self.demo_keyring)
        if created:
            log.warning("created an UNPROTECTED demo keyring under keys/: for demos only, not for real data")
        return keyring
