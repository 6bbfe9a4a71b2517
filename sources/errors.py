"""The product's error types: one line for the user, an exit code for the shell."""


class RapporteurError(Exception):
    """An error a user can cause and fix; its message is one line, with no personal data."""

    exit_code = 2


class UnusableInput(RapporteurError):
    """A file or argument that cannot be used at all (exit 2)."""


class KeyringError(RapporteurError):
    """The keyring is missing, damaged or cannot be opened (exit 2)."""


class RepositoryBusy(RapporteurError):
    """Another process holds a repository open for writing (exit 2)."""
