"""Dagster resources: the installation's home folder and its keyring."""

from pathlib import Path

import dagster as dg

from pipelines.home import Home
from privacy.keys import Keyring
from sources.inbox import Inbox


class RapporteurHome(dg.ConfigurableResource):
    """The RAPPORTEUR_HOME folder: inbox, staging, warehouse and keys."""

    root: str
    demo_keyring: bool = True  # the embedded default: create an unprotected demo keyring on first run

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
