"""When to poll a feed next: pure functions of the last poll's outcome.

After a success the delay is the feed's configured interval, lengthened (never shortened) by
what the source itself asks for: RSS ``<ttl>``, ``Cache-Control: max-age`` and ``Expires``.
The result is clamped to [floor, ceiling] and spread by up to ±10 % jitter so that feeds
declared together drift apart instead of polling in lockstep.

After a failure the delay doubles with each consecutive failure, starting at the floor and
capped at ``max_backoff_s``, with "equal jitter" (half fixed, half random). A ``Retry-After``
from the server is honoured when it asks for more than that (up to a day). Both rules are the
shared retry policy of ``service.retry``. A failing feed is never parked
for good: it keeps being retried at the capped delay, and the first success resets it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from service.retry import FEED_RETRY_AFTER_CEILING_S, backoff_s, honoured_s

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)
JITTER_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The bounds every feed's schedule is kept within (all in seconds)."""

    floor_s: int
    ceiling_s: int
    max_backoff_s: int


def cache_hint_s(headers: Mapping[str, str], *, now: datetime) -> int | None:
    """Seconds the response says it stays fresh, from Cache-Control or Expires."""
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    if match:
        return int(match.group(1))
    expires = headers.get("expires")
    if not expires:
        return None
    try:
        when = parsedate_to_datetime(expires)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, int((when - now).total_seconds()))


def next_poll_after_success(
    *,
    now: datetime,
    interval_s: int,
    policy: PollPolicy,
    ttl_s: int | None = None,
    cache_s: int | None = None,
    rng: random.Random,
) -> datetime:
    hints = [h for h in (ttl_s, cache_s) if h is not None]
    delay = max([interval_s, *hints])
    delay = min(max(delay, policy.floor_s), policy.ceiling_s)
    jittered = delay * (1 + rng.uniform(-JITTER_FRACTION, JITTER_FRACTION))
    return now + timedelta(seconds=max(policy.floor_s, jittered))


def next_poll_after_failure(
    *,
    now: datetime,
    failures: int,
    policy: PollPolicy,
    retry_after_s: float | None = None,
    rng: random.Random,
) -> datetime:
    delay = backoff_s(attempt=failures, base_s=policy.floor_s, max_s=policy.max_backoff_s, rng=rng)
    delay = honoured_s(delay, retry_after_s, ceiling_s=FEED_RETRY_AFTER_CEILING_S)
    return now + timedelta(seconds=delay)
