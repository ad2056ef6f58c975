"""A scripted SMTP server on 127.0.0.1 (aiosmtpd in its own thread) for delivery tests.

Usage::

    script = SmtpScript(rcpt={"c@example.com": "550 5.1.1 no such user"}, data=["451 4.3.0 later"])
    with scripted_smtp(script) as server:
        ...  # SmtpSender(host="127.0.0.1", port=server.port, tls=TlsMode.NONE)
        assert server.received[0].message["Message-ID"] == ...

What the script controls:

- ``rcpt``: the reply to RCPT TO per address (any address not listed gets ``250 OK``).
- ``data``: one step per DATA transaction, consumed in order; when the list is empty every
  further transaction gets ``250 OK``. A step is a reply line (``"451 4.3.0 try later"``),
  a ``Stall`` (sleep after the final dot, at most ``MAX_STALL_S``, then reply) or a
  ``Drop`` (the server keeps the message and closes the connection without replying: the
  worst case of the ambiguous window).
- ``tls_context``: offer STARTTLS with this certificate (default: no STARTTLS at all);
  ``implicit_tls=True`` wraps the whole connection instead (the port-465 style).
- ``credentials``: offer AUTH (also without TLS, for loopback tests) and accept only this
  ``(user, password)``.

``received`` lists every message the server accepted with a 2xx (or kept before a
``Drop``): envelope sender, accepted envelope recipients, the parsed message and raw bytes.
``self_signed_certificate`` makes a certificate for 127.0.0.1 with the ``openssl`` tool.
"""

from __future__ import annotations

import asyncio
import email
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.processes import free_port

HOST = "127.0.0.1"
MAX_STALL_S = 10.0


@dataclass(frozen=True)
class Stall:
    """Wait ``seconds`` after the final dot (capped at ``MAX_STALL_S``), then send ``reply``."""

    seconds: float
    reply: str = "250 2.0.0 queued after a stall"


@dataclass(frozen=True)
class Drop:
    """Keep the message, then close the connection without a reply to the final dot."""


DataStep = str | Stall | Drop


@dataclass
class SmtpScript:
    rcpt: dict[str, str] = field(default_factory=dict)
    data: list[DataStep] = field(default_factory=list)
    tls_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    credentials: tuple[str, str] | None = None


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


class ScriptedHandler:
    """aiosmtpd handler that answers as the script says and records what it accepted."""

    def __init__(self, script: SmtpScript) -> None:
        self.script = script
        self.received: list[Received] = []
        self.data_transactions = 0
        self.auth_attempts = 0
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.script.rcpt.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.data_transactions += 1
            step = self.script.data.pop(0) if self.script.data else "250 OK"
        if isinstance(step, Drop):
            self._record(envelope)
            server.transport.close()
            return "250 OK"  # written to a closed transport: the client never sees it
        if isinstance(step, Stall):
            await asyncio.sleep(min(step.seconds, MAX_STALL_S))
            step = step.reply
        if step.startswith("2"):
            self._record(envelope)
        return step

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        with self._lock:
            self.auth_attempts += 1
        expected = self.script.credentials
        ok = (
            isinstance(data, LoginPassword)
            and expected is not None
            and (data.login.decode(), data.password.decode()) == expected
        )
        return AuthResult(success=ok, handled=False)

    def _record(self, envelope: Any) -> None:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message, raw))


class ScriptedSmtpServer:
    def __init__(self, controller: Controller, handler: ScriptedHandler, port: int) -> None:
        self._controller = controller
        self.handler = handler
        self.host = HOST
        self.port = port

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)


@contextmanager
def scripted_smtp(script: SmtpScript | None = None) -> Iterator[ScriptedSmtpServer]:
    script = script if script is not None else SmtpScript()
    handler = ScriptedHandler(script)
    port = free_port()
    options: dict[str, Any] = {"server_hostname": "smtp.test.localhost", "ready_timeout": 10.0}
    if script.implicit_tls:
        options["ssl_context"] = script.tls_context
    elif script.tls_context is not None:
        options["tls_context"] = script.tls_context
    if script.credentials is not None:
        options.update(authenticator=handler.authenticate, auth_require_tls=False)
    controller = Controller(handler, hostname=HOST, port=port, **options)
    controller.start()
    try:
        yield ScriptedSmtpServer(controller, handler, port)
    finally:
        controller.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """(cert, key) for IP 127.0.0.1, or None when the ``openssl`` tool is missing."""
    tool = shutil.which("openssl")
    if tool is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            tool,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
