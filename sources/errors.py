"""The product's error types: one line for the user, an exit code for the shell."""


class RapporteurError(Exception):
    """An error a user can cause and fix; its message is one line, with no personal data.

    `quoted` names text taken from the user's file (a header name, which in a file without a header is
    a data cell): the user's own terminal shows it, the bureau's ledger, logs and Dagster get `redacted()`.
    """

    exit_code = 2

    def __init__(self, message: str, quoted: tuple[str, ...] = ()):
        super().__init__(message)
        self.quoted = quoted

    def redacted(self) -> str:
        text = str(self)
        for part in self.quoted:
            text = text.replace(part, "…")
        return text


class UnusableInput(RapporteurError):
    """A file or argument that cannot be used at all (exit 2)."""


class KeyringError(RapporteurError):
    """The keyring is missing, damaged or cannot be opened (exit 2)."""


class RepositoryBusy(RapporteurError):
    """Another process holds a repository open for writing (exit 2)."""
