"""Per-destination pacing: a token bucket per key, and pauses a receiver asked for.

Rules:

- One bucket per destination key (a channel name, never a webhook URL). Slack allows one
  message a second per webhook with short bursts, so the default is ``rate_per_s=1`` with
  ``burst=3``: three messages may go at once, then one a second. Over any window of ``w``
  seconds a key sends at most ``burst + w * rate_per_s`` messages.
- The bucket is kept as GCRA (a "theoretical arrival time" per key), which is the same
  token bucket written as one number. :meth:`Pacer.reserve` books the next slot and returns
  how long to wait for it, so concurrent senders on one key queue in arrival order and never
  share a slot; a cancelled waiter's slot is simply lost (pacing errs on the slow side).
- :meth:`Pacer.pause_until` (on a 429 ``Retry-After``) moves the key's next slot to ``when``
  and empties its burst: after a pause messages resume one per interval, not in a burst.
- :meth:`Pacer.wait` sleeps until its slot; if a pause began while it slept it books again,
  at most ``max_rounds`` times, then gives up with a retryable :class:`DeliveryError` so a
  receiver that keeps answering 429 cannot hold a sender forever.
- Time is the injected monotonic ``now`` in seconds; sleeping is the injected ``sleep``.
  Keys live as long as the pacer (one per configured channel).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from service.errors import DeliveryError

DEFAULT_RATE_PER_S = 1.0
DEFAULT_BURST = 3
DEFAULT_MAX_ROUNDS = 8


class Pacer:
    """Paces sends per key; see the module rules."""

    def __init__(
        self,
        *,
        rate_per_s: float = DEFAULT_RATE_PER_S,
        burst: int = DEFAULT_BURST,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or max_rounds < 1:
            raise ValueError("rate_per_s must be > 0, burst and max_rounds >= 1")
        self.now = now
        self._sleep = sleep
        self._interval_s = 1.0 / rate_per_s
        self._tolerance_s = (burst - 1) * self._interval_s
        self._max_rounds = max_rounds
        self._next_arrival: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def next_send_at(self, key: str) -> float:
        """The earliest time a message to ``key`` could go now, without booking it."""
        now = self.now()
        paused = self._paused_until.get(key, -math.inf)
        return max(now, paused, self._next_arrival.get(key, -math.inf) - self._tolerance_s)

    def reserve(self, key: str) -> float:
        """Book the next slot for ``key``; returns the seconds to wait for it (0 = go now)."""
        now = self.now()
        send_at = self.next_send_at(key)
        self._next_arrival[key] = max(self._next_arrival.get(key, -math.inf), send_at) + self._interval_s
        return max(0.0, send_at - now)

    def pause_until(self, key: str, when: float) -> None:
        """Send nothing to ``key`` before ``when`` (monotonic seconds), then one per interval."""
        self._paused_until[key] = max(self._paused_until.get(key, -math.inf), when)
        self._next_arrival[key] = max(self._next_arrival.get(key, -math.inf), when + self._tolerance_s)

    def pause_for(self, key: str, seconds: float) -> None:
        self.pause_until(key, self.now() + max(0.0, seconds))

    def paused_until(self, key: str) -> float | None:
        """When the current pause of ``key`` ends, or None when it is not paused."""
        until = self._paused_until.get(key)
        return until if until is not None and until > self.now() else None

    async def wait(self, key: str) -> None:
        """Sleep until ``key`` may send one message, and book that message."""
        for _round in range(self._max_rounds):
            delay_s = self.reserve(key)
            if delay_s > 0:
                await self._sleep(delay_s)
            if self.paused_until(key) is None:
                return
        remaining = (self.paused_until(key) or self.now()) - self.now()
        raise DeliveryError(
            f"channel {key!r} was paused {self._max_rounds} times while waiting to send",
            retryable=True,
            retry_after_s=max(0.0, remaining),
        )
