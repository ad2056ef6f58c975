"""The scheduler only ticks; every bit of state lives in the database.

Each tick (APScheduler's interval job starting a :class:`~service.rounds.BackgroundRound`):
1. asks the reloader to apply the declarations if a file changed (``service.reload``);
2. claims as many due feeds as there are free poll slots, under a lease;
3. starts one poll task per claimed feed and returns at once, so a slow feed never delays
   the next tick or the other feeds.
While the database is down, ticks do nothing until the :class:`~service.store.watch.DatabaseWatch`
says the next attempt is due; the outage is told once, by the watch.

Because leases and next-poll times are rows, a doubled or missed tick, a restart or a second
replica does no harm. On shutdown no new feed is claimed, running polls get a grace period,
and the leases of any poll still running after it are given back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from service import metrics
from service.config import Settings
from service.first_round import FirstRound, summary_line
from service.logs import log_event
from service.pipeline import Poller, PollOutcome
from service.reload import Reloader
from service.rounds import BackgroundRound
from service.store import db
from service.store import feeds as feed_store

log = logging.getLogger(__name__)


def make_owner_id() -> str:
    """Identifies this process in leases: host, pid and a random part against pid reuse."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


class Scheduler:
    def __init__(self, *, poller: Poller, reloader: Reloader) -> None:
        self._poller = poller
        self._reloader = reloader
        self._tasks: dict[int, asyncio.Task[PollOutcome]] = {}
        self._stopping = False
        self._collected: list[PollOutcome] | None = None  # poll_all_once gathers its outcomes here
        self._first_round: FirstRound | None = None
        self._backlog = False  # the last tick filled every free slot: more feeds may be due
        self.rounds = BackgroundRound("poll", self.tick)

    @property
    def _settings(self) -> Settings:
        return self._poller.settings

    @property
    def reloader(self) -> Reloader:
        return self._reloader

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def spread_overdue(self) -> int:
        s = self._settings
        now = self._poller.clock()
        return db.run_transaction(
            self._poller.engine,
            lambda conn: feed_store.spread_overdue(
                conn, now=now, spread_s=s.poll_startup_spread_s, rng=self._poller.rng
            ),
        )

    # --- ticking --------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Apply changed declarations, claim due feeds for the free slots, start polling them.

        Returns how many feeds were claimed.
        """
        if self._stopping or not self._poller.watch.may_try():
            return 0
        free = self._settings.poll_concurrency - len(self._tasks)
        # Feeds this process is polling are never claimed again, even once a slow poll has
        # outlived its lease: two polls of one feed at once would both pass the owner's fence.
        polling = set(self._tasks)
        attempt = functools.partial(self._poller.watch.attempt, "poll_tick", wrote=False)
        claimed = await asyncio.to_thread(attempt, lambda: self._reload_and_claim(free, polling)) or []
        # Every slot taken: more feeds may be due. Slots freed before the next tick are filled
        # at once (see _finished): waiting for the tick capped the service at
        # poll_concurrency / tick_s polls a second, 3.2 with the defaults, far below what
        # 10 000 feeds every 5 minutes need (33).
        if free > 0:  # a tick with every slot busy says nothing about the backlog
            self._backlog = len(claimed) == free
        if claimed and self._stopping:  # the drain began while this round claimed: hand them back
            await self._hand_back([feed.id for feed in claimed])
            return 0
        now = self._poller.clock()
        for feed in claimed:
            if feed.due_at is not None:
                metrics.POLL_START_DELAY.observe(max(0.0, (now - feed.due_at).total_seconds()))
            self._start(feed)
        return len(claimed)

    def _reload_and_claim(self, free: int, polling: Collection[int]) -> list[feed_store.ClaimedFeed]:
        self._reloader.reload_if_changed()
        return self._claim(free, force=False, polled_before=None, skip=polling)

    def _claim(
        self, limit: int, *, force: bool, polled_before: datetime | None, skip: Collection[int] = ()
    ) -> list[feed_store.ClaimedFeed]:
        if limit <= 0:  # no transaction (and no write lock) for nothing
            return []
        # The clock is read inside the transaction, once it has the write lock: a lease runs
        # its full length from the claim, however long the claim waited for the lock.
        return db.run_transaction(
            self._poller.engine,
            lambda conn: feed_store.claim_due(
                conn,
                owner=self._poller.owner,
                now=self._poller.clock(),
                lease_s=self._settings.poll_lease_s,
                limit=limit,
                force=force,
                polled_before=polled_before,
                skip=skip,
            ),
        )

    def _start(self, feed: feed_store.ClaimedFeed) -> None:
        task = asyncio.create_task(self._poller.poll(feed), name=f"poll:{feed.name}")
        self._tasks[feed.id] = task
        task.add_done_callback(functools.partial(self._finished, feed.id))

    def _finished(self, feed_id: int, task: asyncio.Task[PollOutcome]) -> None:
        if self._tasks.get(feed_id) is task:
            del self._tasks[feed_id]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A bug, not a feed problem: the lease expires and the feed is retried later.
            log.error("poll_crashed", exc_info=exc)
            return
        outcome = task.result()
        if self._backlog and self._collected is None and self._refill_due():
            self.rounds.start_unless_running()
        if self._collected is not None:
            self._collected.append(outcome)
        if self._first_round is not None and self._first_round.add(outcome):
            failing, line = summary_line(list(self._first_round.seen.values()))
            log_event(log, logging.WARNING if failing else logging.INFO, "first_round", summary=line)
            self._first_round = None

    def _refill_due(self) -> bool:
        """Enough slots free to claim again before the tick: a quarter of them (one claim
        transaction per four polls at most, not one per poll)."""
        concurrency = self._settings.poll_concurrency
        return not self._stopping and concurrency - len(self._tasks) >= max(1, concurrency // 4)

    def watch_first_round(self) -> None:
        """Log one summary line once every pollable feed has been polled (``run`` at start)."""
        expected = db.run_transaction(self._poller.engine, feed_store.count_pollable)
        self._first_round = FirstRound(expected) if expected else None

    async def poll_all_once(self) -> list[PollOutcome]:
        """Poll every pollable feed once now, ignoring schedules, and wait for all of them.

        Once: a feed whose poll the database refused is not polled again in the same pass."""
        started = self._poller.clock()
        began, waited_before = time.perf_counter(), db.WRITE_WAITS.seconds
        collected: list[PollOutcome] = []
        self._collected = collected
        tried: set[int] = set()
        while True:
            if not self._tasks or self._refill_due():  # as run does: not one claim per poll
                free = self._settings.poll_concurrency - len(self._tasks)
                claimed = await asyncio.to_thread(
                    self._claim, free, force=True, polled_before=started, skip=tried
                )
                for feed in claimed:
                    tried.add(feed.id)
                    self._start(feed)
            if not self._tasks:
                break
            await asyncio.wait(list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED)
        self._collected = None
        log_event(
            log,
            logging.INFO,
            "poll_pass",
            feeds=len(collected),
            wall_s=round(time.perf_counter() - began, 3),
            polling_s=round(sum(o.duration_ms or 0 for o in collected) / 1000, 3),
            write_wait_s=round(db.WRITE_WAITS.seconds - waited_before, 3),
        )
        now = self._poller.clock()
        with self._poller.engine.connect() as conn:
            held = feed_store.held_elsewhere(conn, owner=self._poller.owner, now=now)
        collected += [
            PollOutcome(name, "held_elsewhere", error=f"another poller holds it until {until:%H:%M:%S} UTC")
            for name, until in held
        ]
        return sorted(collected, key=lambda o: o.feed)

    # --- stopping -------------------------------------------------------------------------------

    async def drain(self, *, grace_s: float) -> Drained:
        """Stop claiming, let running polls finish within the grace period, hand the rest back."""
        self._stopping = True
        await self.rounds.stop(timeout_s=grace_s)  # a tick claiming right now starts its polls
        running = dict(self._tasks)
        if running:
            log_event(log, logging.INFO, "draining", polls=len(running), grace_s=grace_s)
            await asyncio.wait(list(running.values()), timeout=grace_s)
        leftover = [feed_id for feed_id, task in running.items() if not task.done()]
        for feed_id in leftover:
            running[feed_id].cancel()
        if leftover:
            await asyncio.gather(*(running[i] for i in leftover), return_exceptions=True)
            await self._hand_back(leftover)
        return Drained(finished=len(running) - len(leftover), handed_back=len(leftover))

    async def _hand_back(self, feed_ids: list[int]) -> None:
        """Give the leases of feeds this process will not poll back, so another poller may."""
        await asyncio.to_thread(
            self._poller.watch.attempt,
            "release",
            lambda: db.run_transaction(
                self._poller.engine,
                lambda conn: feed_store.release(conn, feed_ids, owner=self._poller.owner),
            ),
            wrote=True,
        )


@dataclass(frozen=True, slots=True)
class Drained:
    """What a stop did with the polls running: let them finish, or gave their feeds back."""

    finished: int
    handed_back: int
