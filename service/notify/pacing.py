"""Spacing the messages of one claim: a token bucket per destination key.

Who paces what (written down here once):

- **Across replicas and rounds** the database paces: a claim takes one message slot of a
  channel and moves ``channels.next_send_at`` forward (``service.store.outbox.claim``), and a
  429 pauses the channel there (``paused_until``) for its Retry-After. Nothing in a process
  remembers a pause.
- **Within one claim** a worker may hold several messages for one channel (a burst that does
  not fit one Slack message). This pacer spaces them so one process never outruns the
  receiver: Slack allows one message a second per webhook with short bursts, so the default
  is ``rate_per_s=1`` with ``burst=3``. Over any window of ``w`` seconds a key sends at most
  ``burst + w * rate_per_s`` messages. After a failure the claim's remaining messages are
  handed back to the database, so a pause never needs to reach the pacer.

The bucket is kept as GCRA (a "theoretical arrival time" per key), which is the same token
bucket written as one number. :meth:`Pacer.reserve` books the next slot and returns how long
to wait for it, so concurrent senders on one key queue in arrival order and never share a
slot; a cancelled waiter's slot is simply lost (pacing errs on the slow side). Time is the
injected monotonic ``now`` in seconds; sleeping is the injected ``sleep``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

DEFAULT_RATE_PER_S = 1.0
DEFAULT_BURST = 3


class Pacer:
    """Paces sends per key; see the module rules."""

    def __init__(
        self,
        *,
        rate_per_s: float = DEFAULT_RATE_PER_S,
        burst: int = DEFAULT_BURST,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.now = now
        self._sleep = sleep
        self._interval_s = 1.0 / rate_per_s
        self._tolerance_s = (burst - 1) * self._interval_s
        self._next_arrival: dict[str, float] = {}

    def next_send_at(self, key: str) -> float:
        """The earliest time a message to ``key`` could go now, without booking it."""
        return max(self.now(), self._next_arrival.get(key, -math.inf) - self._tolerance_s)

    def reserve(self, key: str) -> float:
        """Book the next slot for ``key``; returns the seconds to wait for it (0 = go now)."""
        now = self.now()
        send_at = self.next_send_at(key)
        self._next_arrival[key] = max(self._next_arrival.get(key, -math.inf), send_at) + self._interval_s
        return max(0.0, send_at - now)

    async def wait(self, key: str) -> None:
        """Sleep until ``key`` may send one message, and book that message."""
        delay_s = self.reserve(key)
        if delay_s > 0:
            await self._sleep(delay_s)
