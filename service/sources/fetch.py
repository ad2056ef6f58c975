"""Fetch one feed URL over HTTP/1.1 with every limit a hostile server could test.

Rules:

- Every connection goes through :class:`~service.sources.guard.GuardedNetworkBackend`, so the
  SSRF guard judges the address actually connected to, on every hop. httpx's transport does
  not accept a network backend, so :func:`_guarded_transport` swaps its connection pool for
  an ``httpcore.AsyncConnectionPool`` built with the same settings plus that backend.
  ``trust_env`` is off: an environment proxy would make the guard judge the proxy instead.
- Redirects are followed here, not by httpx: at most ``max_redirects`` hops, each Location
  resolved against the current URL and re-validated (http/https only).
- Conditional GET: ``If-None-Match`` / ``If-Modified-Since`` are sent when given; a 304 is a
  result with an empty body and its body is never read.
- One wall-clock deadline covers the whole fetch (resolving, connecting, redirects, body);
  httpx's per-operation timeouts alone let a server drip one byte a second forever. Time spent
  queueing behind other fetches to the same host does not count, up to ``max_queue_s``: the
  deadline moves back by the time waited, so a busy host does not make queued feeds fail
  before they have sent a byte, and a whole fetch still ends within deadline + queue budget
  (which the service keeps inside the poll lease).
- The body is capped by *decoded* size while it streams. We ask for gzip/deflate ourselves
  and inflate raw chunks with ``max_length``, so one small compressed chunk never expands
  past a bounded slice in memory. A Content-Length above the cap is refused before reading.
  A body of exactly ``max_bytes`` is accepted. Gzip bytes sent without a Content-Encoding
  header are returned as they are (the parser sniffs them). Other encodings are an error.
- 2xx and 304 are results; any other status is :class:`HTTPStatusError` with ``Retry-After``
  (seconds or HTTP-date, against the injected clock) in ``retry_after_s``.
- At most ``per_host_concurrency`` requests run against one host name at a time; a host's
  slot is forgotten once nobody holds or waits for it, so the map stays as small as the fetches
  in flight.
- Errors name the host and a short reason, never the URL (it may carry a token).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from service import __version__
from service.errors import (
    BodyTooLargeError,
    DeadlineError,
    FetchError,
    HTTPStatusError,
    SchemeError,
    TooManyRedirectsError,
    TransportError,
)
from service.retry import parse_retry_after_s
from service.sources.addresses import AddressPolicy, validate_feed_url
from service.sources.guard import GuardedNetworkBackend, Resolver, resolve_host

if TYPE_CHECKING:
    from service.config import Settings

DEFAULT_USER_AGENT = f"rivalwatch/{__version__} (competitive-intelligence feed reader)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
INFLATE_SLICE_BYTES = 64 * 1024
"""Largest piece one inflate step may produce: the memory bound for a gzip bomb."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    """Final URL after redirects."""
    status: int
    """200..299, or 304."""
    body: bytes
    """Decoded body; b"" for 304."""
    headers: Mapping[str, str]
    """Final response headers as received, lower-case names."""
    etag: str | None
    last_modified: str | None
    bytes_read: int
    """Decoded bytes."""
    duration_ms: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Fetches feed URLs within the SSRF guard, size cap, deadline and per-host limit."""

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        timeout_s: float = 20.0,
        deadline_s: float = 30.0,
        max_bytes: int = 15 * 1024 * 1024,
        max_redirects: int = 5,
        per_host_concurrency: int = 2,
        max_queue_s: float = 60.0,
        user_agent: str = DEFAULT_USER_AGENT,
        now: Callable[[], datetime] = _utc_now,
        resolver: Resolver = resolve_host,
    ) -> None:
        self._deadline_s = deadline_s
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._per_host_concurrency = per_host_concurrency
        self._max_queue_s = max_queue_s
        self._now = now
        self._host_slots: dict[str, _HostSlot] = {}
        backend = GuardedNetworkBackend(policy=policy, resolver=resolver)
        self._client = httpx.AsyncClient(
            transport=_guarded_transport(backend),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            policy=AddressPolicy.from_settings(settings),
            timeout_s=settings.fetch_timeout_s,
            deadline_s=settings.fetch_deadline_s,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            per_host_concurrency=settings.fetch_per_host_concurrency,
            # What the lease leaves after the deadline and 5 s for parsing and storing.
            max_queue_s=max(0.0, settings.poll_lease_s - settings.fetch_deadline_s - 5),
            user_agent=settings.fetch_user_agent,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        validate_feed_url(url)
        started = time.perf_counter()
        deadline = asyncio.timeout(self._deadline_s)
        try:
            async with deadline:
                # Queueing may move the deadline back, by max_queue_s in all, across every hop.
                latest = (deadline.when() or 0.0) + self._max_queue_s
                result = await self._follow_redirects(
                    url, _conditional_headers(etag, last_modified), _Deadline(deadline, latest)
                )
        except TimeoutError:
            if deadline.expired():
                raise DeadlineError(f"fetch outlasted its {self._deadline_s:g} s deadline") from None
            raise
        return replace(result, duration_ms=(time.perf_counter() - started) * 1000)

    async def _follow_redirects(
        self, url: str, headers: Mapping[str, str], deadline: _Deadline
    ) -> FetchResult:
        for _hop in range(self._max_redirects + 1):
            host = _host_of(url)
            async with self._host_slot(host, deadline), self._request(url, headers, host=host) as response:
                location = response.headers.get("location")
                if response.status_code not in REDIRECT_STATUSES or location is None:
                    return await self._result(url, response, host=host)
            url = validate_feed_url(urljoin(url, location.strip()))
        raise TooManyRedirectsError(f"more than {self._max_redirects} redirects")

    @asynccontextmanager
    async def _request(
        self, url: str, headers: Mapping[str, str], *, host: str
    ) -> AsyncIterator[httpx.Response]:
        with _transport_errors(host):
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    @property
    def hosts_in_use(self) -> int:
        """Hosts with a fetch holding or waiting for one of their slots."""
        return len(self._host_slots)

    @asynccontextmanager
    async def _host_slot(self, host: str, deadline: _Deadline) -> AsyncIterator[None]:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = _HostSlot(asyncio.Semaphore(self._per_host_concurrency))
        slot.users += 1
        try:
            if slot.semaphore.locked():
                await deadline.not_counting(slot.semaphore)
            else:
                await slot.semaphore.acquire()
            try:
                yield
            finally:
                slot.semaphore.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._host_slots[host]

    async def _result(self, url: str, response: httpx.Response, *, host: str) -> FetchResult:
        status = response.status_code
        if status != 304 and not 200 <= status < 300:
            retry_after = parse_retry_after_s(response.headers.get("retry-after"), now=self._now())
            raise HTTPStatusError(status, retry_after_s=retry_after)
        if status == 304:
            # HTTP gives a 304 no body; reading its end lets the connection be reused.
            await response.aread()
            body = b""
        else:
            body = await self._read_body(response, host=host)
        headers = MappingProxyType({name.lower(): value for name, value in response.headers.items()})
        return FetchResult(
            url=url,
            status=status,
            body=body,
            headers=headers,
            etag=_validator(headers.get("etag")),
            last_modified=_validator(headers.get("last-modified")),
            bytes_read=len(body),
            duration_ms=0.0,
        )

    async def _read_body(self, response: httpx.Response, *, host: str) -> bytes:
        declared = response.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self._max_bytes:
            raise BodyTooLargeError(
                f"declared body of {declared} bytes exceeds the {self._max_bytes} byte cap"
            )
        decoder = BodyDecoder.for_encoding(response.headers.get("content-encoding"))
        body = bytearray()
        with _transport_errors(host):
            async for raw in response.aiter_raw():
                for piece in decoder.decode(raw):
                    self._append_within_cap(body, piece)
        for piece in decoder.finish():
            self._append_within_cap(body, piece)
        return bytes(body)

    def _append_within_cap(self, body: bytearray, piece: bytes) -> None:
        if len(body) + len(piece) > self._max_bytes:
            raise BodyTooLargeError(f"decoded body exceeds the {self._max_bytes} byte cap")
        body += piece


class BodyDecoder:
    """Inflates a gzip/deflate body in slices of at most ``INFLATE_SLICE_BYTES``."""

    _GZIP_OR_ZLIB_WBITS = 32 + zlib.MAX_WBITS  # auto-detects either header
    _RAW_DEFLATE_WBITS = -zlib.MAX_WBITS

    def __init__(self, *, encoding: str) -> None:
        self._encoding = encoding
        self._inflater = zlib.decompressobj(self._GZIP_OR_ZLIB_WBITS) if encoding != "identity" else None
        self._produced_any = False
        self._fed_any = False

    @classmethod
    def for_encoding(cls, header: str | None) -> BodyDecoder:
        encoding = (header or "identity").strip().lower()
        if encoding == "x-gzip":
            encoding = "gzip"
        if encoding not in ("identity", "gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {encoding[:32]!r}")
        return cls(encoding=encoding)

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            if data:
                yield data
            return
        self._fed_any = self._fed_any or bool(data)
        pending = data
        while pending:
            out, pending = self._inflate_slice(pending)
            if out:
                self._produced_any = True
                yield out

    def finish(self) -> Iterator[bytes]:
        inflater = self._inflater
        if inflater is None:
            return
        while not inflater.eof:
            # Drains output zlib still holds after the last input; each step is bounded too.
            out = inflater.decompress(b"", INFLATE_SLICE_BYTES)
            if not out:
                break
            yield out
        if self._fed_any and not inflater.eof:
            raise TransportError(f"{self._encoding} body ended before its end marker")

    def _inflate_slice(self, data: bytes) -> tuple[bytes, bytes]:
        """One bounded inflate step: (output, input still to feed)."""
        assert self._inflater is not None
        if self._inflater.eof:
            return b"", self._next_member(self._inflater.unused_data + data)
        try:
            out = self._inflater.decompress(data, INFLATE_SLICE_BYTES)
        except zlib.error as exc:
            if self._encoding == "deflate" and not self._produced_any:
                # Many servers send raw deflate (no zlib header) under "deflate".
                self._inflater = zlib.decompressobj(self._RAW_DEFLATE_WBITS)
                return self._inflate_slice(data)
            raise TransportError(f"{self._encoding} body is corrupt: {exc}") from None
        rest = self._inflater.unconsumed_tail
        if self._inflater.eof:
            rest = self._next_member(self._inflater.unused_data)
        return out, rest

    def _next_member(self, leftover: bytes) -> bytes:
        """Concatenated gzip members are one body; anything else after the end is ignored."""
        if leftover.startswith(b"\x1f\x8b"):
            self._inflater = zlib.decompressobj(self._GZIP_OR_ZLIB_WBITS)
            return leftover
        return b""


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag := _validator(etag):
        headers["If-None-Match"] = etag
    if last_modified := _validator(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth keeping and sending back: printable ASCII. A server's
    non-ASCII validator ("café-1") could not be sent in a request header: kept, it failed every
    later poll of its feed before the request left."""
    return value if value and value.isascii() and value.isprintable() else None


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0
    """Fetches holding or waiting for the semaphore."""


@dataclass(frozen=True, slots=True)
class _Deadline:
    """A fetch's deadline and the latest it may be moved back to while the fetch queues."""

    timeout: asyncio.Timeout
    latest: float
    """Loop time: the original deadline plus the whole queue budget."""

    async def not_counting(self, slot: asyncio.Semaphore) -> None:
        """Acquire ``slot``; the time spent waiting moves the deadline back, never past ``latest``."""
        timeout = self.timeout
        when = timeout.when()
        if when is None or timeout.expired():
            await slot.acquire()
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        ceiling = max(when, self.latest)
        timeout.reschedule(ceiling)
        try:
            await slot.acquire()
        finally:
            if not timeout.expired():  # an expired deadline is already cancelling this fetch
                timeout.reschedule(min(when + (loop.time() - started), ceiling))


def _host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


_TRANSPORT_REASONS: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectTimeout, "connect timed out"),
    (httpx.ReadTimeout, "read timed out"),
    (httpx.WriteTimeout, "write timed out"),
    (httpx.PoolTimeout, "no free connection in time"),
    (httpx.ConnectError, "connection failed"),
    (httpx.ReadError, "read failed"),
    (httpx.WriteError, "write failed"),
    (httpx.RemoteProtocolError, "server broke the HTTP protocol"),
    (httpx.UnsupportedProtocol, "unsupported protocol"),
    (httpx.HTTPError, "transport failure"),
)


@contextmanager
def _transport_errors(host: str) -> Iterator[None]:
    """Turn httpx's errors into TransportError naming the host and a short reason only."""
    try:
        yield
    except httpx.InvalidURL:
        raise SchemeError(f"URL for host {host!r} is malformed") from None
    except httpx.HTTPError as exc:
        reason = next(text for kind, text in _TRANSPORT_REASONS if isinstance(exc, kind))
        detail = str(exc)[:120]
        raise TransportError(f"{reason} for host {host!r}" + (f": {detail}" if detail else "")) from None


def _guarded_transport(backend: GuardedNetworkBackend) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections all go through ``backend``.

    ``AsyncHTTPTransport`` takes no ``network_backend``; its pool is replaced by one configured
    as httpx would (HTTP/1.1 only, default limits and TLS context) plus the guarded backend.
    """
    ssl_context = httpx.create_ssl_context()
    limits = httpx.Limits()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False, http1=True, http2=False)
    # Fail loudly if a future httpx stops keeping a plain pool here.
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        network_backend=backend,
    )
    return transport
