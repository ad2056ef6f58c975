"""Fixtures the delivery tests share: a loopback feed server and the outbox's fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.httpserver import LoopbackHTTPServer
from tests.support.outbox import FakeClock


@pytest.fixture
def feed() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    # Starts a little after the real now: the pipeline stamps alerts and outbox rows with
    # the real time, so everything it stored is due on the fake clock.
    return FakeClock(datetime.now(UTC) + timedelta(seconds=30))
