"""The SSRF guard: the address policy (:mod:`service.sources.addresses`) enforced at connect time.

- The check applies to the address actually connected to, not to the URL's spelling:
  :class:`GuardedNetworkBackend` resolves every host itself (so ``2130706433``, ``0x7f000001``,
  ``127.1`` and ``localhost`` all become ``127.0.0.1`` before judgement), checks every
  candidate, and connects by IP to an allowed one only; no socket is opened for a refused
  host. IP literals are judged without resolving. TLS still verifies the host name, because
  httpcore passes ``server_hostname`` to ``start_tls`` separately from the connect address.
- Error messages name the host and the address class, never the URL (it may carry a query
  with a token or user info).
"""

from __future__ import annotations

import select
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import ip_address
from typing import Any

import anyio
import httpcore

from service.errors import BlockedAddressError, TransportError
from service.sources.addresses import ALLOW_HINT, AddressPolicy, IPAddress, ip_literal

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Turns (host, port) into candidate addresses; injectable so tests need no DNS."""


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """All addresses ``host`` resolves to, in resolver order, without duplicates."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"cannot resolve host {host!r}: {_short(exc)}") from None
    addresses: dict[IPAddress, None] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses[ip_address(sockaddr[0])] = None
    return list(addresses)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that resolves, judges and then connects by IP.

    httpcore calls ``connect_tcp`` with the URL's host for every new connection, including
    each redirect hop's, so installing this backend in the pool guards every hop.
    """

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        resolver: Resolver = resolve_host,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        candidates = await self._allowed_addresses(host, port, timeout_s=timeout)
        last_error: Exception | None = None
        for address in candidates:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _PooledStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc  # try the next allowed address, as a browser would
        assert last_error is not None  # candidates is never empty
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("refused to connect to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _allowed_addresses(self, host: str, port: int, *, timeout_s: float | None) -> list[IPAddress]:
        literal = ip_literal(host)
        if literal is not None:
            self._policy.check(literal, host=host)
            return [literal]
        with anyio.move_on_after(timeout_s) as scope:
            candidates = await self._resolver(host, port)
        if scope.cancelled_caught:
            raise TransportError(f"resolving host {host!r} timed out")
        if not candidates:
            raise TransportError(f"host {host!r} resolved to no address")
        allowed = [ip for ip in candidates if self._policy.is_allowed(ip)]
        if not allowed:
            refused = ", ".join(f"{ip} is {self._policy.refusal_reason(ip)}" for ip in candidates[:4])
            raise BlockedAddressError(f"refused to connect to host {host!r}: {refused}{ALLOW_HINT}")
        return allowed


class _PooledStream(httpcore.AsyncNetworkStream):
    """A connection's stream that tells whether its socket is readable without asking anyio.

    Each time httpcore's pool hands out a request or takes back a connection, it asks every
    pooled connection whether its server hung up: is the socket readable while idle. Answered
    by anyio, each ask built the socket's attribute table and called ``getpeername``. The socket
    is looked up once here and polled directly, as httpcore itself does with the socket it is
    given: 470 loopback fetches, 16 at a time, 0.88 → 0.72 s of CPU.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's stream interface
    ) -> httpcore.AsyncNetworkStream:
        return _PooledStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether reading ``sock`` would not block (data, or the peer closed); a socket that is
    gone counts as readable, so the pool drops its connection."""
    if sock is None or sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
