"""The portal's logging, which never carries a byte of a request body.

The multipart parser logs the byte it choked on (`python_multipart`: "got 81 at index 2"), so its loggers are
silenced for good: above every level, without propagation, with a handler that drops everything. The server's
own handler lets through only the portal's and uvicorn's records, shows an exception by its type only (its text
can quote a request, a traceback its locals' lines) and an argument that is an exception or bytes by its type.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# python_multipart, and `multipart`, the name it also answers to.
PARSER_LOGGERS = ("python_multipart", "multipart")
SHOWN_LOGGERS = ("rapporteur", "uvicorn")


def silence_parsers() -> None:
    """Make the multipart parser's loggers emit nothing, whatever the root logger's level or handlers."""
    for name in PARSER_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())  # so that logging's last-resort handler never prints one


class _Shown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(SHOWN_LOGGERS):
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_safe(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _safe(v) for k, v in record.args.items()}
        return True


def _safe(arg: object) -> object:
    if isinstance(arg, BaseException | bytes | bytearray | memoryview):
        return f"({type(arg).__name__})"
    return arg


class _TypeOnly(logging.Formatter):
    def formatException(self, ei) -> str:
        """The exception's type and innermost place, as portal.middleware.Guard logs a bug."""
        _, exc, tb = ei
        frames = traceback.extract_tb(tb) if tb else []
        place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
        return f"({type(exc).__name__}{place}; its message and traceback are not logged)"

    def formatStack(self, stack_info: str) -> str:
        return ""


def server_handler(stream=None) -> logging.Handler:
    """One line per record on `stream` (default stderr), through the filter and formatter above."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_Shown())
    handler.setFormatter(_TypeOnly(LOG_FORMAT))
    return handler


def configure_server_logging() -> None:
    """The portal server's log: the root logger's only handler is `server_handler`."""
    silence_parsers()
    root = logging.getLogger()
    root.handlers[:] = [server_handler()]
    root.setLevel(logging.INFO)
