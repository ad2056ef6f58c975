"""The one retry policy: equal-jitter backoff, Retry-After read and honoured, table by table."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from service.retry import (
    DELIVERY_RETRY_AFTER_CEILING_S,
    FEED_RETRY_AFTER_CEILING_S,
    backoff_s,
    honoured_s,
    parse_retry_after_s,
)


class Extreme(random.Random):
    """Draws always the lowest or always the highest value, to pin the jitter's bounds."""

    def __init__(self, *, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


@pytest.mark.parametrize(
    ("attempt", "base_s", "max_s", "capped"),
    [
        (1, 5, 900, 5),
        (2, 5, 900, 10),
        (4, 5, 900, 40),
        (9, 5, 900, 900),  # 1280 capped
        (0, 5, 900, 5),  # no attempt yet counts as the first
        (10_000, 60, 14_400, 14_400),  # no overflow however long a feed has failed
    ],
)
def test_backoff_doubles_to_its_cap_with_equal_jitter(
    attempt: int, base_s: float, max_s: float, capped: float
) -> None:
    low = backoff_s(attempt=attempt, base_s=base_s, max_s=max_s, rng=Extreme(high=False))
    high = backoff_s(attempt=attempt, base_s=base_s, max_s=max_s, rng=Extreme(high=True))
    assert (low, high) == (capped / 2, capped)


@pytest.mark.parametrize(
    ("delay_s", "retry_after_s", "ceiling_s", "expected"),
    [
        (10.0, None, FEED_RETRY_AFTER_CEILING_S, 10.0),
        (10.0, 3.0, FEED_RETRY_AFTER_CEILING_S, 10.0),  # never shortens the backoff
        (10.0, 120.0, FEED_RETRY_AFTER_CEILING_S, 120.0),
        (10.0, 10 * 86400.0, FEED_RETRY_AFTER_CEILING_S, 86400.0),  # a feed waits a day at most
        (10.0, 86400.0, DELIVERY_RETRY_AFTER_CEILING_S, 3600.0),  # a channel an hour at most
    ],
)
def test_retry_after_lengthens_within_its_ceiling(
    delay_s: float, retry_after_s: float | None, ceiling_s: float, expected: float
) -> None:
    assert honoured_s(delay_s, retry_after_s, ceiling_s=ceiling_s) == expected


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),  # a date in the past: go now
        ("soon", None),
        ("-5", None),
        ("²", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after_s(value, now=NOW) == seconds
