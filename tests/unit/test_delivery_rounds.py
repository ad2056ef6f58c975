"""Delivery rounds in the running service: started by the tick, never overlapping, never cut.

A fake worker stands in for the outbox (it only counts rounds and waits to be released), so
these tests pin the scheduling, not the sending: a round longer than the tick is normal and
quiet, and a stop waits for the round in progress instead of cancelling it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import REGISTRY

from service.config import load_settings
from service.notify.channels import Notifiers
from service.notify.delivery import Delivery
from service.notify.worker import RoundResult
from service.store import db

pytestmark = pytest.mark.timeout(30)


class SlowWorker:
    """Each round waits for ``release`` (or ``round_s``), then reports one message sent."""

    def __init__(self, *, round_s: float | None = None) -> None:
        self.release = asyncio.Event()
        self.round_s = round_s
        self.started = 0
        self.finished = 0
        self.notifiers = Notifiers.from_settings(load_settings(database_url="sqlite://"))  # no digest

    async def run_once(self) -> RoundResult:
        self.started += 1
        if self.round_s is None:
            await self.release.wait()
        else:
            await asyncio.sleep(self.round_s)
        self.finished += 1
        return RoundResult(sent=1)

    async def drain(self, *, timeout_s: float) -> RoundResult:
        return await self.run_once()


def delivery(worker: SlowWorker) -> Delivery:
    settings = load_settings(database_url="sqlite://")  # no SMTP: the digest check does nothing
    engine = db.make_engine("sqlite://")
    return Delivery(engine=engine, worker=worker, settings=settings, clock=lambda: datetime.now(UTC))


async def test_a_tick_during_a_round_leaves_it_running_and_starts_none() -> None:
    worker = SlowWorker()
    rounds = delivery(worker)
    overlaps_before = sample("rivalwatch_round_overlaps_total", job="deliver")
    await rounds.start_round()
    await asyncio.sleep(0.05)
    for _ in range(3):
        await rounds.start_round()  # returns at once: the round before it is still sending
    assert (worker.started, worker.finished) == (1, 0)
    worker.release.set()
    await rounds.stop(grace_s=5)
    assert (worker.started, worker.finished) == (1, 1)
    # /metrics says how often a tick found a round running, and how long rounds take.
    assert sample("rivalwatch_round_overlaps_total", job="deliver") - overlaps_before == 3
    assert sample("rivalwatch_round_duration_seconds_count", job="deliver") >= 1


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_stop_waits_for_the_round_in_progress_and_starts_no_other() -> None:
    worker = SlowWorker(round_s=0.3)
    rounds = delivery(worker)
    await rounds.start_round()
    await asyncio.sleep(0.05)
    await rounds.stop(grace_s=5)
    assert (worker.started, worker.finished) == (1, 1)  # recorded, not cut half-way
    await rounds.start_round()
    assert worker.started == 1


async def test_rounds_longer_than_the_tick_are_quiet_under_the_scheduler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    worker = SlowWorker(round_s=0.25)
    rounds = delivery(worker)
    ticker = AsyncIOScheduler(timezone=UTC)
    job: dict[str, Any] = {"max_instances": 1, "coalesce": True, "next_run_time": datetime.now(UTC)}
    ticker.add_job(rounds.start_round, "interval", seconds=0.05, **job)
    ticker.start()
    await asyncio.sleep(0.8)  # bounded: about 16 ticks over 3 rounds
    ticker.shutdown(wait=False)
    await rounds.stop(grace_s=5)
    assert worker.started >= 2 and worker.started == worker.finished
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


async def test_a_digest_that_cannot_be_built_costs_no_outbox_round(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []

    def cannot_build(*_args: Any, period_key: str, **_kwargs: Any) -> None:
        builds.append(period_key)
        raise ValueError("a story no template can show")

    monkeypatch.setattr("service.notify.delivery.enqueue_digest", cannot_build)
    settings = load_settings(
        database_url="sqlite://", digest_at="00:00", smtp_host="127.0.0.1", digest_to="team@example.com"
    )  # a digest is configured and due all day
    worker = SlowWorker(round_s=0)
    worker.notifiers = Notifiers.from_settings(settings)
    rounds = Delivery(
        engine=db.make_engine("sqlite://"), worker=worker, settings=settings, clock=lambda: datetime.now(UTC)
    )
    for _ in range(3):
        result = await rounds.tick()
        assert result.sent == 1  # Slack, email and webhooks go on
    assert worker.finished == 3
    # Logged once, and not rebuilt at every tick: its alerts wait for the next digest.
    failed = [r for r in caplog.records if "digest_failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert len(builds) == 1
