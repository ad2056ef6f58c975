"""A scripted Slack incoming-webhook receiver on loopback, and a manual clock for pacing.

Rules:

- :class:`SlackReceiver` serves one webhook path (by default one shaped like a real webhook,
  ``/services/T000/B000/SECRETTOKEN``, so tests can look for leaks of it) on a
  :class:`~tests.support.httpserver.LoopbackHTTPServer`.
- Answers come from a script, first in first out (:meth:`SlackReceiver.script`); when it is
  empty every request gets ``200 ok``. The factories below cover what Slack answers
  (``ok``, ``rate_limited``, ``server_error``, ``invalid_blocks``, ``forbidden``,
  ``channel_not_found``, ``archived``) plus two faults: ``slow`` (answers after a delay,
  longer than a client's timeout) and ``reset`` (reads the whole request, then closes the
  socket without answering).
- Every POST is recorded *before* it is answered, with its payload parsed as JSON (None if
  it is not JSON), the raw body and its arrival time on ``clock`` (monotonic by default; pass
  a :class:`ManualClock`'s ``now`` to see arrivals in fake time).
- The base server records no request bodies, so this module swaps in a request handler that
  keeps the body for the answering code (same thread) to read.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply, _RequestHandler

WEBHOOK_PATH = "/services/T000/B000/SECRETTOKEN"
BODY_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False
    """Close the connection after reading the request, without answering."""


def ok() -> Answer:
    return Answer()


def rate_limited(retry_after: str | None = "1") -> Answer:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return Answer(429, "rate_limited", headers)


def server_error(status: int = 500, body: str = "rollup_error") -> Answer:
    return Answer(status, body)


def invalid_blocks() -> Answer:
    return Answer(400, "invalid_blocks")


def forbidden(body: str = "action_prohibited") -> Answer:
    return Answer(403, body)


def channel_not_found() -> Answer:
    return Answer(404, "channel_not_found")


def archived() -> Answer:
    return Answer(410, "channel_is_archived")


def slow(delay_s: float) -> Answer:
    return Answer(delay_s=delay_s)


def reset() -> Answer:
    return Answer(reset=True)


@dataclass(frozen=True)
class Received:
    payload: Any
    body: bytes
    arrived_at: float
    headers: dict[str, str]


class SlackReceiver:
    """``with SlackReceiver() as slack: ...; slack.url`` is the webhook to post to."""

    def __init__(
        self,
        *,
        path: str = WEBHOOK_PATH,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._script: deque[Answer] = deque()
        self._received: list[Received] = []
        self._server = LoopbackHTTPServer(host=host)
        self._server._httpd.RequestHandlerClass = _BodyKeepingHandler
        self._server.route(path, handler=self._answer)

    @property
    def url(self) -> str:
        return self._server.url(self.path)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def payloads(self) -> list[Any]:
        return [r.payload for r in self.received]

    @property
    def connection_count(self) -> int:
        return self._server.connection_count

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with ``answers``, in order; then ``200 ok`` again."""
        with self._lock:
            self._script.extend(answers)

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    def _answer(self, request: RecordedRequest) -> Reply:
        body: bytes = getattr(_request_body, "value", b"")
        with self._lock:
            self._received.append(Received(_parse(body), body, self._clock(), dict(request.headers)))
            answer = self._script.popleft() if self._script else Answer()
        if answer.reset:
            # The base handler treats this as "client went away": it closes without answering.
            raise ConnectionResetError("scripted reset")
        headers = {"Content-Type": "text/html"} | answer.headers
        return Reply(answer.status, answer.body.encode(), headers, delay_s=answer.delay_s)


_request_body = threading.local()


class _BodyKeepingHandler(_RequestHandler):
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), BODY_MAX_BYTES)
        _request_body.value = self.rfile.read(length)
        try:
            self._handle()
        finally:
            _request_body.value = b""


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class ManualClock:
    """A monotonic clock that moves only when told; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
