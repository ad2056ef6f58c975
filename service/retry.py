"""One retry policy for everything that talks to another server: feeds and channels.

- **Backoff** (:func:`backoff_s`): the delay before the n-th retry doubles from ``base_s`` with
  each attempt, capped at ``max_s``, with "equal jitter" — half of it fixed, half drawn at
  random — so that many failures at once do not retry in lockstep, yet no retry comes sooner
  than half the capped delay. The randomness is injected.
- **Retry-After** (:func:`parse_retry_after_s`): delta-seconds or an HTTP-date, read against
  the injected clock; a date in the past is 0, anything else unreadable is None.
- **Honouring it** (:func:`honoured_s`): a server's Retry-After lengthens the delay, never
  shortens it, and is capped, so a bad header cannot park a source or a channel for days. The
  ceilings differ on purpose and live here together: a feed may ask to be left alone for a day
  (``FEED_RETRY_AFTER_CEILING_S``); a message may not wait that long, as it expires after
  ``RIVALWATCH_DELIVERY_MAX_AGE_S`` (a day by default), so a channel's ceiling is an hour
  (``DELIVERY_RETRY_AFTER_CEILING_S``).

Pacing across replicas (one message per second and webhook) is not retrying: it is the
database slot of ``service.store.outbox``; the in-process pacer of ``service.notify.pacing``
only spaces the messages of one claim.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

FEED_RETRY_AFTER_CEILING_S = 24 * 3600.0
DELIVERY_RETRY_AFTER_CEILING_S = 3600.0
MAX_DOUBLINGS = 30


def backoff_s(*, attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (1 = after the first failure), equal jitter."""
    doublings = min(max(attempt, 1) - 1, MAX_DOUBLINGS)
    capped = float(min(max_s, base_s * 2**doublings))
    return capped / 2 + rng.uniform(0, capped / 2)


def honoured_s(delay_s: float, retry_after_s: float | None, *, ceiling_s: float) -> float:
    """The delay, lengthened to the server's Retry-After (kept under ``ceiling_s``)."""
    if retry_after_s is None:
        return delay_s
    return max(delay_s, min(retry_after_s, ceiling_s))


def parse_retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), if valid."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit also accepts "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
