"""The HTTP API inside ``rivalwatch run``: uvicorn on the service's event loop, stopped in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

import uvicorn
from sqlalchemy.engine import Engine

from service.api.app import create_app
from service.config import Settings
from service.rulebook import RulesState
from service.store.watch import DatabaseWatch


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM and stops it in order."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def start_api(
    settings: Settings,
    engine: Engine,
    watch: DatabaseWatch,
    *,
    rules: Callable[[], RulesState],
    clock: Callable[[], datetime],
) -> tuple[uvicorn.Server, asyncio.Task[None]] | None:
    if not settings.api_enabled:
        return None
    config = uvicorn.Config(
        create_app(engine, clock=clock, rules=rules, watch=watch),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _ApiServer(config)
    return server, asyncio.create_task(server.serve())


async def stop_api(api: tuple[uvicorn.Server, asyncio.Task[None]] | None) -> None:
    if api is None:
        return
    server, task = api
    server.should_exit = True
    with suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
