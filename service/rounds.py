"""A scheduled job's work, one round at a time, in the background.

The scheduler's job is :meth:`BackgroundRound.start`: it starts a round and returns at once, so
APScheduler never sees a job outlast its interval. A round longer than the tick (a slow
receiver, a burst paced at one message a second, a database that takes its time to refuse) is
normal: the next tick finds it running, leaves it be and counts it in
``rivalwatch_round_overlaps_total``; every round's length goes to
``rivalwatch_round_duration_seconds``. A round that raises is a bug and is logged once, with its
traceback — trouble with the database never gets here, the work reports it to the
:class:`~service.store.watch.DatabaseWatch` and returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from service import metrics

log = logging.getLogger(__name__)


class BackgroundRound:
    def __init__(self, job: str, work: Callable[[], Awaitable[object]]) -> None:
        self.job = job
        self._work = work
        self._running: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    async def start(self) -> None:
        """The scheduled job: start a round unless one is still running (or the job stopped)."""
        if self._stopped:
            return
        if self.running:
            metrics.ROUND_OVERLAPS.labels(self.job).inc()
            return
        self._running = asyncio.create_task(self._timed(), name=f"round:{self.job}")

    def start_unless_running(self) -> None:
        """Start a round now unless one is running (not an overlap: the caller only asks for more)."""
        if not self._stopped and not self.running:
            self._running = asyncio.get_running_loop().create_task(self._timed(), name=f"round:{self.job}")

    async def stop(self, *, timeout_s: float) -> bool:
        """No more rounds; wait up to ``timeout_s`` for the one running. False if it is still going."""
        self._stopped = True
        if not self.running:
            return True
        assert self._running is not None
        done, _ = await asyncio.wait([self._running], timeout=timeout_s)
        return bool(done)

    async def _timed(self) -> None:
        started = time.perf_counter()
        try:
            await self._work()
        except Exception:
            log.exception("round_crashed", extra={"rw_fields": {"job": self.job}})
        finally:
            metrics.ROUND_SECONDS.labels(self.job).observe(time.perf_counter() - started)
