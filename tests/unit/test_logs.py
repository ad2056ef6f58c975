"""Secrets never reach a log line: messages, fields and tracebacks are scrubbed (E1)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from service.logs import JsonFormatter, RedactSecrets, TextFormatter, log_event
from service.retry import parse_retry_after_s

SECRET = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()])
def test_secrets_are_scrubbed_from_messages_fields_and_tracebacks(formatter: logging.Formatter) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets([SECRET]))
    logger = logging.getLogger(f"test-redact-{type(formatter).__name__}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    log_event(logger, logging.DEBUG, "sending", url=SECRET)
    logger.warning("posting to %s", SECRET)
    try:
        raise ValueError(f"cannot post to {SECRET}")
    except ValueError:
        logger.exception("crashed")
    out = stream.getvalue()
    assert SECRET not in out and "SECRETTOKEN" not in out
    assert out.count("[redacted]") >= 3
    if isinstance(formatter, JsonFormatter):
        assert all(json.loads(line)["event"] for line in out.splitlines() if line.startswith("{"))


@pytest.mark.parametrize(
    ("value", "seconds"), [("120", 120.0), ("²", None), ("1.5", None), ("", None), ("soon", None)]
)
def test_retry_after_never_raises(value: str, seconds: float | None) -> None:
    from datetime import UTC, datetime

    assert parse_retry_after_s(value, now=datetime(2026, 1, 1, tzinfo=UTC)) == seconds
