"""The SMTP sender: one message per connection, stdlib ``smtplib`` in a worker thread.

Rules (reliability.md rows A13-A16, E1):

- **TLS.** Port 465 means implicit TLS (``SMTP_SSL``); otherwise ``starttls=True`` makes
  STARTTLS mandatory: a server that does not offer it gets nothing, the send is refused.
  Certificates are always verified (``ssl.create_default_context()``, or a given context
  that verifies); a failed verification is refused with "certificate verification failed".
  There is no fallback to plain text. Refusals raised while sending are ``SmtpConfigError``:
  a ``DeliveryConfigError`` that is also a ``ChannelBrokenError``,
  so the outbox holds the channel's messages and health shows why. Settings unsafe on their
  face (a password in clear to a remote host) raise ``DeliveryConfigError`` when built.
- **Password.** Sent only inside TLS. The one exception is ``starttls=False`` towards a
  loopback host (a local relay: the password never leaves the machine); any other plain
  text login is refused when the sender is built. The password is in no exception, log line
  or ``repr``: error texts are scrubbed of it (as written, and base64-encoded as AUTH PLAIN and
  AUTH LOGIN send it, before a server's reply is cut to length) and raised without the smtplib
  exception.
- **Replies (RFC 5321).** Connection refused or timed out, 421, any 4xx on MAIL, RCPT or
  DATA: ``RetryableDeliveryError``. A 5xx on MAIL, at the greeting, or for every recipient:
  ``PermanentDeliveryError``. 535 on AUTH: ``ChannelBrokenError`` (wrong credentials hold
  every message). Some recipients refused: the others get the message and ``SendReport.refused``
  names the refused ones with their reply, for the caller to record (A14).
- **The ambiguous window.** If the connection drops or times out after the final "." and
  before the server's reply, the server may have queued the message: the error is
  retryable *and* ``ambiguous``. The caller retries with the same message, so the same
  Message-ID, which lets a reader's mail system (and people) spot the duplicate (A15).
- **Time.** ``timeout_s`` bounds each socket operation, ``deadline_s`` (4 times ``timeout_s``)
  the whole send from the call on, a wait for a free thread, connecting and QUIT included (a
  send that gets its thread with less than half the deadline left sends nothing and is
  retryable, not ambiguous): then the socket is shut down, ending any read a dripping server
  drags out, from the moment the TCP connection exists: the greeting and
  the TLS handshake included, on port 465 and after STARTTLS (a connection still being opened
  is shut as it opens).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from enum import StrEnum
from typing import Any, cast

from pydantic import SecretStr

from service.config import ENVELOPE_ADDRESS, Settings
from service.errors import (
    ChannelBrokenError,
    DeliveryConfigError,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    SmtpConfigError,
)
from service.logs import REDACTED, log_event
from service.sources.addresses import is_loopback_host

logger = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465
MAX_REPLY_CHARS = 300
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class TlsMode(StrEnum):
    IMPLICIT = "implicit"  # TLS from the first byte (port 465)
    STARTTLS = "starttls"  # plain connect, STARTTLS required before anything else
    NONE = "none"  # only when explicitly configured


@dataclass(frozen=True, slots=True)
class SendReport:
    """What the server accepted. ``refused`` maps an address to the server's (code, reply)."""

    message_id: str
    accepted: tuple[str, ...]
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def deferred(self) -> tuple[str, ...]:
        """Refused recipients whose reply was temporary (4xx): worth a later send to them alone."""
        return tuple(addr for addr, (code, _) in self.refused.items() if 400 <= code < 500)


class SmtpSender:
    """Sends one ``EmailMessage`` per call; safe to share, each send opens its own connection."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: SecretStr | None = None,
        tls: TlsMode = TlsMode.STARTTLS,
        timeout_s: float = 30.0,
        deadline_s: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.username, self.tls = host, port, username, tls
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s if deadline_s is not None else 4 * timeout_s
        self._password = password
        self._context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._check_config()

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        if not settings.smtp_host:
            raise DeliveryConfigError("RIVALWATCH_SMTP_HOST is not set: email cannot be sent")
        return cls(
            host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, timeout_s=settings.smtp_timeout_s,
            tls=tls_mode(settings.smtp_port, starttls=settings.smtp_starttls),
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"SmtpSender(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={'**********' if self._password else None}, tls={self.tls.value!r})"
        )

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> SendReport:
        """Deliver ``message`` to ``recipients`` (the envelope; headers are not read for it)."""
        started = time.monotonic()
        try:
            # The deadline runs from this call: a send waiting for a free thread (more email
            # channels at once than the pool has threads) spends its own time, not extra.
            report = await asyncio.to_thread(
                self._send_blocking, message, list(recipients), started + self.deadline_s
            )
        except DeliveryError as exc:
            self._log_failure(exc, message)
            raise
        log_event(
            logger, logging.INFO, "smtp_sent", host=self.host, port=self.port, message_id=report.message_id,
            accepted=len(report.accepted), refused=len(report.refused),
            duration_ms=round((time.monotonic() - started) * 1000),
        )  # fmt: skip
        if report.refused:
            refused = {a: f"{c} {t}" for a, (c, t) in report.refused.items()}
            log_event(logger, logging.WARNING, "smtp_recipients_refused", message_id=report.message_id,
                      refused=refused)  # fmt: skip
        return report

    def _check_config(self) -> None:
        if self.tls is TlsMode.NONE and self._password is not None and not is_loopback_host(self.host):
            raise DeliveryConfigError(
                f"SMTP {self.host}:{self.port}: refusing to send the password in clear to a host that is not "
                f"loopback; turn smtp_starttls on or use port {IMPLICIT_TLS_PORT}"
            )
        if self._password is not None and not self.username:
            raise DeliveryConfigError("SMTP password is set without a username")
        if self._context.verify_mode != ssl.CERT_REQUIRED or not self._context.check_hostname:
            raise DeliveryConfigError("SMTP TLS context must verify certificates and host names")

    def _send_blocking(self, message: EmailMessage, recipients: list[str], deadline_at: float) -> SendReport:
        sender = _envelope_sender(message)
        for address in recipients:
            _check_address(address)
        data = _wire_data(message)
        left_s = deadline_at - time.monotonic()
        if left_s < self.deadline_s / 2:
            # Nothing was sent: retrying cannot duplicate it. Begun with less time, a send could be
            # cut waiting for the reply to its final dot: ambiguous, and sent again on the retry.
            raise RetryableDeliveryError(
                f"{self._where()}: too little of the deadline left when a thread was free"
                f" ({max(0.0, left_s):.1f} s); not sent"
            )
        attempt = _Attempt()
        try:
            return self._exchange(
                attempt, sender, recipients, data, str(message.get("Message-ID", "")), left_s
            )
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            # ValueError: smtplib reading a malformed server line (a "334" challenge that is no
            # base64 raised binascii.Error, which left as an internal error failing the message)
            raise self._failure(attempt, exc) from None

    def _failure(self, attempt: _Attempt, exc: smtplib.SMTPException | OSError | ValueError) -> DeliveryError:
        """What a failed exchange means for the message. A reply is the server's word; past the
        deadline anything else broke because the deadline shut the socket (a TLS handshake cut
        short is no TLS problem)."""
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply_error(attempt.phase, exc.smtp_code, exc.smtp_error)
        if attempt.expired:
            return self._transport_error(attempt, exc)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._config_error(f"certificate verification failed ({exc.verify_message})")
        if isinstance(exc, ssl.SSLError):
            return self._config_error(f"TLS handshake failed ({exc.reason or exc})")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return self._config_error(f"{attempt.phase} not possible: {exc}")
        return self._transport_error(attempt, exc)

    def _exchange(
        self,
        attempt: _Attempt,
        sender: str,
        recipients: list[str],
        data: bytes,
        message_id: str,
        left_s: float,
    ) -> SendReport:
        # The deadline covers the connection (a slow greeting or TLS handshake counts) to after
        # QUIT, so one send never outlasts what the delivery lease allows for it.
        timer = threading.Timer(left_s, attempt.expire)
        timer.daemon = True
        timer.start()
        try:
            attempt.phase = "connect"
            client = self._connect(attempt)
            try:
                attempt.phase = "tls"
                self._secure(attempt, client)
                attempt.phase = "login"
                self._login(client)
                accepted, refused = self._envelope(attempt, client, sender, recipients)
                self._data(attempt, client, data)
                return SendReport(message_id, accepted, refused)
            finally:
                _close(client)
        finally:
            timer.cancel()

    def _connect(self, attempt: _Attempt) -> smtplib.SMTP:
        # smtplib connects, reads the greeting (and on port 465 does the TLS handshake) inside
        # the constructor: the clients hand their socket to the attempt as soon as it exists, so
        # the deadline can end those too.
        client: smtplib.SMTP
        if self.tls is TlsMode.IMPLICIT:
            client = _ImplicitTlsClient(
                attempt, self.host, self.port, timeout=self.timeout_s, context=self._context
            )
        else:
            client = _Client(attempt, self.host, self.port, timeout=self.timeout_s)
        attempt.hold(client)
        return client

    def _secure(self, attempt: _Attempt, client: smtplib.SMTP) -> None:
        client.ehlo_or_helo_if_needed()
        if self.tls is not TlsMode.STARTTLS:
            return
        if not client.has_extn("starttls"):
            raise self._config_error("STARTTLS is required but the server does not offer STARTTLS")
        # smtplib's STARTTLS hands the socket to the context's wrap_socket, whose handshake then
        # runs on a socket the attempt does not know: the stand-in lets the deadline cut it.
        client.starttls(context=cast(ssl.SSLContext, _HandshakeUnderDeadline(self._context, attempt)))
        client.ehlo()

    def _login(self, client: smtplib.SMTP) -> None:
        if self._password is None or not self.username:
            return
        if not client.has_extn("auth"):
            raise self._config_error("a username is configured but the server does not offer AUTH")
        client.login(self.username, self._password.get_secret_value())

    def _envelope(
        self, attempt: _Attempt, client: smtplib.SMTP, sender: str, recipients: list[str]
    ) -> tuple[tuple[str, ...], dict[str, tuple[int, str]]]:
        attempt.phase = "MAIL FROM"
        code, reply = client.mail(sender)
        if code != 250:
            raise self._reply_error(attempt.phase, code, reply)
        attempt.phase = "RCPT TO"
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for address in recipients:
            code, reply = client.rcpt(address)
            if code == 421:
                raise self._reply_error(attempt.phase, code, reply)
            if code in (250, 251):
                accepted.append(address)
            else:
                refused[address] = (code, self._reply_text(reply))
        if not accepted:
            temporary = any(400 <= c < 500 for c, _ in refused.values())
            detail = "; ".join(f"{a}: {c} {t}" for a, (c, t) in refused.items())
            text = self._scrub(f"{self._where()}: every recipient refused ({detail})")
            raise RetryableDeliveryError(text) if temporary else PermanentDeliveryError(text)
        return tuple(accepted), refused

    def _data(self, attempt: _Attempt, client: smtplib.SMTP, data: bytes) -> None:
        attempt.phase = "DATA"
        code, reply = client.docmd("DATA")
        if code != 354:
            raise self._reply_error(attempt.phase, code, reply)
        attempt.phase = "message body"
        client.send(data)
        attempt.phase = "reply to the final dot"
        attempt.dot_sent = True
        code, reply = client.getreply()
        if code != 250:
            raise self._reply_error(attempt.phase, code, reply)

    def _reply_error(self, phase: str, code: int, reply: bytes | str) -> DeliveryError:
        text = self._scrub(f"{self._where()}: {phase} answered {code} {self._reply_text(reply)}")
        if 400 <= code < 500:
            return RetryableDeliveryError(text)
        if phase == "login" and code == 535:
            return ChannelBrokenError(text)
        return PermanentDeliveryError(text)

    def _transport_error(self, attempt: _Attempt, exc: BaseException) -> RetryableDeliveryError:
        cause = "total deadline passed" if attempt.expired else f"{type(exc).__name__}: {exc}"
        text = f"{self._where()}: connection failed during {attempt.phase} ({cause})"
        if attempt.dot_sent:
            text += "; the server may have accepted the message (ambiguous, possible duplicate on retry)"
        return RetryableDeliveryError(self._scrub(text), ambiguous=attempt.dot_sent)

    def _config_error(self, reason: str) -> SmtpConfigError:
        return SmtpConfigError(self._scrub(f"{self._where()}: refusing to send: {reason}"))

    def _reply_text(self, reply: bytes | str) -> str:
        # scrubbed before it is cut: cut first, a password echoed across the cut escaped whole
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        return " ".join(self._scrub(text).split())[:MAX_REPLY_CHARS]

    def _scrub(self, text: str) -> str:
        echoes = _echoes_of(self.username, self._password.get_secret_value() if self._password else "")
        return echoes.sub(REDACTED, text) if echoes else text

    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def _log_failure(self, exc: DeliveryError, message: EmailMessage) -> None:
        # The outbox logs the outcome once; this adds the SMTP detail for debugging.
        log_event(
            logger, logging.DEBUG, "smtp_send_failed", host=self.host, port=self.port,
            message_id=str(message.get("Message-ID", "")), reason=str(exc), outcome=type(exc).__name__,
            ambiguous=exc.ambiguous,
        )  # fmt: skip


def _echoes_of(username: str | None, password: str) -> re.Pattern[str] | None:
    """Every form of the password a server may echo, in any case (a reply may be upper-cased):
    as written and as ``login`` sent it (AUTH LOGIN sends it in base64, AUTH PLAIN the base64 of
    the username and password together), padded or not, with any white space between its
    characters: a reply's is squeezed, and a multi-line reply (which smtplib joins with line
    breaks) or a server wrapping base64 may split an echo anywhere. Longest first, so that a
    form holding another is redacted whole. Built for each scrub: microseconds, on error paths
    only."""
    if not password:
        return None
    plain = f"\0{username or ''}\0{password}"
    encoded = [base64.b64encode(form.encode()).decode("ascii") for form in (plain, password)]
    unpadded = [form.rstrip("=") for form in encoded]  # an echo may drop the padding
    bare = {"".join(form.split()) for form in (*encoded, *unpadded, password)} - {""}
    if not bare:  # a password of white space alone: nothing an echo could be told by
        return None
    forms = sorted(bare, key=len, reverse=True)
    return re.compile("|".join(r"\s*".join(map(re.escape, form)) for form in forms), re.IGNORECASE)


@dataclass
class _Attempt:
    """Where one exchange got to, so a failure can be classified (and the deadline's effect)."""

    phase: str = "start"
    dot_sent: bool = False
    expired: bool = False
    client: smtplib.SMTP | None = None
    opened: socket.socket | None = None

    def hold(self, client: smtplib.SMTP) -> None:
        """The connected client: from now on the deadline shuts its socket (TLS or not)."""
        self.client = client

    def open(self, sock: socket.socket) -> None:
        """The TCP connection exists (no greeting read, no TLS yet): shut it if the deadline has
        passed, else from now on the deadline can shut it."""
        self.opened = sock
        if self.expired:
            _shut(sock)

    def expire(self) -> None:
        # Runs on the timer thread: shutting the socket down wakes the blocked read or handshake.
        # ``expired`` is set before the socket is looked at and ``open`` does the reverse, so
        # whichever runs second shuts it. Both the client's socket and the last one opened: during
        # a STARTTLS handshake the client still holds the plain socket the TLS one took over.
        self.expired = True
        held = self.client.sock if self.client is not None else None
        for sock in {id(s): s for s in (held, self.opened) if s is not None}.values():
            _shut(sock)


class _Client(smtplib.SMTP):
    """smtplib's client, handing its TCP connection to the attempt as soon as it exists (before
    the greeting is read)."""

    def __init__(self, attempt: _Attempt, host: str, port: int, **kwargs: Any) -> None:
        self._attempt = attempt  # before connecting: _get_socket needs it
        super().__init__(host, port, **kwargs)

    # smtplib's hook for making the socket (SMTP_SSL overrides it the same way)
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, self.source_address)
        self._attempt.open(sock)
        return sock


class _ImplicitTlsClient(smtplib.SMTP_SSL):
    """Port 465: the TLS socket is handed to the attempt before its handshake, so the deadline
    can cut a handshake a server drags out (SMTP_SSL would hand it over only after)."""

    def __init__(self, attempt: _Attempt, host: str, port: int, **kwargs: Any) -> None:
        self._attempt = attempt  # before connecting: _get_socket needs it
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((host, port), timeout, self.source_address)
        return _handshake(self._attempt, self.context, raw, host)


@dataclass(frozen=True, slots=True)
class _HandshakeUnderDeadline:
    """What smtplib's ``starttls`` takes as its TLS context: it calls ``wrap_socket`` alone, and
    the handshake then runs under the attempt's deadline."""

    context: ssl.SSLContext
    attempt: _Attempt

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> ssl.SSLSocket:
        return _handshake(self.attempt, self.context, sock, server_hostname)


def _handshake(
    attempt: _Attempt, context: ssl.SSLContext, raw: socket.socket, host: str | None
) -> ssl.SSLSocket:
    """``raw`` wrapped in TLS, handed to the attempt before the handshake so that the deadline can
    cut a handshake a server drags out."""
    tls = context.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
    try:
        attempt.open(tls)
        tls.do_handshake()
    except BaseException:
        tls.close()  # as wrap_socket does when its own handshake fails
        raise
    return tls


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for a TLS socket: SSLSocket.shutdown would drop its TLS
    # state first, and a handshake not yet begun would then fail with AttributeError, not OSError.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def tls_mode(port: int, *, starttls: bool) -> TlsMode:
    if port == IMPLICIT_TLS_PORT:
        return TlsMode.IMPLICIT
    return TlsMode.STARTTLS if starttls else TlsMode.NONE


def _check_address(address: str) -> None:
    if not ENVELOPE_ADDRESS.fullmatch(address):
        raise SmtpConfigError(f"not a usable envelope address: {address!r}")


def _envelope_sender(message: EmailMessage) -> str:
    addresses = [addr for _, addr in getaddresses([str(message.get("From", ""))]) if addr]
    if len(addresses) != 1:
        raise SmtpConfigError("the message needs exactly one From address")
    _check_address(addresses[0])
    return addresses[0]


def _wire_data(message: EmailMessage) -> bytes:
    """The message as DATA bytes: CRLF line ends, leading dots doubled, ending in CRLF.CRLF."""
    body = _LINE_END.sub(b"\r\n", message.as_bytes(policy=policy.SMTP))
    body = _LEADING_DOT.sub(b"..", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
