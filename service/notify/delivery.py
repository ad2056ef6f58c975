"""The delivery side of the running service: one tick = the digest check, then one outbox round.

Rounds never overlap (a lock), so a stop can wait for the round in progress to record what
it sent before the process exits. The scheduled job only *starts* a round
(:meth:`Delivery.start_round`, a :class:`~service.rounds.BackgroundRound`) and returns: a round
that outlasts the tick is normal and quiet. The scheduler's shutdown therefore never cancels a
round half-way through a send; :meth:`Delivery.stop` waits for it instead. While the database is
down, rounds are skipped quietly (the :class:`~service.store.watch.DatabaseWatch` says so once).
:meth:`Delivery.retry` (``channels retry``, ``digest --send``) probes one channel now and runs its
rounds, bounded in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.config import Settings
from service.logs import log_event
from service.notify.digest_job import DigestDraft, enqueue_digest, scheduled_period
from service.notify.route import Destinations
from service.notify.worker import RoundResult
from service.rounds import BackgroundRound
from service.store import db
from service.store.watch import DatabaseWatch

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
        self,
        *,
        engine: Engine,
        worker: Rounds,
        settings: Settings,
        clock: Callable[[], datetime],
        watch: DatabaseWatch | None = None,
    ) -> None:
        self._engine = engine
        self._worker = worker
        self._settings = settings
        self._clock = clock
        self._watch = watch or DatabaseWatch.of(engine)
        self._round = asyncio.Lock()
        self._background = BackgroundRound("deliver", self.tick)
        self._stopping = False
        self._handled_period: str | None = None  # today's digest already taken (here or elsewhere)

    async def start_round(self) -> None:
        """The scheduled job: start a round in the background unless one is still running."""
        await self._background.start()

    async def tick(self) -> RoundResult:
        """One round now: the digest if due, then the outbox; nothing while the database is down."""
        if self._stopping or not self._watch.may_try():
            return RoundResult()
        async with self._round:
            if self._stopping:  # stop() came while we waited for the round before us
                return RoundResult()
            try:
                await asyncio.to_thread(self._digest_unless_broken)
                result = await self._worker.run_once()
            except SQLAlchemyError as exc:
                if self._watch.failed(exc, work="delivery") is None:
                    raise
                return RoundResult()
            self._watch.worked(wrote=result.attempted > 0)  # a round with nothing due writes nothing
            return result

    def _digest_unless_broken(self) -> None:
        """The digest check, whose own failure never costs the outbox round after it.

        A digest that cannot be built (a bug, or a stored item no template can show) is logged
        once and its period counted as handled: its alerts stay undigested, so the next digest
        lists them, and Slack, email and webhooks keep going. Database errors still end the round
        (the watch reports them), as for the outbox itself.
        """
        try:
            self.digest_if_due()
        except SQLAlchemyError:
            raise
        except Exception as exc:
            period = scheduled_period(self._settings, now=self._clock())
            self._handled_period = period
            log_event(
                log,
                logging.ERROR,
                "digest_failed",
                period=period,
                error=f"{type(exc).__name__}: {exc}"[:300],
                hint="its alerts wait for the next digest; the outbox round goes on",
            )

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

    async def stop(self, *, grace_s: float) -> str:
        """No new rounds; wait (bounded) for the one in progress to record its outcome. Says what
        became of it: ``idle`` (none ran), ``finished``, or ``left`` (its messages come back when
        their leases expire)."""
        self._stopping = True
        running = self._round.locked()
        try:
            await asyncio.wait_for(self._round.acquire(), timeout=grace_s)
        except TimeoutError:
            return "left"
        self._round.release()
        return "finished" if running else "idle"
