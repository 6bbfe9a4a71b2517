"""The `rapporteur` command line (Typer): a thin front end that parses, calls the application, prints."""
