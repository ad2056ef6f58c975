"""The SSRF guard: which addresses the fetcher may connect to, enforced at connect time.

Rules:

- An address is allowed when it is public (globally routable unicast) or lies inside one of
  the operator's allowed networks (``RIVALWATCH_FETCH_ALLOW_CIDRS``). Everything else is
  refused and named by its class: unspecified, loopback, multicast, link-local, private,
  shared (CGNAT 100.64.0.0/10), documentation, reserved, site-local, non-global.
- IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``,
  NAT64 ``64:ff9b::/96``) are judged by the IPv4 address they carry, so ``::ffff:127.0.0.1``
  is loopback.
- The check applies to the address actually connected to, not to the URL's spelling:
  :class:`GuardedNetworkBackend` resolves every host itself (so ``2130706433``, ``0x7f000001``,
  ``127.1`` and ``localhost`` all become ``127.0.0.1`` before judgement), checks every
  candidate, and connects by IP to an allowed one only; no socket is opened for a refused
  host. IP literals are judged without resolving. TLS still verifies the host name, because
  httpcore passes ``server_hostname`` to ``start_tls`` separately from the connect address.
- :func:`validate_feed_url` is the load-time check (scheme, host, no whitespace or control
  characters). It does not look at addresses: DNS answers change, so only the connect-time
  check counts.
- Error messages name the host and the address class, never the URL (it may carry a query
  with a token or user info).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import httpcore

from service.errors import BlockedAddressError, SchemeError, TransportError

if TYPE_CHECKING:
    from service.config import Settings

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Turns (host, port) into candidate addresses; injectable so tests need no DNS."""

ALLOWED_SCHEMES = frozenset({"http", "https"})

_SHARED_ADDRESS_SPACE = ip_network("100.64.0.0/10")
_NAT64_WELL_KNOWN = ip_network("64:ff9b::/96")
_DOCUMENTATION = tuple(
    ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)


ALLOW_HINT = " (to poll it anyway, add its range to RIVALWATCH_FETCH_ALLOW_CIDRS)"


def embedded_ipv4(ip: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(ip, IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64_WELL_KNOWN:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_class(ip: IPAddress) -> str | None:
    """Why an address is not public (e.g. "loopback"), or None when it is public."""
    carried = embedded_ipv4(ip)
    if carried is not None:
        return address_class(carried)
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_multicast, "multicast"),
        (ip.is_link_local, "link-local"),
        (ip in _SHARED_ADDRESS_SPACE, "shared (CGNAT)"),
        (any(ip in net for net in _DOCUMENTATION), "documentation"),
        (ip.is_reserved, "reserved"),
        (isinstance(ip, IPv6Address) and ip.is_site_local, "site-local"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-global"),
    )
    return next((name for failed, name in checks if failed), None)


class AddressPolicy:
    """Public addresses plus the operator's allowed networks; nothing else."""

    def __init__(self, *, allow: Iterable[IPNetwork] = ()) -> None:
        self.allow: tuple[IPNetwork, ...] = tuple(allow)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(allow=settings.allow_networks)

    def refusal_reason(self, ip: IPAddress) -> str | None:
        """The address class that makes ``ip`` refused, or None when it may be reached."""
        if self._in_allow_list(ip):
            return None
        carried = embedded_ipv4(ip)
        if carried is not None and self._in_allow_list(carried):
            return None
        return address_class(ip)

    def is_allowed(self, ip: IPAddress) -> bool:
        return self.refusal_reason(ip) is None

    def check(self, ip: IPAddress, *, host: str) -> None:
        reason = self.refusal_reason(ip)
        if reason is not None:
            raise BlockedAddressError(f"refused to connect to host {host!r}: {ip} is {reason}{ALLOW_HINT}")

    def _in_allow_list(self, ip: IPAddress) -> bool:
        # Mixed-version membership is simply False in ipaddress, so no version filter is needed.
        return any(ip in net for net in self.allow)


def validate_feed_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host; raise SchemeError otherwise."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise SchemeError("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise SchemeError("URL is malformed") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise SchemeError(f"scheme {parts.scheme[:16].lower()!r} is not allowed (http or https only)")
    if not parts.hostname:
        raise SchemeError("has no host")
    return url


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells in canonical form, or None for a name (or odd spelling)."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


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
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
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


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
