"""Who may write through the console (feedback), and the check that a form came from it.

Rules:

- Listening on this machine only (``RIVALWATCH_API_HOST`` a loopback address, the default)
  with neither a token nor a proxy header configured, anyone who can reach the page may
  write: they are on this machine already. The writer is recorded as ``console``.
- ``RIVALWATCH_API_USER_HEADER`` (e.g. ``X-Forwarded-User``): a reverse proxy in front
  authenticates people and names them in that header; a request carrying it writes as them,
  but only when it comes from an address of ``RIVALWATCH_API_TRUSTED_PROXIES`` (default: this
  machine): anyone else could write the header themselves.
- ``RIVALWATCH_API_TOKEN``: a request writes when it carries the token, as
  ``Authorization: Bearer …`` or as the cookie the sign-in page sets; recorded as ``token``.
- Otherwise — listening beyond this machine with neither configured — every write is
  refused, saying what to set.
- Every form carries a random value that must equal the ``rw_csrf`` cookie the console set
  (SameSite=Lax): another site cannot make a browser post feedback (double-submit check).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from service.config import Settings
from service.sources.addresses import is_loopback_host

TOKEN_COOKIE = "rw_token"  # noqa: S105 - the cookie's name, not a secret
CSRF_COOKIE = "rw_csrf"
CSRF_FIELD = "csrf"


LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True, slots=True)
class WritePolicy:
    local_only: bool
    token: str | None
    user_header: str | None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = LOOPBACK_NETWORKS

    @classmethod
    def from_settings(cls, settings: Settings) -> WritePolicy:
        token = settings.api_token.get_secret_value() if settings.api_token else None
        proxies = settings.trusted_proxy_networks or LOOPBACK_NETWORKS
        local = is_loopback_host(settings.api_host)
        return cls(local, token or None, settings.api_user_header or None, proxies)

    @property
    def open(self) -> bool:
        """Writes need no credentials (this machine only, nothing configured)."""
        return self.local_only and self.token is None and self.user_header is None

    def writer(
        self, *, headers: Mapping[str, str], cookies: Mapping[str, str], client: str | None = None
    ) -> str | None:
        """Who is writing, or None when the request may not write; ``client`` is the address the
        request came from (the proxy's, behind one)."""
        if self.user_header and self._trusted(client):
            user = headers.get(self.user_header.lower(), "").strip()
            if user:
                return user[:200]
        if self.token is not None:
            offered = cookies.get(TOKEN_COOKIE) or _bearer(headers.get("authorization", ""))
            return "token" if offered and same_secret(offered, self.token) else None
        return "console" if self.open else None

    def _trusted(self, client: str | None) -> bool:
        try:
            address = ipaddress.ip_address(client or "")
        except ValueError:
            return False
        # Listening on "::" a proxy at 127.0.0.1 connects as ::ffff:127.0.0.1, which is in no
        # IPv4 network as written: compare the IPv4 address it carries.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted_proxies)

    def refusal(self) -> str:
        if self.token is not None:
            return "sign in with the API token first (RIVALWATCH_API_TOKEN)"
        if self.user_header:
            return f"the reverse proxy did not name a user ({self.user_header})"
        return (
            "writes are off: the console listens beyond this machine, so set RIVALWATCH_API_TOKEN "
            "(or RIVALWATCH_API_USER_HEADER behind an authenticating proxy)"
        )


def csrf_ok(cookie: str | None, submitted: str | None, *, fetched_from: str | None = None) -> bool:
    """A form post is the console's own: its token matches the form cookie, and the browser
    does not say it came from another site (``Sec-Fetch-Site``). A sibling site (another
    subdomain, or another port of this host) can plant the cookie, so the cookie alone is
    not enough; a browser too old to send the header is judged by the token."""
    if fetched_from in ("cross-site", "same-site"):
        return False
    return bool(cookie) and bool(submitted) and same_secret(str(cookie), str(submitted))


def same_secret(offered: str, expected: str) -> bool:
    """Equal, in time that does not depend on where they differ; any text may be offered
    (``hmac.compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(
        offered.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _bearer(value: str) -> str | None:
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None
