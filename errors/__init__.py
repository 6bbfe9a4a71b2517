"""The errors users cause, in one neutral module every room may import: one line for the user, an exit code
for the shell, and a redacted form for logs, ledgers and Dagster. It imports nothing of the product."""

import errno
import os
import re


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
        return redact(str(self), self.quoted)


def redact(text: str, quoted: tuple[str, ...]) -> str:
    """`text` with every quoted part (text taken from a user's file) replaced by an ellipsis."""
    for part in quoted:
        text = text.replace(part, "…")
    return text


class UnusableInput(RapporteurError):
    """A file or argument that cannot be used at all (exit 2)."""


class DisclosureError(RapporteurError):
    """A publication that would let a reader learn a small count (exit 1): nothing new is published."""

    exit_code = 1


class SheetChoice(UnusableInput):
    """A workbook whose data sheet cannot be told (none or several have the standard's header): the user
    chooses one of `sheets` (`--sheet NAME`, or the portal's Sheet field)."""

    def __init__(self, name: str, reason: str, sheets: list[str]):
        self.sheets, self.reason = tuple(sheets), reason
        super().__init__(f"{name}: {reason}: choose one with --sheet NAME", quoted=tuple(f"'{s[:40]}'" for s in sheets))


class KeyringError(RapporteurError):
    """The keyring is missing, damaged or cannot be opened (exit 2)."""


class NoInstallation(RapporteurError):
    """No installation where the command looked, and the command does not create one (exit 2)."""


class RepositoryBusy(RapporteurError):
    """Another process holds a repository open for writing (exit 2)."""


class StorageError(RapporteurError):
    """The disk is full or read-only, or a file cannot be written (exit 2); nothing was half-written."""


STORAGE_FAULTS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EFBIG: "a file would exceed the size limit",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
}
# The same faults as DuckDB words them inside its own exceptions.
STORAGE_WORDS = {os.strerror(code): text for code, text in STORAGE_FAULTS.items()} | {
    "database or disk is full": STORAGE_FAULTS[errno.ENOSPC],  # SQLite (the inbox ledger)
    "attempt to write a readonly database": STORAGE_FAULTS[errno.EROFS],
}


def storage_error(exc: BaseException) -> StorageError | None:
    """A full, read-only or unwritable disk as one line that says what to do; None for anything else.

    Only our own paths are named (never a message's other text, which could quote a cell).
    """
    if isinstance(exc, OSError) and exc.errno in STORAGE_FAULTS:
        what, where = STORAGE_FAULTS[exc.errno], exc.filename
    else:
        text = str(exc)
        found = next((t for words, t in STORAGE_WORDS.items() if words in text), None)
        if found is None or type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb", "sqlite3"):
            return None
        quoted = re.search(r'"(/[^"]+)"', text)
        what, where = found, quoted.group(1) if quoted else None
    place = f" writing {where}" if where else ""
    return StorageError(
        f"cannot write{place}: {what}; free space or make it writable, then run the same command again "
        "(nothing was half-loaded: the submission stays in the inbox)"
    )


class BudgetExceeded(RapporteurError):
    """A differentially private release that would spend more privacy budget than the year has left (exit 1)."""

    exit_code = 1
