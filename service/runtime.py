"""Composition root: builds the parts from settings and runs them (``poll --once``, ``run``)."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service import metrics
from service.config import Settings
from service.errors import DatabaseError
from service.logs import log_event
from service.notify.channels import Notifiers
from service.notify.delivery import Delivery
from service.notify.worker import OutboxWorker
from service.pipeline import IngestLane, Poller, PollOutcome
from service.reload import Reloader
from service.rulebook import ActiveRuleBook
from service.scheduler import Scheduler, make_owner_id
from service.sources.fetch import Fetcher
from service.store import db
from service.store.engine import open_engine
from service.store.trouble import explained
from service.store.watch import DatabaseWatch

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Runtime:
    engine: Engine
    poller: Poller
    scheduler: Scheduler
    delivery: Delivery
    watch: DatabaseWatch


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, load_rules: bool = True, probe_broken: bool = False
) -> AsyncIterator[Runtime]:
    """The parts, wired. A broken channel whose settings changed since it broke is due for a
    probe at once; with ``probe_broken`` (a service starting) every broken channel is."""
    engine = open_engine(settings)
    fetcher = Fetcher.from_settings(settings)
    notifiers = Notifiers.from_settings(settings)
    watch = DatabaseWatch.of(engine)
    watch.export()
    metrics.count_per_feed(settings.metrics_per_feed)
    lane = IngestLane.for_engine(engine)
    try:
        rules = ActiveRuleBook()
        owner = make_owner_id()
        rng = random.Random()
        poller = Poller(
            engine=engine,
            fetcher=fetcher,
            settings=settings,
            owner=owner,
            clock=utcnow,
            rng=rng,
            destinations=notifiers,
            watch=watch,
            rulebook=rules.get,
            lane=lane,
        )
        reloader = Reloader(
            engine=engine,
            rules_dir=settings.rules_dir,
            rules=rules,
            clock=utcnow,
            destinations=notifiers,
            default_interval_s=settings.poll_interval_s,
        )
        if load_rules:
            reloader.load()
        worker = OutboxWorker(
            engine=engine,
            notifiers=notifiers,
            settings=settings,
            owner=owner,
            clock=utcnow,
            rng=rng,
        )
        worker.probe_broken(every=probe_broken)
        delivery = Delivery(engine=engine, worker=worker, settings=settings, clock=utcnow, watch=watch)
        scheduler = Scheduler(poller=poller, reloader=reloader)
        yield Runtime(engine, poller, scheduler, delivery, watch)
    finally:
        try:
            await asyncio.to_thread(lane.close)  # first: its work may still use the others
            await notifiers.aclose()
            await fetcher.aclose()
        finally:
            engine.dispose()


async def poll_once(settings: Settings) -> list[PollOutcome]:
    """Poll every feed now, then deliver what is due (bounded by ``poll_once_deliver_timeout_s``)."""
    with explained(settings.database_url):
        async with open_runtime(settings, probe_broken=True) as rt:
            outcomes = await rt.scheduler.poll_all_once()
            await rt.delivery.drain(timeout_s=settings.poll_once_deliver_timeout_s)
            outage = rt.watch.outage()
    if outage is not None:  # what was polled was not stored: say why, and exit 3
        raise DatabaseError(outage.trouble.message)
    return outcomes


async def stop_ticking(ticker: AsyncIOScheduler) -> None:
    """Stop the job ticker without cancelling a job it has just handed to the loop.

    APScheduler's asyncio executor cancels every job task not yet done when it shuts down, and
    logs each as "Error running job" with a traceback. The ticker's jobs only start a round
    and return at once, so pausing it (no new job) and yielding once (the jobs already handed
    over run to their end) leaves it nothing to cancel. Seen when a stop came in the very tick a
    job was due."""
    ticker.pause()
    await asyncio.sleep(0)
    ticker.shutdown(wait=False)


async def run_service(settings: Settings) -> None:
    """The long-running service: ticks until SIGTERM/SIGINT, then stops gracefully."""
    # Only the service serves HTTP and ticks: importing FastAPI, uvicorn and APScheduler made
    # every other command slower (poll --once with no feeds: 0.93 s with them, 0.67 s without).
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from service.api.serve import listening, start_api, stop_api

    # The API's port first: taken, it stops start-up before anything has started.
    with (
        listening(settings) as sock,
        db.scheduler_lock(settings.database_url),
        explained(settings.database_url),
    ):
        async with open_runtime(settings, probe_broken=True) as rt:
            moved = rt.scheduler.spread_overdue()
            rt.scheduler.watch_first_round()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            ticker = AsyncIOScheduler(timezone=UTC)
            ticker.add_job(
                rt.scheduler.rounds.start,
                "interval",
                seconds=settings.tick_s,
                max_instances=1,
                coalesce=True,
                next_run_time=utcnow(),
                id="tick",
            )
            ticker.add_job(
                rt.delivery.start_round,
                "interval",
                seconds=settings.deliver_tick_s,
                max_instances=1,
                coalesce=True,
                next_run_time=utcnow(),
                id="deliver",
            )
            ticker.start()
            api = start_api(
                settings,
                sock,
                rt.engine,
                rt.watch,
                rules=lambda: rt.scheduler.reloader.rules.state,
                clock=utcnow,
            )
            log_event(
                log,
                logging.INFO,
                "service_started",
                owner=rt.poller.owner,
                overdue_spread=moved,
                api=f"{settings.api_host}:{settings.api_port}" if api else "off",
            )
            await stop.wait()
            log_event(log, logging.INFO, "service_stopping", grace_s=settings.shutdown_grace_s)
            await stop_ticking(ticker)
            drained = await rt.scheduler.drain(grace_s=settings.shutdown_grace_s)
            delivery_round = await rt.delivery.stop(grace_s=settings.shutdown_grace_s)
            await stop_api(api)
            log_event(
                log,
                logging.INFO,
                "service_stopped",
                polls_finished=drained.finished,
                polls_handed_back=drained.handed_back,
                delivery_round=delivery_round,
            )
