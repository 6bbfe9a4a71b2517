"""Where the product keeps its state, and how a command finds it: the one place the installation is resolved.

An installation is a folder holding `inbox/` and `warehouse/`. A command uses $RAPPORTEUR_HOME (the settings'
`home`) when it is set; otherwise the nearest installation found walking up from the working directory (the
folder itself or its `var/`). Only `run` and `keys init` create one in `./var`; commands that write create one
only at a $RAPPORTEUR_HOME the user set; commands that only read never create one. Otherwise: one line, exit 2.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from application.settings import HOME_ENV, Settings
from errors import KeyringError, NoInstallation
from intake.inbox import Inbox
from privacy import access_log
from privacy.keys import Keyring, create_demo_keyring, keyring_path, load_keyring
from privacy.sealed import Sealer

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = "var"
# The embedded instance configuration as earlier releases copied it (storage under $DAGSTER_HOME): replaced by
# the current one, which needs no environment, unless the bureau edited it.
EARLIER_INSTANCE_YAML = {"e6ca6a2626bee1c67a230d84562657bbb4e2cc8da6f7b07ebc697355b637ff59"}


@dataclass(frozen=True)
class Home:
    """The folders of one installation, and the settings it is worked on with."""

    root: Path
    settings: Settings = field(default_factory=Settings, compare=False)

    @classmethod
    def located(cls, settings: Settings, create: str = "never") -> Home:
        """The installation a command works on (see `locate`); its folders are made unless `create` is "never"."""
        home = cls(locate(settings.home, create), settings)
        return home if create == "never" else home.ensure()

    def exists(self) -> bool:
        return is_installation(self.root)

    inbox = property(lambda self: self.root / "inbox")
    warehouse = property(lambda self: self.root / "warehouse")
    dagster = property(lambda self: self.root / "dagster")
    reports = property(lambda self: self.root / "reports")
    keys = property(lambda self: self.root / "keys")
    staging = property(lambda self: self.root / "staging")
    samples = property(lambda self: self.root / "samples")
    audit = property(lambda self: self.root / "audit")  # the access log (privacy.access_log)
    releases = property(lambda self: self.root / "releases")  # what was published, immutable (reporting.releases)

    def ensure(self) -> Home:
        """Create the folders and the embedded Dagster instance configuration if missing."""
        for folder in (self.inbox, self.warehouse, self.dagster, self.reports, self.keys, self.staging):
            folder.mkdir(parents=True, exist_ok=True)
        self.keys.chmod(0o700)
        self.staging.chmod(0o700)
        instance_yaml = self.dagster / "dagster.yaml"
        if not instance_yaml.exists() or _digest(instance_yaml) in EARLIER_INSTANCE_YAML:
            shutil.copyfile(REPO_ROOT / "dagster.yaml", instance_yaml)
        return self

    def keyring(self, create_demo: bool = False) -> tuple[Keyring, bool]:
        """The keyring, and whether it was just created as an unprotected demo keyring."""
        if not keyring_path(self.keys).exists():
            self.refuse_new_keyring()
            if create_demo:
                return self._logged(create_demo_keyring(self.keys)), True
        return self._logged(load_keyring(self.keys, self.settings.passphrase)), False

    def _logged(self, keyring: Keyring) -> Keyring:
        """From the keyring's opening on, this process records what it opens in the installation's access log."""
        access_log.bind(self.audit, keyring.key("access-log"))
        access_log.record("open", "keyring")
        return keyring

    def refuse_new_keyring(self) -> None:
        """A missing keyring on an installation that holds data is restored, never replaced: a new one could
        open none of it, and new files would be sealed under the wrong key."""
        if self.holds_data():
            raise KeyringError(
                f"no keyring at {keyring_path(self.keys)}, but this installation holds data: restore the keyring "
                "from the bureau's backup (a new one cannot open what is already stored)"
            )

    def holds_data(self) -> bool:
        """True once anything sealed or encrypted under a keyring exists: repositories or inbox submissions."""
        return any(self.warehouse.glob("*.duckdb")) or any(self.inbox.rglob("*.sealed"))

    def sealed_inbox(self, keyring: Keyring) -> Inbox:
        """The inbox, able to seal and read submissions with the keyring's inbox key."""
        return Inbox(self.inbox, Sealer(keyring.key("inbox")))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_installation(folder: Path) -> bool:
    """Whether `folder` holds an installation (what `Home.ensure` creates)."""
    return (folder / "inbox").is_dir() and (folder / "warehouse").is_dir()


def locate(explicit: Path | None, create: str = "never", cwd: Path | None = None) -> Path:
    """The installation's folder: `explicit` ($RAPPORTEUR_HOME), else the nearest one up from `cwd` (itself or
    its `var/`).

    `create` says where a folder that holds none yet is acceptable: "never" (commands that only read),
    "explicit" (commands that write: at a $RAPPORTEUR_HOME the user set) or "here" (commands that set one
    up: also `./var`). Otherwise a missing installation is a one-line error saying how to point at one.
    """
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if create != "never" or is_installation(root):
            return root
        raise NoInstallation(
            f"{HOME_ENV}={root} holds no installation yet: point {HOME_ENV} at an existing one, "
            "or set one up there with `rapporteur run`"
        )
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for candidate in (folder, folder / DEFAULT_HOME):
            if is_installation(candidate):
                return candidate
    if create == "here":
        return here / DEFAULT_HOME
    raise NoInstallation(
        f"no installation found in {here} or above it: set {HOME_ENV} to its folder "
        "(e.g. export RAPPORTEUR_HOME=/srv/rapporteur/var), run the command from inside it, "
        "or set one up with `rapporteur run`"
    )
