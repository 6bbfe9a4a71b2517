"""`rapporteur keys`: create, protect, inspect and rotate the bureau's keyring."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from application.settings import Settings
from cli.support import installation, user_errors
from errors import KeyringError
from privacy.keys import (
    PASSPHRASE_ENV,
    issue_provider_keys,
    keyring_path,
    load_keyring,
    new_keyring,
    save_keyring,
)

keys_app = typer.Typer(help="The bureau's keyring: init, status, rotate, issue.", no_args_is_help=True)


def _passphrase(settings: Settings) -> str:
    passphrase = settings.passphrase
    if not passphrase:
        raise KeyringError(f"set {PASSPHRASE_ENV} to the passphrase that protects the keyring")
    return passphrase


@keys_app.command()
@user_errors
def init() -> None:
    """Create a keyring protected by the passphrase in RAPPORTEUR_KEY_PASSPHRASE, or protect the demo one."""
    passphrase = _passphrase(Settings.from_env())  # before anything is created
    home = installation("here")
    path = keyring_path(home.keys)
    if not path.exists():
        home.refuse_new_keyring()
        save_keyring(home.keys, new_keyring(protected=True), passphrase)
        typer.echo(f"created a protected keyring at {path}; back it up and keep the passphrase apart from it")
        return
    keyring = load_keyring(home.keys, passphrase)
    if keyring.protected:
        raise KeyringError(f"the keyring at {path} is already protected; nothing to do")
    protected = type(keyring)(keyring.masters, keyring.current, True, keyring.root, keyring.created)
    save_keyring(home.keys, protected, passphrase, replace=True)
    typer.echo(
        f"protected the existing keyring at {path} with the passphrase; its keys are kept, so "
        "linkage with everything loaded so far is intact"
    )


@keys_app.command()
@user_errors
def status() -> None:
    """Show the keyring: protection, key versions, the fingerprints providers see, rows per key version."""
    home = installation("never")
    keyring = home.keyring()[0]
    typer.echo(f"keyring: {keyring_path(home.keys)}")
    typer.echo(
        "protection: "
        + (
            "passphrase (scrypt + AES-256-GCM)"
            if keyring.protected
            else "NONE: an unprotected demo keyring; run `rapporteur keys init`"
        )
    )
    typer.echo(f"current key version: {keyring.current}")
    for version in sorted(keyring.masters):
        typer.echo(f"  version {version}: created {keyring.created.get(version) or 'unknown'}")
    for purpose in ("victim-linkage-l1", "suspect-linkage-l1"):
        typer.echo(f"fingerprint of {purpose}: {keyring.fingerprint(purpose)}")
    from application.rotation import rows_by_version

    for stem, counts in rows_by_version(home.warehouse, keyring).items():
        typer.echo(
            f"{stem}: " + (", ".join(f"{n} rows under key version {v}" for v, n in sorted(counts.items())) or "empty")
        )


@keys_app.command()
@user_errors
def rotate() -> None:
    """Make a new key version and re-key every stored linkage token from the escrow (linkage is kept)."""
    from application.rotation import rotate as rotate_keys

    home = installation("never")
    keyring = home.keyring()[0]
    passphrase = _passphrase(home.settings) if keyring.protected else None
    new, done = rotate_keys(home.keys, home.warehouse, keyring, passphrase)
    for stem, n in done.items():
        typer.echo(f"{stem}: re-keyed {n} rows to key version {new.current}")
    typer.echo(f"current key version: {new.current}; older versions retired")


@keys_app.command()
@user_errors
def issue(out: Annotated[Path, typer.Option("--out", help="Where to write the provider key file.")]) -> None:
    """Write the key file providers use with `rapporteur prepare` (first-level linkage keys; keep it secret)."""
    home = installation("never")
    prints = issue_provider_keys(home.keyring()[0], out)
    typer.echo(f"wrote {out}; fingerprints: " + ", ".join(f"{r} {p}" for r, p in prints.items()))
    typer.echo("give it to providers over a secure channel; it never leaves their machine")
