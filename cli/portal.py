"""`rapporteur users add|list|disable|reset` (portal accounts) and `rapporteur portal` (the providers' web portal)."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer

from application.settings import Settings
from cli.support import installation, keyring_or_demo, user_errors

users_app = typer.Typer(help="Accounts of the providers' portal: add, list, disable, reset.", no_args_is_help=True)


def _accounts():
    from portal.accounts import Accounts
    from portal.app import portal_database

    return Accounts(portal_database(installation().root))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input instead of making one.")
]


def _password(from_stdin: bool) -> str:
    return sys.stdin.readline().rstrip("\r\n") if from_stdin else secrets.token_urlsafe(15)


def _show_password(password: str) -> None:
    typer.echo(f"password: {password}")
    typer.echo("it is shown only this once: give it to the organisation over a secure channel")


@users_app.command()
@user_errors
def add(
    org: Annotated[str, typer.Argument(help="The organisation id: for a provider, its provider id (ngo-harbour).")],
    role: Annotated[str, typer.Option("--role", help="provider (sees its own submissions) or bureau (sees all)")] = (
        "provider"
    ),
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account. Without --password-stdin a strong password is made and printed once."""
    password = _password(password_stdin)
    account = _accounts().add(org, role, password)
    typer.echo(f"added the {account.role} account {account.org}")
    if account.role == "provider":
        from schemas.providers import providers

        if account.org not in providers():
            typer.echo(f"note: {account.org} is not a registered provider (schemas/mappings/): its uploads are refused")
    if not password_stdin:
        _show_password(password)


@users_app.command()
@user_errors
def reset(
    org: Annotated[str, typer.Argument(help="The organisation id.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give an account a new password (a forgotten one, or to enable it again); its open sessions end."""
    password = _password(password_stdin)
    account = _accounts().reset(org, password)
    typer.echo(f"reset the password of {account.org}; the account is enabled")
    if not password_stdin:
        _show_password(password)


@users_app.command("list")
@user_errors
def list_accounts() -> None:
    """List the accounts: id, role, enabled or disabled, created."""
    accounts = _accounts().list()
    if not accounts:
        typer.echo("no accounts yet: rapporteur users add ORG [--role bureau]")
    for a in accounts:
        typer.echo(f"{a.org}\t{a.role}\t{'disabled' if a.disabled else 'enabled'}\t{a.created_at}")


@users_app.command()
@user_errors
def disable(org: Annotated[str, typer.Argument(help="The organisation id.")]) -> None:
    """Disable an account: its sign-ins are refused and its open sessions end at once."""
    account = _accounts().disable(org)
    typer.echo(f"disabled {account.org}")


@user_errors
def portal(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Run the providers' web portal: sign in, upload and check an extract, submit it, follow its status.

    Serve it behind a TLS reverse proxy (see docs/portal.md). The upload limit is RAPPORTEUR_PORTAL_MAX_UPLOAD_MB
    (default 50); the proxies whose forwarded headers are trusted are RAPPORTEUR_PORTAL_TRUSTED_PROXIES (default:
    none, the connection's own address counts).
    """
    from intake.inbox import Inbox
    from portal.app import create_app
    from portal.server import check_port_free, serve
    from privacy.keys import fingerprint
    from privacy.pseudonymise import first_level_keys
    from privacy.sealed import Sealer

    settings = Settings.from_env()  # a bad setting is said before the port is checked
    check_port_free(host, port)
    home = installation()
    keyring = keyring_or_demo(home)
    # The portal keeps the inbox key only (it seals submissions, never opens a repository) and the public
    # fingerprints of the first-level keys (to check prepared extracts).
    inbox = Inbox(home.inbox, Sealer(keyring.key("inbox")))
    prints = {role: fingerprint(key) for role, key in first_level_keys(keyring).items()}
    del keyring
    app = create_app(
        home.root, inbox, settings.upload_limit_mb, key_prints=prints, trusted_proxies=settings.trusted_proxies
    )
    if not _accounts().list():
        typer.echo("note: no accounts yet; create one with `rapporteur users add ORG`", err=True)
    typer.echo(f"portal on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    serve(app, host, port)
