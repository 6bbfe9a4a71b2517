"""What every command of the CLI shares: one-line errors, the installation, the keyring."""

from __future__ import annotations

import functools
import logging

import typer

from application.home import Home, is_installation, locate
from application.settings import Settings
from errors import RapporteurError, storage_error
from privacy import access_log
from privacy.keys import Keyring


def user_errors(command):
    """Print a user's error as one line on stderr and exit with its code; a bug keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        quiet_library_logs()
        access_log.act_as("cli", command.__name__.rstrip("_").replace("_", "-"))
        try:
            return command(*args, **kwargs)
        except RapporteurError as exc:
            typer.echo(f"rapporteur: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a full or read-only disk is the user's to fix, not a bug
            fault = storage_error(exc)
            if fault is None:
                raise
            typer.echo(f"rapporteur: {fault}", err=True)
            raise typer.Exit(fault.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("rapporteur: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


QUIET_LOGGERS = ("rapporteur", "great_expectations")


def quiet_library_logs() -> None:
    """Keep our and Great Expectations' log records off the terminal: stderr carries one line per error.

    A logger with no handler anywhere up its chain makes Python print warnings and their tracebacks to
    stderr ("last resort"). A NullHandler on these loggers stops that and nothing else: a command that
    configures logging itself (the portal's access log) still gets every record through the root logger.
    """
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


def installation(create: str = "explicit") -> Home:
    """The installation with the settings of this command (`locate` finds it; `create` as there, a new one said
    on stderr)."""
    settings = Settings.from_env()
    root = locate(settings.home, create)
    existed = is_installation(root)
    home = Home(root, settings) if create == "never" else Home(root, settings).ensure()
    if not existed and create == "here" and settings.home is None:  # a folder the user did not name
        typer.echo(f"note: set up a new installation in {home.root}", err=True)
    return home


def keyring_or_demo(home: Home) -> Keyring:
    """The keyring; on a fresh installation an unprotected demo keyring, announced on stderr."""
    keyring, created = home.keyring(create_demo=True)
    if created:
        typer.echo(
            f"note: created an UNPROTECTED demo keyring in {home.keys}: fine for demos, not for real data "
            "(`rapporteur keys init` protects it)",
            err=True,
        )
    return keyring
