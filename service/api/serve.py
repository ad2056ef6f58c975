"""The HTTP API inside ``rivalwatch run``: uvicorn on the service's event loop, stopped in order.

The listening socket is bound by :func:`listen` before anything else starts, so a port that is
taken (another rivalwatch, another program) is one line and exit 1 at once, not a traceback
through uvicorn after the scheduler has started.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

import uvicorn
from sqlalchemy.engine import Engine

from service.api.app import create_app
from service.api.writes import WritePolicy
from service.config import Settings
from service.errors import ListenError
from service.rulebook import RulesState
from service.store.watch import DatabaseWatch

LOCAL_HOSTS = ("localhost", "*.localhost", "127.0.0.1", "::1", "[::1]")
"""The names a console listening on this machine only answers to: a page of another site whose
name a DNS trick points at 127.0.0.1 (DNS rebinding) gets 400, not the team's alerts."""


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM and stops it in order."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextmanager
def listening(settings: Settings) -> Iterator[socket.socket | None]:
    """The API's socket (None when the API is off) for as long as the block runs."""
    sock = listen(settings) if settings.api_enabled else None
    try:
        yield sock
    finally:
        if sock is not None:
            sock.close()


def listen(settings: Settings) -> socket.socket:
    """A socket bound to ``RIVALWATCH_API_HOST``:``RIVALWATCH_API_PORT``; raises ListenError
    saying what to change when it cannot be."""
    host, port = settings.api_host, settings.api_port
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise ListenError(f"cannot listen on {where}: no such address (check RIVALWATCH_API_HOST)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restarts at once
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {where}: {_why(exc)}") from None
    return sock


def _why(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is taken (another rivalwatch, or another program?): set RIVALWATCH_API_PORT"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "the address is not one of this machine's: check RIVALWATCH_API_HOST"
    if exc.errno == errno.EACCES:
        return "not allowed to use that port (below 1024 needs privileges): set RIVALWATCH_API_PORT"
    return exc.strerror or str(exc)


def _allowed_hosts(settings: Settings, *, local_only: bool) -> tuple[str, ...] | None:
    """The Host names answered: this machine's names when listening on it only, with those of
    ``RIVALWATCH_API_ALLOWED_HOSTS`` added; beyond it, those alone (plus this machine's, for
    checks run on the box), or any when none are set."""
    configured = settings.allowed_hosts
    if local_only:
        return LOCAL_HOSTS + configured
    return configured + LOCAL_HOSTS if configured else None


def start_api(
    settings: Settings,
    sock: socket.socket | None,
    engine: Engine,
    watch: DatabaseWatch,
    *,
    rules: Callable[[], RulesState],
    clock: Callable[[], datetime],
) -> tuple[uvicorn.Server, asyncio.Task[None]] | None:
    if sock is None:
        return None
    writes = WritePolicy.from_settings(settings)
    config = uvicorn.Config(
        create_app(
            engine,
            clock=clock,
            rules=rules,
            watch=watch,
            timezone=settings.timezone,
            writes=writes,
            allowed_hosts=_allowed_hosts(settings, local_only=writes.local_only),
        ),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        # The write policy judges the address that connected (a proxy's, behind one); uvicorn
        # would otherwise put X-Forwarded-For from a local proxy in its place, and a proxy on
        # this machine naming the user would have every write refused.
        proxy_headers=False,
    )
    server = _ApiServer(config)
    return server, asyncio.create_task(server.serve(sockets=[sock]))


async def stop_api(api: tuple[uvicorn.Server, asyncio.Task[None]] | None) -> None:
    if api is None:
        return
    server, task = api
    server.should_exit = True
    with suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
