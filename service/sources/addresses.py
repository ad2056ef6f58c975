"""Which addresses the fetcher may reach, and which feed URLs may be declared: pure decisions.

Rules:

- An address is allowed when it is public (globally routable unicast) or lies inside one of
  the operator's allowed networks (``RIVALWATCH_FETCH_ALLOW_CIDRS``). Everything else is
  refused and named by its class: unspecified, loopback, multicast, link-local, private,
  shared (CGNAT 100.64.0.0/10), documentation, reserved, site-local, non-global.
- IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``,
  NAT64 ``64:ff9b::/96``) are judged by the IPv4 address they carry, so ``::ffff:127.0.0.1``
  is loopback.
- :func:`validate_feed_url` is the load-time check (scheme, host, no whitespace or control
  characters). It does not look at addresses: DNS answers change, so only the connect-time
  check counts (:mod:`service.sources.guard` applies the policy to every connection).
- Error messages name the host and the address class, never the URL (it may carry a query
  with a token or user info).

Apart from the connecting guard so that declaring feeds (``rules validate``) does not import
the HTTP stack (bench `cli`).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from service.errors import BlockedAddressError, SchemeError

if TYPE_CHECKING:
    from service.config import Settings

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})

_SHARED_ADDRESS_SPACE = ip_network("100.64.0.0/10")
_NAT64_WELL_KNOWN = ip_network("64:ff9b::/96")
_DOCUMENTATION = tuple(
    ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)


ALLOW_HINT = " (to poll it anyway, add its range to RIVALWATCH_FETCH_ALLOW_CIDRS)"


def is_loopback_host(host: str) -> bool:
    """Whether a configured host (a name, an address, a bracketed IPv6 address) is this machine:
    ``localhost`` in any case, or a loopback address."""
    try:
        return host.lower() == "localhost" or ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
