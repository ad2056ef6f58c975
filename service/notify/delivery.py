"""The delivery side of the running service: one tick = the digest check, then one outbox round.

Rounds never overlap (a lock), so a stop can wait for the round in progress to record what
it sent before the process exits. The scheduled job only *starts* a round
(:meth:`Delivery.start_round`) and returns: a round that outlasts the tick (a slow receiver, a
burst paced at one message a second) is normal, and the next tick finds it running and leaves
it be, quietly. The scheduler's shutdown therefore never cancels a round half-way through a
send; :meth:`Delivery.stop` waits for it instead. :meth:`Delivery.retry` (``channels retry``,
``digest --send``) probes one channel now and runs its rounds, bounded in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from service.config import Settings
from service.logs import log_event
from service.notify.digest_job import DigestDraft, enqueue_digest, scheduled_period
from service.notify.route import Destinations
from service.notify.worker import RoundResult
from service.store import db

log = logging.getLogger(__name__)


class Rounds(Protocol):
    """What the service needs of the outbox worker (:class:`~service.notify.worker.OutboxWorker`)."""

    @property
    def notifiers(self) -> Destinations: ...

    async def run_once(self) -> RoundResult: ...
    async def drain(self, *, timeout_s: float, channel: str | None = None) -> RoundResult: ...
    def retry_now(self, channel: str) -> None: ...


class Delivery:
    def __init__(
        self, *, engine: Engine, worker: Rounds, settings: Settings, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._worker = worker
        self._settings = settings
        self._clock = clock
        self._round = asyncio.Lock()
        self._running: asyncio.Task[RoundResult] | None = None
        self._stopping = False
        self._handled_period: str | None = None  # today's digest already taken (here or elsewhere)

    async def start_round(self) -> None:
        """The scheduled job: start a round in the background unless one is still running."""
        if self._stopping or (self._running is not None and not self._running.done()):
            return
        self._running = asyncio.create_task(self.tick())
        self._running.add_done_callback(_report_crash)

    async def tick(self) -> RoundResult:
        """One round now: the digest if due, then the outbox."""
        if self._stopping:
            return RoundResult()
        async with self._round:
            if self._stopping:  # stop() came while we waited for the round before us
                return RoundResult()
            await asyncio.to_thread(self.digest_if_due)
            return await self._worker.run_once()

    def digest_if_due(self) -> DigestDraft | None:
        if self._worker.notifiers.missing("digest") is not None:
            return None
        now = self._clock()
        period = scheduled_period(self._settings, now=now)
        if period is None or period == self._handled_period:
            return None
        draft = db.run_transaction(
            self._engine,
            lambda conn: enqueue_digest(
                conn, settings=self._settings, period_key=period, now=now, send_empty=False
            ),
        )
        self._handled_period = period
        if draft is not None:
            log_event(
                log,
                logging.INFO,
                "digest_enqueued",
                period=period,
                stories=draft.listed,
                suppressed=draft.suppressed,
                sent=draft.queued,
            )
        return draft

    async def drain(self, *, timeout_s: float) -> RoundResult:
        async with self._round:
            return await self._worker.drain(timeout_s=timeout_s)

    async def retry(self, channel: str, *, timeout_s: float) -> RoundResult:
        """Probe ``channel`` now (one held message first, the rest when it goes through) and
        send what it has due, until nothing of it is due or ``timeout_s`` has passed."""
        await asyncio.to_thread(self._worker.retry_now, channel)
        async with self._round:
            return await self._worker.drain(timeout_s=timeout_s, channel=channel)

    async def stop(self, *, grace_s: float) -> None:
        """No new rounds; wait (bounded) for the one in progress to record its outcome."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._round.acquire(), timeout=grace_s)
        except TimeoutError:
            log_event(log, logging.WARNING, "delivery_round_abandoned", grace_s=grace_s)
            return
        self._round.release()


def _report_crash(task: asyncio.Task[RoundResult]) -> None:
    """A background round that raised: logged once with its traceback (a bug, or the database)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("delivery_round_crashed", exc_info=error)
