"""Post one JSON payload to a webhook (Slack's incoming webhooks, a generic JSON receiver) and
say what happened.

Rules:

- :meth:`WebhookClient.send` returns when the receiver accepted the message and otherwise
  raises a :class:`DeliveryError` subclass, chosen by
  :func:`~service.notify.classify.classify_answer` for HTTP answers and by the rules below for
  network failures. Retrying, and pausing a throttled channel, are the outbox's job.
- The webhook URL is a secret. It is used for the request only: errors and log lines name the
  destination ``key`` (the channel name the outbox passes separately) and a short reason,
  never the URL nor an httpx message (those can quote it), and errors are raised ``from None``.
  httpx's ``AsyncClient`` logs every request URL at INFO ("HTTP Request: POST <url>"), so the
  client drives httpx's public transport API directly: same pool, TLS and timeouts, no such
  log line, and no proxy taken from the environment (a proxy would see the URL).
- Only http and https URLs (Slack: https://hooks.slack.com/...). Redirects are never
  followed; a 3xx is classified as a broken channel.
- Limits: connect 5 s; read/write/pool 10 s each; one wall-clock deadline over the whole
  exchange (httpx has none of its own): 15 s, or half the delivery lease when that is shorter
  (:func:`deadline_within`); at most 4 KiB of the answer is read.
- "Sent or not": httpcore reports, through the request's ``trace`` extension, when the
  request body has been fully written (``http11.send_request_body.complete``). A failure
  before that point (connect refused, DNS, connect timeout, pool timeout, a write error) is
  retryable and *not* ambiguous: the receiver cannot have acted on half a request. A failure
  after it (connection reset, ``RemoteProtocolError`` "disconnected without a response", read
  timeout, the deadline) is retryable and ``ambiguous``: it may have been posted, so a retry
  may duplicate. The exception classes agree (ConnectError/ConnectTimeout come before
  sending, ReadError/ReadTimeout/RemoteProtocolError after), but the trace is what decides.
- A client with a :class:`~service.notify.pacing.Pacer` waits for its key's slot before each
  send (Slack's one message a second); one without sends at once.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, unquote_plus, urlsplit

import httpx

from service import __version__
from service.errors import ChannelBrokenError, DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from service.logs import REDACTED, log_event
from service.notify.classify import classify_answer
from service.notify.pacing import Pacer

logger = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 4096
USER_AGENT = f"rivalwatch/{__version__} (alert notifier)"
_BODY_SENT_EVENT = "http11.send_request_body.complete"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Progress:
    """What httpcore has done with one request so far, from its trace events."""

    body_sent: bool = False

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event == _BODY_SENT_EVENT:
            self.body_sent = True


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: str
    headers: Mapping[str, str]


DEADLINE_S = 15.0


def deadline_within(lease_s: float) -> float:
    """The deadline of one post sent under a delivery lease of ``lease_s`` seconds: ``DEADLINE_S``,
    or half the lease when that is shorter. The worker sends each message under a fresh lease; a
    post still running when its lease ran out could be claimed and posted again by another
    worker (the SMTP sender's deadline is kept inside the lease by the settings' check instead).
    The pacer's wait before a post (a second with Slack's default spacing) comes on top."""
    return min(DEADLINE_S, lease_s / 2)


class WebhookClient:
    """Sends JSON payloads to webhooks of one kind of receiver; one instance serves every channel.

    ``receiver`` names the kind in errors ("slack"); ``expected_body`` is the answer a healthy
    receiver gives (Slack: ``ok``), anything else in a 2xx is delivered but logged.
    """

    def __init__(
        self,
        *,
        receiver: str,
        pacer: Pacer | None = None,
        expected_body: str | None = None,
        connect_timeout_s: float = 5.0,
        timeout_s: float = 10.0,
        deadline_s: float = DEADLINE_S,
        now: Callable[[], datetime] = _utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.receiver = receiver
        self.pacer = pacer
        self._expected_body = expected_body
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._deadline_s = deadline_s
        self._now = now
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport(trust_env=False)

    def __repr__(self) -> str:
        return f"WebhookClient(receiver={self.receiver!r}, deadline_s={self._deadline_s:g})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def send(
        self, url: str, payload: Mapping[str, Any], *, key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Deliver ``payload`` to the webhook ``url`` of channel ``key``, or raise DeliveryError.

        ``headers`` are added to the request (a generic receiver's ``Idempotency-Key``)."""
        request = _build_request(url, payload, key=key, headers=headers or {})
        if self.pacer is not None:
            await self.pacer.wait(key)
        started = time.perf_counter()
        answer = await self._exchange(request, key=key)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        # scrubbed before the reason is cut short: a receiver (a proxy's error page) may echo the
        # URL, and a cut-off secret escapes the redaction of whole ones
        body = _without_secrets(answer.body, url)
        error = classify_answer(answer.status, body, answer.headers, receiver=self.receiver, now=self._now())
        if error is None:
            self._log_success(key, answer, duration_ms)
            return
        error = _named(error, key, url)
        log_event(
            logger, logging.DEBUG, "webhook_refused", channel=key, status=answer.status, error=str(error)
        )
        raise error

    async def _exchange(self, request: httpx.Request, *, key: str) -> _Answer:
        progress = _Progress()
        request.extensions = {"timeout": self._timeout.as_dict(), "trace": progress.trace}
        deadline = asyncio.timeout(self._deadline_s)
        try:
            async with deadline:
                return await self._post(request)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise _network_error(key, f"no answer within {self._deadline_s:g} s", progress) from None
        except httpx.UnsupportedProtocol:
            raise _config_error(key, "the webhook URL is not a usable http(s) URL") from None
        except httpx.TransportError as exc:
            raise _network_error(key, _describe(exc), progress) from None

    async def _post(self, request: httpx.Request) -> _Answer:
        response = await self._transport.handle_async_request(request)
        try:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk[: ANSWER_MAX_BYTES - len(body)]
                if len(body) >= ANSWER_MAX_BYTES:
                    break
        finally:
            await response.aclose()
        headers = {name.lower(): value for name, value in response.headers.items()}
        return _Answer(response.status_code, body.decode("utf-8", "replace"), headers)

    def _log_success(self, key: str, answer: _Answer, duration_ms: float) -> None:
        if self._expected_body is not None and answer.body.strip() != self._expected_body:
            log_event(logger, logging.WARNING, "webhook_unexpected_answer", channel=key, status=answer.status)
        log_event(
            logger, logging.DEBUG, "webhook_sent", channel=key, status=answer.status, duration_ms=duration_ms
        )


def _build_request(
    url: str, payload: Mapping[str, Any], *, key: str, headers: Mapping[str, str]
) -> httpx.Request:
    try:
        parts = urlsplit(url)
        # .port raises for a port out of range (99999), which reached the socket as an
        # OverflowError inside an exception group and failed the message as an internal error
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        usable = False
    if not usable:
        raise _config_error(key, "the webhook URL is not an http(s) URL with a host and a port of 1-65535")
    try:
        content = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        raise PermanentDeliveryError(f"channel {key!r}: the payload is not valid JSON") from None
    fixed = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    credentials = _basic_credentials(parts.username, parts.password)
    if credentials is not None:  # a bare Request, unlike httpx.Client, would drop the user-info
        fixed["Authorization"] = f"Basic {credentials}"
    try:
        return httpx.Request("POST", url, content=content, headers={**headers, **fixed})
    except (httpx.InvalidURL, ValueError):  # ValueError: a host IDNA refuses ("xn--a.com")
        raise _config_error(key, "the webhook URL is malformed") from None


def _basic_credentials(username: str | None, password: str | None) -> str | None:
    """The Basic credentials of a URL's user-info (``https://user:password@host/...``), as curl
    and browsers send them; None without user-info."""
    if username is None:
        return None
    pair = f"{unquote(username)}:{unquote(password or '')}"
    return base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _describe(exc: httpx.TransportError) -> str:
    """A short reason from the exception's class only: httpx messages may quote the URL."""
    return {
        httpx.ConnectError: "could not connect",
        httpx.ConnectTimeout: "connect timed out",
        httpx.PoolTimeout: "no free connection",
        httpx.WriteError: "connection failed while sending",
        httpx.WriteTimeout: "sending timed out",
        httpx.ReadError: "connection failed while waiting for the answer",
        httpx.ReadTimeout: "the answer timed out",
        httpx.RemoteProtocolError: "the connection closed without a valid answer",
    }.get(type(exc), f"network error ({type(exc).__name__})")


def _network_error(key: str, reason: str, progress: _Progress) -> RetryableDeliveryError:
    if progress.body_sent:
        reason += " after the message was sent: ambiguous, possible duplicate on retry"
    return RetryableDeliveryError(f"channel {key!r}: {reason}", ambiguous=progress.body_sent)


def _config_error(key: str, reason: str) -> ChannelBrokenError:
    return ChannelBrokenError(f"channel {key!r}: {reason}")


def _named(error: DeliveryError, key: str, url: str) -> DeliveryError:
    """The same verdict naming the channel; a receiver echoing its own URL is scrubbed too."""
    return error.with_message(_without_secrets(f"channel {key!r}: {error}", url))


def _without_secrets(text: str, url: str) -> str:
    """``text`` with the webhook URL, its path and its query redacted, and each of their parts
    that may be a token (``_may_be_a_token``: a path segment or query value), as written and
    percent-decoded, each however an echo spells it (``_echo_pattern``): escaped for JSON or HTML,
    percent-encoded in either case of hex, or decoded, so that no echo gives a token away."""
    lowered = text.lower()
    for secret, anchor in _secrets_of(url):
        if anchor in lowered:
            text = _echo_pattern(secret).sub(REDACTED, text)
            lowered = text.lower()
    return text


@functools.lru_cache(maxsize=64)
def _secrets_of(url: str) -> tuple[tuple[str, str], ...]:
    """Every secret of ``url``, longest first, with its anchor (``_anchor``): worked out once per
    URL, since every answer is scrubbed."""
    parts = urlsplit(url)
    # a short path or query ("/a", "a") holds no secret, and redacted it would mangle the message
    pieces = {url} | {piece for piece in (parts.path, parts.query) if len(piece) >= _TOKEN_MIN_CHARS}
    values = [
        value if equals else name
        for name, equals, value in (p.partition("=") for p in parts.query.split("&"))
    ]
    candidates = [*parts.path.split("/"), *values]
    for candidate in candidates:
        pieces.update(
            form for form in (candidate, unquote(candidate), unquote_plus(candidate)) if _may_be_a_token(form)
        )
    # the user-info, sent as Basic credentials: a password is a secret whatever it looks like
    # (long enough not to be a word of every message), a user name when it looks like a token
    # (an API key as the user name), and so are the credentials as sent
    if parts.password and len(unquote(parts.password)) >= _PASSWORD_MIN_CHARS:
        pieces.update({parts.password, unquote(parts.password)})
    if parts.username:
        pieces.update(form for form in (parts.username, unquote(parts.username)) if _may_be_a_token(form))
    credentials = _basic_credentials(parts.username, parts.password)
    if credentials is not None and (parts.password or _may_be_a_token(unquote(parts.username or ""))):
        pieces.update({credentials, credentials.rstrip("=")})
    return tuple((piece, _anchor(piece)) for piece in sorted(pieces - {""}, key=len, reverse=True))


def _anchor(secret: str) -> str:
    """The longest run of ASCII letters and digits of ``secret``, lower-cased. Every spelling
    ``_echo_pattern`` matches writes those characters as they are (escapes spell punctuation and
    other characters), so a text without the anchor holds no spelling of the secret and is not
    searched for one: compiling the patterns of a 1 500-character URL with 68 token-like values
    took ~50 ms, and every answer would pay it after a restart."""
    runs = re.findall(r"[A-Za-z0-9]+", secret)
    return max(runs, key=len).lower() if runs else ""


@functools.lru_cache(maxsize=256)
def _echo_pattern(secret: str) -> re.Pattern[str]:
    """``secret`` as an echo may spell it: a letter or digit as written (in either case), any
    other character also percent-encoded (a raw ``+`` in a query echoed as ``%2B`` or ``%2b``), as
    an HTML character reference (``&#43;``, ``&#x2F;``) or a JSON escape (``\\/``, ``\\u00f6``),
    and a space also as ``+``."""
    spelled = []
    for char in secret:
        if char.isascii() and char.isalnum():
            spelled.append(re.escape(char))
            continue
        code = ord(char)
        options = [
            re.escape(char),
            "".join(f"%{byte:02x}" for byte in char.encode("utf-8", "surrogatepass")),
            f"&#0*{code};",
            f"&#x0*{code:x};",
        ]
        if code < 0x10000:
            options.append(f"\\\\u{code:04x}")
        if char == "/":
            options.append("\\\\/")
        if char == " ":
            options.append("\\+")
        spelled.append(f"(?:{'|'.join(options)})")
    return re.compile("".join(spelled), re.IGNORECASE)


_TOKEN_MIN_CHARS = 8
_PASSWORD_MIN_CHARS = 4


def _may_be_a_token(piece: str) -> bool:
    """At least ``_TOKEN_MIN_CHARS`` long with a digit or two capitals after the first letter
    ("T0123ABCD", "aBcDeFgHiJ..."), not a word ("services", "Incoming", "RivalWatch")."""
    capitals = sum(c.isupper() for c in piece[1:])
    return len(piece) >= _TOKEN_MIN_CHARS and (capitals >= 2 or any(c.isdigit() for c in piece))
