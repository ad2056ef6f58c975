"""Every webhook answer, table-driven: delivered, retryable, throttled, broken channel, permanent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.errors import (
    ChannelBrokenError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    ThrottledDeliveryError,
)
from service.notify.classify import DEFAULT_RETRY_AFTER_S, classify_answer, response_reason
from service.retry import DELIVERY_RETRY_AFTER_CEILING_S

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

# status, body, headers, outcome, retry_after_s, ambiguous, reason in message
FAILURES = [
    (429, "rate_limited", {"Retry-After": "2"}, ThrottledDeliveryError, 2.0, False, "retry after 2 s"),
    (429, "", {"retry-after": "30"}, ThrottledDeliveryError, 30.0, False, "retry after 30 s"),
    (429, "", {}, ThrottledDeliveryError, DEFAULT_RETRY_AFTER_S, False, "429"),
    (429, "", {"Retry-After": "soon"}, ThrottledDeliveryError, DEFAULT_RETRY_AFTER_S, False, "429"),
    (
        429,
        "",
        {"Retry-After": "Wed, 01 May 2024 12:00:05 GMT"},
        ThrottledDeliveryError,
        5.0,
        False,
        "retry after 5 s",
    ),
    (
        429,
        "",
        {"Retry-After": "999999999"},
        ThrottledDeliveryError,
        DELIVERY_RETRY_AFTER_CEILING_S,
        False,
        "429",
    ),
    (500, "rollup_error", {}, RetryableDeliveryError, None, False, "rollup_error"),
    (502, "<html>bad gateway</html>", {}, RetryableDeliveryError, None, False, "502"),
    (503, "", {"Retry-After": "7"}, RetryableDeliveryError, None, False, "(empty body)"),
    (504, "", {}, RetryableDeliveryError, None, True, "504"),
    (400, "invalid_blocks", {}, PermanentDeliveryError, None, False, "invalid_blocks"),
    (400, "invalid_payload", {}, PermanentDeliveryError, None, False, "invalid_payload"),
    (400, "no_text", {}, PermanentDeliveryError, None, False, "no_text"),
    (403, "action_prohibited", {}, ChannelBrokenError, None, False, "action_prohibited"),
    (403, "invalid_token", {}, ChannelBrokenError, None, False, "invalid_token"),
    (404, "channel_not_found", {}, ChannelBrokenError, None, False, "channel_not_found"),
    (404, "no_service", {}, ChannelBrokenError, None, False, "no_service"),
    (410, "channel_is_archived", {}, ChannelBrokenError, None, False, "channel_is_archived"),
    (301, "", {"Location": "https://elsewhere.example/"}, ChannelBrokenError, None, False, "redirect"),
    (302, "", {}, ChannelBrokenError, None, False, "redirect"),
    (401, "unauthorized", {}, PermanentDeliveryError, None, False, "unauthorized"),
    (413, "too big", {}, PermanentDeliveryError, None, False, "too big"),
    (100, "", {}, PermanentDeliveryError, None, False, "100"),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome", "retry_after", "ambiguous", "reason"), FAILURES
)
def test_failures(
    status: int,
    body: str,
    headers: dict[str, str],
    outcome: type[DeliveryError],
    retry_after: float | None,
    ambiguous: bool,
    reason: str,
) -> None:
    error = classify_answer(status, body, headers, receiver="slack", now=NOW)
    assert type(error) is outcome
    assert getattr(error, "retry_after_s", None) == retry_after
    assert error.ambiguous is ambiguous
    assert reason in str(error)


def test_a_408_is_retried_and_the_receiver_is_named() -> None:
    error = classify_answer(408, "", {}, receiver="webhook", now=NOW)
    assert type(error) is RetryableDeliveryError and "webhook" in str(error)


@pytest.mark.parametrize(
    ("status", "body"), [(200, "ok"), (200, "ok\n"), (200, ""), (200, "weird"), (204, "")]
)
def test_any_2xx_is_delivered(status: int, body: str) -> None:
    assert classify_answer(status, body, {}, receiver="slack", now=NOW) is None


def test_reason_is_one_short_printable_line() -> None:
    assert response_reason("\n  invalid_blocks  \nmore") == "invalid_blocks"
    assert response_reason("bad\x1b[31mred") == "bad[31mred"
    long = response_reason("x" * 10_000)
    assert len(long) <= 120 and long.endswith("…")
