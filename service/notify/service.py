"""The delivery side of the running service: one tick = the digest check, then one outbox round.

Rounds never overlap (a lock), so a stop can wait for the round in progress to record what
it sent before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from service.config import Settings
from service.logs import log_event
from service.notify.digest_job import DigestDraft, enqueue_digest, scheduled_period
from service.notify.outbox import OutboxWorker, RoundResult
from service.notify.route import Available
from service.store import db

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self, *, engine: Engine, worker: OutboxWorker, settings: Settings, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._worker = worker
        self._settings = settings
        self._clock = clock
        self._round = asyncio.Lock()
        self._stopping = False
        self._handled_period: str | None = None  # today's digest already taken (here or elsewhere)

    async def tick(self) -> RoundResult:
        if self._stopping:
            return RoundResult()
        async with self._round:
            await asyncio.to_thread(self.digest_if_due)
            return await self._worker.run_once()

    def digest_if_due(self) -> DigestDraft | None:
        if not Available.from_settings(self._settings).digest:
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
                sent=not draft.empty,
            )
        return draft

    async def drain(self, *, timeout_s: float) -> RoundResult:
        async with self._round:
            return await self._worker.drain(timeout_s=timeout_s)

    async def stop(self, *, grace_s: float) -> None:
        """No new rounds; wait (bounded) for the one in progress to record its outcome."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._round.acquire(), timeout=grace_s)
        except TimeoutError:
            log_event(log, logging.WARNING, "delivery_round_abandoned", grace_s=grace_s)
            return
        self._round.release()
