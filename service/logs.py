"""Structured logging on the standard library.

Every record is an event name plus fields with stable snake_case keys carrying units
(``feed``, ``duration_ms``). ``text`` format prints ``event key=value ...``; ``json`` prints
one JSON object a line. A filter scrubs every configured secret (webhook URLs, passwords)
from the message and the fields, whatever the level, so turning on debug logging never
leaks them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
_FIELDS = "rw_fields"


@contextmanager
def quieted(logger_name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Only ``level`` and above from ``logger_name`` while the block runs (Alembic's chatter when
    the code merely reads the schema revision)."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS: fields})


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.scrub(record.getMessage())
            record.args = None
            fields = getattr(record, _FIELDS, None)
            if fields:
                setattr(record, _FIELDS, {k: self.scrub(str(v)) for k, v in fields.items()})
            if record.exc_info and not record.exc_text:
                # Tracebacks print exception messages and arguments: scrub them too.
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return dict(getattr(record, _FIELDS, None) or {})


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        parts = [stamp, record.levelname.lower(), record.getMessage()]
        parts += [f"{k}={_quote(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        trace = _traceback(self, record)
        return f"{line}\n{trace}" if trace else line


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback: the scrubbed text when the redaction filter made one."""
    if record.exc_text:
        return record.exc_text
    return formatter.formatException(record.exc_info) if record.exc_info else None


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n')) else text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        trace = _traceback(self, record)
        if trace:
            payload["exception"] = trace
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure(*, level: str, fmt: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
