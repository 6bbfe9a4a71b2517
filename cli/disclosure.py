"""`rapporteur disclosure`: the attacker's audit of the research database, for the bureau."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.support import installation, user_errors
from errors import DisclosureError

disclosure_app = typer.Typer(help="Disclosure control of what is published: audit.", no_args_is_help=True)


@disclosure_app.command()
@user_errors
def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object, with every withheld cell.")] = False,
) -> None:
    """For every withheld cell, the range a reader can work out from everything published; exit 1 when a
    small count is recovered exactly or known within less than k."""
    from warehouse.protection import audit_database

    home = installation()
    keyring, _ = home.keyring(create_demo=False)
    findings, summary = audit_database(home.warehouse, keyring.key("database"), home.settings.disclosure_k)
    failed = summary["under_protected"] or summary["recovered_exactly"]
    if as_json:
        typer.echo(json.dumps({"summary": summary, "cells": [f.as_dict() for f in findings]}))
    else:
        typer.echo(
            f"{summary['suppressed']} of {summary['cells']} published count cells withheld "
            f"({100 * summary['suppressed_share']:.1f}%), {summary['primary']} of them under k"
        )
        typer.echo(f"recovered exactly: {summary['recovered_exactly']}; under-protected: {summary['under_protected']}")
    if failed:
        raise DisclosureError("the disclosure audit failed: do not publish this research database")
