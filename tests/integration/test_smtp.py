"""The SMTP sender against a real, scripted SMTP server on 127.0.0.1 (reliability A13-A16, E1)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from service.errors import ChannelBrokenError, DeliveryConfigError, DeliveryError, RetryableDeliveryError
from service.notify.render_email import message_text, story_message
from service.notify.smtp import MAX_REPLY_CHARS, SmtpSender, TlsMode
from service.notify.story import RuleHit, StoryView
from tests.conftest import skip_or_fail
from tests.support.processes import free_port
from tests.support.smtp import (
    Drop,
    SmtpScript,
    Stall,
    scripted_smtp,
    self_signed_certificate,
    server_tls_context,
)

pytestmark = pytest.mark.timeout(30)

PASSWORD = "hunter2-SECRET"
TO = ["a@example.com", "b@example.com", "c@example.com"]


def _message(key: str = "alert:42:email") -> EmailMessage:
    story = StoryView(
        alert_ids=(42,),
        title="BYD raises overseas target",
        url="https://cnevpost.com/byd",
        feed="CnEVPost",
        created_at=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
        rules=(RuleHit("byd", "BYD news", "high", ("BYD",)),),
        snippet=".BYD expects to sell 800,000 cars abroad.",
        highlights=((1, 4),),
        novelty=0.9,
    )
    return story_message(story, sender="rivalwatch@example.com", recipients=TO, key=key)


def _sender(port: int, **options: object) -> SmtpSender:
    settings: dict[str, object] = {"host": "127.0.0.1", "port": port, "tls": TlsMode.NONE, "timeout_s": 5.0}
    settings.update(options)
    return SmtpSender(**settings)  # type: ignore[arg-type]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    made = self_signed_certificate(tmp_path)
    if made is None:
        skip_or_fail("openssl not installed: TLS tests skipped")
        raise AssertionError("unreachable")
    return made


async def test_delivers_the_message_with_its_message_id() -> None:
    message = _message()
    with scripted_smtp() as server:
        report = await _sender(server.port).send(message, TO)
    assert report.accepted == tuple(TO) and not report.refused
    [got] = server.received
    assert got.message["Message-ID"] == message["Message-ID"]
    assert got.rcpt_tos == tuple(TO)
    sent_text, got_text = message_text(message), message_text(got.message)
    assert "\n.*BYD* expects" in sent_text  # a line starting with a dot survives dot-stuffing
    assert got_text.replace("\r\n", "\n") == sent_text.replace("\r\n", "\n")


async def test_a_send_waiting_past_its_deadline_for_a_thread_sends_nothing() -> None:
    # More email channels at once than the pool has threads: a send that got its thread late ran
    # a whole deadline from then on, past the delivery lease, and another replica sent it too.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    busy = threading.Event()
    hold = loop.run_in_executor(None, lambda: (busy.set(), time.sleep(1.0)))
    assert busy.wait(5)
    with scripted_smtp() as server:
        with pytest.raises(DeliveryError) as caught:
            await _sender(server.port, deadline_s=0.3).send(_message(), TO)
        await hold
    assert isinstance(caught.value, RetryableDeliveryError) and not caught.value.ambiguous
    assert "too little of the deadline left" in str(caught.value)
    assert server.received == []


@pytest.mark.parametrize("first", ["451 4.3.0 try again later", "421 4.3.2 shutting down"])
async def test_temporary_data_reply_is_retryable_and_the_retry_delivers_once(first: str) -> None:
    message = _message()
    with scripted_smtp(SmtpScript(data=[first])) as server:
        sender = _sender(server.port)
        with pytest.raises(DeliveryError) as caught:
            await sender.send(message, TO)
        assert isinstance(caught.value, RetryableDeliveryError) and not caught.value.ambiguous
        assert first.split()[0] in str(caught.value)
        await sender.send(message, TO)
    assert [r.message["Message-ID"] for r in server.received] == [message["Message-ID"]]


@pytest.mark.parametrize(
    ("script", "retryable"),
    [
        (SmtpScript(data=["554 5.7.1 message rejected"]), False),
        (SmtpScript(rcpt={a: "450 4.2.0 greylisted" for a in TO}), True),
        (SmtpScript(rcpt={a: "550 5.1.1 no such user" for a in TO}), False),
        (SmtpScript(rcpt={TO[0]: "421 4.3.2 closing"}), True),
    ],
    ids=["554-data", "450-every-rcpt", "550-every-rcpt", "421-rcpt"],
)
async def test_reply_classification(script: SmtpScript, retryable: bool) -> None:
    with scripted_smtp(script) as server, pytest.raises(DeliveryError) as caught:
        await _sender(server.port).send(_message(), TO)
    assert isinstance(caught.value, RetryableDeliveryError) is retryable
    assert not server.received


async def test_one_refused_recipient_the_others_get_it() -> None:
    script = SmtpScript(rcpt={"c@example.com": "550 5.1.1 no such user"})
    with scripted_smtp(script) as server:
        report = await _sender(server.port).send(_message(), TO)
    assert report.accepted == ("a@example.com", "b@example.com")
    assert report.refused == {"c@example.com": (550, "5.1.1 no such user")}
    assert report.deferred == ()
    [got] = server.received
    assert got.rcpt_tos == ("a@example.com", "b@example.com")


async def test_stall_after_data_times_out_retryable_and_the_retry_reuses_the_message_id() -> None:
    message = _message()
    with scripted_smtp(SmtpScript(data=[Stall(4.0)])) as server:
        sender = _sender(server.port, timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await sender.send(message, TO)
        assert time.monotonic() - started < 3.0
        assert isinstance(caught.value, RetryableDeliveryError) and caught.value.ambiguous
        await sender.send(message, TO)
    assert server.received  # the stalled copy may land too: that is the ambiguous window
    assert {r.message["Message-ID"] for r in server.received} == {message["Message-ID"]}


async def test_connection_dropped_after_the_final_dot_is_retryable_and_ambiguous() -> None:
    with scripted_smtp(SmtpScript(data=[Drop()])) as server, pytest.raises(DeliveryError) as caught:
        await _sender(server.port).send(_message(), TO)
    assert isinstance(caught.value, RetryableDeliveryError) and caught.value.ambiguous
    assert "possible duplicate" in str(caught.value)


async def test_total_deadline_ends_a_slow_exchange() -> None:
    with scripted_smtp(SmtpScript(data=[Stall(5.0)])) as server:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await _sender(server.port, timeout_s=4.0, deadline_s=1.0).send(_message(), TO)
    assert time.monotonic() - started < 3.0
    assert "total deadline passed" in str(caught.value)


async def test_total_deadline_counts_a_slow_greeting() -> None:
    """The deadline runs from before the connection: a server that greets late and then says
    nothing more is given up on at the deadline, not a socket timeout after the greeting."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def greet_late() -> None:
            conn, _ = listener.accept()
            with conn:
                time.sleep(2.0)  # within the socket timeout, past the deadline
                conn.sendall(b"220 slow.example ESMTP\r\n")
                while conn.recv(1024):  # EHLO, never answered: until the client gives up
                    pass

        server = threading.Thread(target=greet_late, daemon=True)
        server.start()
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await _sender(port, timeout_s=3.0, deadline_s=1.0).send(_message(), TO)
        elapsed = time.monotonic() - started
        server.join(timeout=5)
    assert "total deadline passed" in str(caught.value)
    assert elapsed < 2.6  # the greeting's 2 s, then at once (counted from the greeting: 3 s)


def _drip_server(
    listener: socket.socket, first: bytes, replies: Sequence[bytes] = (), *, handshake: bool = False
) -> threading.Thread:
    """Accepts one connection, sends ``first``, answers each line the client sends with the next
    of ``replies``; with ``handshake``, then waits for the client's TLS hello and answers with a
    handshake record's header announcing 64 bytes (sent apart, so that no buffered read of the
    last reply takes it). Then one byte every 0.2 s: never a whole line, never a whole TLS record.
    Bounded: it stops after 8 s or when the client hangs up."""

    def drip() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError), conn.makefile("rb") as lines:
            conn.sendall(first)
            for reply in replies:
                lines.readline()
                conn.sendall(reply)
            if handshake:
                conn.recv(4096)
                conn.sendall(_HANDSHAKE_RECORD)
            for _ in range(40):
                time.sleep(0.2)
                conn.sendall(b"x")

    server = threading.Thread(target=drip, daemon=True)
    server.start()
    return server


_HANDSHAKE_RECORD = b"\x16\x03\x01\x00\x40"


@pytest.mark.parametrize(
    ("tls", "first", "replies"),
    [
        (TlsMode.NONE, b"220-slow.example", []),
        (TlsMode.IMPLICIT, b"", []),
        (
            TlsMode.STARTTLS,
            b"220 slow.example ESMTP\r\n",
            [b"250-slow.example\r\n250 STARTTLS\r\n", b"220 go\r\n"],
        ),
    ],
    ids=["greeting", "implicit-tls-handshake", "starttls-handshake"],
)
async def test_total_deadline_ends_a_greeting_or_handshake_dripped_a_byte_at_a_time(
    tls: TlsMode, first: bytes, replies: list[bytes]
) -> None:
    """Each byte comes within the socket timeout, so only the deadline can end it (a TLS
    handshake as a whole is bounded by the socket timeout too: 3 s here); smtplib reads the
    greeting (and does the port-465 handshake) while connecting, and the STARTTLS handshake on
    a socket that takes over the plain one: the deadline cuts all of them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = _drip_server(listener, first, replies, handshake=tls is not TlsMode.NONE)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await _sender(listener.getsockname()[1], tls=tls, timeout_s=3.0, deadline_s=1.0).send(
                _message(), TO
            )
        elapsed = time.monotonic() - started
        server.join(timeout=10)
    assert isinstance(caught.value, RetryableDeliveryError)
    assert "total deadline passed" in str(caught.value)
    assert elapsed < 2.5  # the deadline's 1 s, not the server's 8 s nor the handshake's 3 s


@pytest.mark.parametrize("tls", [TlsMode.NONE, TlsMode.IMPLICIT, TlsMode.STARTTLS])
async def test_a_deadline_passed_while_connecting_is_retryable(
    tls: TlsMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connecting outlasts the deadline (a slow DNS answer, SYN retries): the connection is shut
    as it opens, before any greeting or handshake, and the message is retried, never failed."""
    real = socket.create_connection

    def slow_connect(address: tuple[str, int], *args: Any) -> socket.socket:
        time.sleep(0.5)
        return real(address, *args)

    monkeypatch.setattr("service.notify.smtp.socket.create_connection", slow_connect)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = _drip_server(listener, b"")
        with pytest.raises(DeliveryError) as caught:
            await _sender(listener.getsockname()[1], tls=tls, timeout_s=1.0, deadline_s=0.3).send(
                _message(), TO
            )
        server.join(timeout=10)
    assert isinstance(caught.value, RetryableDeliveryError), caught.value
    assert "total deadline passed" in str(caught.value)


async def test_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        await _sender(free_port()).send(_message(), TO)
    assert isinstance(caught.value, RetryableDeliveryError) and not caught.value.ambiguous


async def test_starttls_required_but_not_offered_refuses_to_send() -> None:
    with scripted_smtp() as server, pytest.raises(DeliveryConfigError, match="does not offer STARTTLS"):
        await _sender(server.port, tls=TlsMode.STARTTLS).send(_message(), TO)
    assert server.handler.data_transactions == 0
    assert not server.received


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
async def test_bad_certificate_refuses_to_send(certificate: tuple[Path, Path], implicit: bool) -> None:
    script = SmtpScript(tls_context=server_tls_context(*certificate), implicit_tls=implicit)
    mode = TlsMode.IMPLICIT if implicit else TlsMode.STARTTLS
    refused = pytest.raises(DeliveryConfigError, match="certificate verification failed")
    with scripted_smtp(script) as server, refused as caught:
        await _sender(server.port, tls=mode).send(_message(), TO)
    assert isinstance(caught.value, ChannelBrokenError)
    assert not server.received


async def test_login_over_verified_starttls(certificate: tuple[Path, Path]) -> None:
    script = SmtpScript(tls_context=server_tls_context(*certificate), credentials=("rw", PASSWORD))
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with scripted_smtp(script) as server:
        sender = _sender(
            server.port,
            tls=TlsMode.STARTTLS,
            username="rw",
            password=SecretStr(PASSWORD),
            ssl_context=trusted,
        )
        await sender.send(_message(), TO)
    assert len(server.received) == 1 and server.handler.auth_attempts == 1


def test_plain_text_password_to_a_remote_host_is_refused_at_construction() -> None:
    with pytest.raises(DeliveryConfigError) as caught:
        SmtpSender(
            host="smtp.example.com", port=587, username="rw", password=SecretStr(PASSWORD), tls=TlsMode.NONE
        )
    assert "password in clear" in str(caught.value) and PASSWORD not in str(caught.value)


def test_a_context_that_does_not_verify_is_refused() -> None:
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(DeliveryConfigError, match="must verify"):
        SmtpSender(host="127.0.0.1", port=587, ssl_context=lax)


@pytest.mark.parametrize(
    "echo",
    [
        # the password across the point where a reply is cut: cut first, its head escaped
        pytest.param("x" * (MAX_REPLY_CHARS - 20) + " " + PASSWORD, id="across-the-cut"),
        # as AUTH PLAIN and AUTH LOGIN sent it, base64-encoded
        pytest.param(base64.b64encode(f"\0rw\0{PASSWORD}".encode()).decode(), id="auth-plain"),
        pytest.param(base64.b64encode(PASSWORD.encode()).decode(), id="auth-login"),
        # a server that upper-cases its replies
        pytest.param(PASSWORD.upper(), id="upper-cased"),
        pytest.param(base64.b64encode(PASSWORD.encode()).decode().lower(), id="auth-login-lower-cased"),
        # a multi-line reply whose lines split the echo (smtplib joins them with a line break)
        pytest.param(f"{PASSWORD[:7]}\n{PASSWORD[7:]}", id="across-reply-lines"),
        pytest.param(
            "\n".join(base64.b64encode(f"\0rw\0{PASSWORD}".encode()).decode()[i : i + 8] for i in (0, 8, 16)),
            id="auth-plain-wrapped",
        ),
    ],
)
async def test_a_password_echoed_cut_or_encoded_is_redacted(echo: str) -> None:
    """``echo``: what the server's reply says after "no user", a line break ending a reply line."""
    *first, last = f"no user {echo}".split("\n")
    reply = "\r\n".join([*(f"550-{line}" for line in first), f"550 {last}"])
    script = SmtpScript(credentials=("rw", PASSWORD), rcpt={TO[0]: reply})
    with scripted_smtp(script) as server:
        sender = _sender(server.port, username="rw", password=SecretStr(PASSWORD))
        with pytest.raises(DeliveryError) as echoed:
            await sender.send(_message(), TO[:1])
    assert "[redacted]" in str(echoed.value)
    assert PASSWORD[:6] not in str(echoed.value)
    assert not [piece for piece in echo.split("\n") if piece[-6:] in str(echoed.value)]


async def test_a_password_with_white_space_echoed_is_redacted() -> None:
    password = "Open  Sesame\t99"  # squeezed, the reply would no longer hold it as written
    script = SmtpScript(credentials=("rw", password), rcpt={TO[0]: f"550 no user; login was {password}"})
    with scripted_smtp(script) as server:
        sender = _sender(server.port, username="rw", password=SecretStr(password))
        with pytest.raises(DeliveryError) as echoed:
            await sender.send(_message(), TO[:1])
    assert "Sesame" not in str(echoed.value) and "[redacted]" in str(echoed.value)


async def test_a_server_whose_auth_challenge_is_no_base64_fails_the_send_as_retryable() -> None:
    # smtplib raised binascii.Error (a ValueError) reading "334 abcde": it left the sender as an
    # internal error, which failed the message for good
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 odd.example ESMTP\r\n")
        while line := await reader.readline():
            if line.upper().startswith((b"EHLO", b"HELO")):
                writer.write(b"250-odd.example\r\n250 AUTH LOGIN\r\n")
            elif line.upper().startswith(b"AUTH"):
                writer.write(b"334 abcde\r\n")
            else:
                writer.write(b"221 bye\r\n")
                break
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sender = _sender(port, username="rw", password=SecretStr(PASSWORD))
        with pytest.raises(RetryableDeliveryError) as failed:
            await sender.send(_message(), TO[:1])
    finally:
        server.close()
        await server.wait_closed()
    assert "login" in str(failed.value) and PASSWORD not in str(failed.value)


async def test_password_never_in_errors_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # The server rejects the login, and a hostile RCPT reply even echoes the password back.
    script = SmtpScript(credentials=("rw", "other"), rcpt={TO[0]: f"550 no user {PASSWORD}"})
    errors: list[BaseException] = []
    with scripted_smtp(script) as server:
        sender = _sender(server.port, username="rw", password=SecretStr(PASSWORD))
        with pytest.raises(DeliveryError) as login_failed:
            await sender.send(_message(), TO)
        errors.append(login_failed.value)
        script.credentials = ("rw", PASSWORD)
        with pytest.raises(DeliveryError) as echoed:
            await sender.send(_message(), TO[:1])
        errors.append(echoed.value)
    assert isinstance(login_failed.value, ChannelBrokenError)
    assert "[redacted]" in str(echoed.value)
    seen = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(sender)]
    seen += [str(e.__cause__) + str(e.__context__) for e in errors]
    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the test server's own log
    seen += [f"{r.getMessage()} {r.__dict__}" for r in ours]
    assert ours
    assert not [text for text in seen if PASSWORD in text]
