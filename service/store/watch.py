"""This process's view of its database: up, or down since when and why — told once.

An outage is a change of state, not an error per tick: one warning when the database becomes
unavailable (which database, what is wrong, what to do), a reminder at most every
``remind_every_s`` while it stays so, one line when it is back with how long it was gone.
While it is down, work that needs it is skipped quietly until the next attempt is due (a
backoff up to ``retry_max_s``), and counted as abandoned. Errors that are not trouble with the
database (see :mod:`service.store.trouble`) are bugs and propagate with their traceback.

Any success after an *unreachable* database proves it is back; a full disk or a read-only file
still answers reads, so only a successful write (``attempt``) clears those.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service import metrics
from service.logs import log_event
from service.store.trouble import Trouble, shown_name, trouble_of

log = logging.getLogger(__name__)
T = TypeVar("T")

REMIND_EVERY_S = 300.0
RETRY_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Outage:
    trouble: Trouble
    since: float  # the watch's clock
    down_s: float


class DatabaseWatch:
    def __init__(
        self,
        database: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        remind_every_s: float = REMIND_EVERY_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.database = database
        self._clock = clock
        self._remind_every_s = remind_every_s
        self._retry_max_s = retry_max_s
        self._lock = threading.Lock()
        self._trouble: Trouble | None = None
        self._since = 0.0
        self._last_said = 0.0
        self._failures = 0
        self._next_try = 0.0
        self._last_up = clock()

    def export(self) -> None:
        """Make this watch the one ``/metrics`` reports (``rivalwatch_database_up`` and the rest)."""
        metrics.DATABASE_UP.set(1 if self.up else 0)
        metrics.DATABASE_DOWN_SECONDS.set_function(self.seconds_down)

    @classmethod
    def of(cls, engine: Engine) -> DatabaseWatch:
        return cls(shown_name(engine.url))

    # --- reading the state ------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self._trouble is None

    def outage(self) -> Outage | None:
        with self._lock:
            if self._trouble is None:
                return None
            return Outage(self._trouble, self._since, self._clock() - self._since)

    def seconds_down(self) -> float:
        """Seconds since the database was last known to work; 0 while it does."""
        return 0.0 if self._trouble is None else self._clock() - self._last_up

    def may_try(self) -> bool:
        """False while the database is down and the next attempt is not due yet."""
        return self._trouble is None or self._clock() >= self._next_try

    # --- doing work -------------------------------------------------------------------------------

    def attempt(self, work: str, action: Callable[[], T], *, wrote: bool) -> T | None:
        """``action`` when the database may be tried; None when it was skipped or the database
        failed it (told once, counted as abandoned ``work``). A bug propagates. ``wrote``: the
        action surely writes, so its success shows a full disk or read-only file is mended."""
        if not self.may_try():
            metrics.DATABASE_ABANDONED.labels(work).inc()
            return None
        return self.attempt_now(work, action, wrote=wrote)

    def attempt_now(self, work: str, action: Callable[[], T], *, wrote: bool) -> T | None:
        """:meth:`attempt` without waiting for the back-off: for work a person is waiting for
        (a page, an API call), which should find out whether the database is back rather than be
        turned away."""
        try:
            result = action()
        except SQLAlchemyError as exc:
            if self.failed(exc, work=work) is None:
                raise
            return None
        self.worked(wrote=wrote)
        return result

    def failed(self, error: BaseException, *, work: str) -> Trouble | None:
        """Note a failure of ``work``: the trouble, or None when ``error`` is a bug."""
        trouble = trouble_of(error, database=self.database)
        if trouble is None:
            return None
        metrics.DATABASE_ABANDONED.labels(work).inc()
        now = self._clock()
        with self._lock:
            changed = self._trouble is None or self._trouble.kind != trouble.kind
            if self._trouble is None:
                self._since = now
            self._trouble = trouble
            self._failures += 1
            self._next_try = now + min(self._retry_max_s, 0.25 * 2 ** min(self._failures, 8))
            remind = not changed and now - self._last_said >= self._remind_every_s
            if changed or remind:
                self._last_said = now
        if changed:
            metrics.DATABASE_UP.set(0)
            log_event(
                log,
                logging.WARNING,
                "database_down",
                kind=trouble.kind.value,
                problem=trouble.message,
                work=work,
            )
        elif remind:
            log_event(
                log,
                logging.WARNING,
                "database_still_down",
                kind=trouble.kind.value,
                down_s=round(now - self._since),
                problem=trouble.message,
            )
        return trouble

    def worked(self, *, wrote: bool) -> None:
        """Note that the database answered (``wrote``: a transaction that writes committed)."""
        if self._trouble is None:
            self._last_up = self._clock()
            return
        now = self._clock()
        with self._lock:
            trouble = self._trouble
            if trouble is None or (trouble.reads_may_work and not wrote):
                return
            down_s = now - self._since
            self._trouble, self._failures, self._last_up = None, 0, now
        metrics.DATABASE_UP.set(1)
        log_event(log, logging.INFO, "database_back", kind=trouble.kind.value, down_s=round(down_s, 1))
