"""Stopping the job ticker: a job handed to the loop in the tick the stop comes is not cancelled."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.runtime import stop_ticking


async def _start_a_round() -> None:
    """A ticker job as the service's are: it starts a round and returns at once."""


async def _due_now_then_stopped(graceful: bool) -> None:
    """Start a ticker whose job is due now and stop it before the job has run."""
    ticker = AsyncIOScheduler(timezone=UTC)
    ticker.add_job(_start_a_round, "interval", seconds=60, next_run_time=datetime.now(UTC), id="deliver")
    ticker.start()  # hands the due job to the loop, which has not run it yet
    if graceful:
        await stop_ticking(ticker)
    else:
        ticker.shutdown(wait=False)
    await asyncio.sleep(0.05)  # the executor's callbacks log what became of the job


@pytest.mark.parametrize("graceful", [False, True])
def test_a_job_due_in_the_tick_of_the_stop_ends_without_an_error(
    caplog: pytest.LogCaptureFixture, graceful: bool
) -> None:
    with caplog.at_level(logging.INFO, logger="apscheduler"):
        asyncio.run(_due_now_then_stopped(graceful))
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    # APScheduler's own shutdown cancels the job and logs it with a traceback; stop_ticking does not
    assert errors == ([] if graceful else ["Error running job deliver"])
