"""Every Slack webhook answer, table-driven: delivered, retryable, throttled, broken channel, permanent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.notify.classify import (
    DEFAULT_RETRY_AFTER_S,
    classify_slack_response,
    is_throttled,
    response_reason,
)
from service.retry import DELIVERY_RETRY_AFTER_CEILING_S

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

# status, body, headers, retryable, retry_after_s, channel_broken, ambiguous, reason in message
FAILURES = [
    (429, "rate_limited", {"Retry-After": "2"}, True, 2.0, False, False, "retry after 2 s"),
    (429, "", {"retry-after": "30"}, True, 30.0, False, False, "retry after 30 s"),
    (429, "", {}, True, DEFAULT_RETRY_AFTER_S, False, False, "429"),
    (429, "", {"Retry-After": "soon"}, True, DEFAULT_RETRY_AFTER_S, False, False, "429"),
    (429, "", {"Retry-After": "Wed, 01 May 2024 12:00:05 GMT"}, True, 5.0, False, False, "retry after 5 s"),
    (429, "", {"Retry-After": "999999999"}, True, DELIVERY_RETRY_AFTER_CEILING_S, False, False, "429"),
    (500, "rollup_error", {}, True, None, False, False, "rollup_error"),
    (502, "<html>bad gateway</html>", {}, True, None, False, False, "502"),
    (503, "", {"Retry-After": "7"}, True, None, False, False, "(empty body)"),
    (504, "", {}, True, None, False, True, "504"),
    (400, "invalid_blocks", {}, False, None, False, False, "invalid_blocks"),
    (400, "invalid_payload", {}, False, None, False, False, "invalid_payload"),
    (400, "no_text", {}, False, None, False, False, "no_text"),
    (403, "action_prohibited", {}, False, None, True, False, "action_prohibited"),
    (403, "invalid_token", {}, False, None, True, False, "invalid_token"),
    (404, "channel_not_found", {}, False, None, True, False, "channel_not_found"),
    (404, "no_service", {}, False, None, True, False, "no_service"),
    (410, "channel_is_archived", {}, False, None, True, False, "channel_is_archived"),
    (301, "", {"Location": "https://elsewhere.example/"}, False, None, True, False, "redirect"),
    (302, "", {}, False, None, True, False, "redirect"),
    (401, "unauthorized", {}, False, None, False, False, "unauthorized"),
    (413, "too big", {}, False, None, False, False, "too big"),
    (100, "", {}, False, None, False, False, "100"),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "retryable", "retry_after", "broken", "ambiguous", "reason"), FAILURES
)
def test_failures(
    status: int,
    body: str,
    headers: dict[str, str],
    retryable: bool,
    retry_after: float | None,
    broken: bool,
    ambiguous: bool,
    reason: str,
) -> None:
    error = classify_slack_response(status, body, headers, now=NOW)
    assert error is not None
    assert (error.retryable, error.retry_after_s, error.channel_broken, error.ambiguous) == (
        retryable,
        retry_after,
        broken,
        ambiguous,
    )
    assert reason in str(error)
    assert is_throttled(error) is (status == 429)


@pytest.mark.parametrize(
    ("status", "body"), [(200, "ok"), (200, "ok\n"), (200, ""), (200, "weird"), (204, "")]
)
def test_any_2xx_is_delivered(status: int, body: str) -> None:
    assert classify_slack_response(status, body, {}, now=NOW) is None


def test_reason_is_one_short_printable_line() -> None:
    assert response_reason("\n  invalid_blocks  \nmore") == "invalid_blocks"
    assert response_reason("bad\x1b[31mred") == "bad[31mred"
    long = response_reason("x" * 10_000)
    assert len(long) <= 120 and long.endswith("…")
