"""The fetcher against real loopback servers: guard, redirects, caps, deadline, statuses.

Traffic goes to 127.0.0.0/8 only. The allow-list is 127.0.0.1/32 unless a test says otherwise;
a "canary" server on a refused loopback address proves that a refusal opened no connection.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings
from service.errors import (
    BlockedAddressError,
    BodyTooLargeError,
    DeadlineError,
    FetchError,
    HTTPStatusError,
    SchemeError,
    TooManyRedirectsError,
    TransportError,
)
from service.retry import parse_retry_after_s
from service.sources.addresses import AddressPolicy, IPAddress
from service.sources.fetch import Fetcher
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply

MiB = 1024 * 1024
ALLOW_127_0_0_1 = AddressPolicy(allow=(ip_network("127.0.0.1/32"),))
FIXED_NOW = datetime(2024, 1, 1, tzinfo=UTC)
SECRET = "s3cret-token"
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def make_fetcher(**options: Any) -> Fetcher:
    settings: dict[str, Any] = {
        "policy": ALLOW_127_0_0_1,
        "timeout_s": 5.0,
        "deadline_s": 10.0,
        "max_bytes": 1 * MiB,
        "now": lambda: FIXED_NOW,
    }
    return Fetcher(**(settings | options))


async def must_not_resolve(host: str, port: int) -> Sequence[IPAddress]:
    raise AssertionError(f"resolver called for {host!r}")


def resolving_to(*addresses: str) -> Any:
    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [ip_address(a) for a in addresses]

    return resolve


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer(host="127.0.0.1") as running:
        yield running


@pytest.fixture
def canary() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer(host="127.0.0.2") as running:
        running.route("/", body=b"canary")
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with make_fetcher() as running:
        yield running


def assert_untouched(canary: LoopbackHTTPServer) -> None:
    assert canary.connection_count == 0
    assert canary.requests == []


# -- plain and conditional GET ----------------------------------------------------------------


async def test_200_returns_body_headers_and_validators(server: LoopbackHTTPServer, fetcher: Fetcher) -> None:
    server.serve_feed("/feed.xml", FEED, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")

    result = await fetcher.fetch(server.url("/feed.xml"))

    assert (result.status, result.body, result.bytes_read) == (200, FEED, len(FEED))
    assert result.url == server.url("/feed.xml")
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert not result.not_modified
    assert result.duration_ms > 0


async def test_conditional_get_sends_validators_and_304_has_no_body(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.serve_feed("/feed.xml", FEED, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    first = await fetcher.fetch(server.url("/feed.xml"))

    second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified)
    changed = await fetcher.fetch(server.url("/feed.xml"), etag='"v0"')

    assert (second.status, second.body, second.bytes_read, second.not_modified) == (304, b"", 0, True)
    assert changed.status == 200
    sent = server.requests_to("/feed.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert "if-none-match" not in server.requests_to("/feed.xml")[0].headers


async def test_304_answers_keep_the_connection_for_the_next_poll(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.serve_feed("/feed.xml", FEED, etag='"v1"')
    for _ in range(4):
        assert (await fetcher.fetch(server.url("/feed.xml"), etag='"v1"')).not_modified
    assert server.connection_count == 1


async def test_a_kept_connection_the_server_closed_is_not_reused(fetcher: Fetcher) -> None:
    # A server that answers with keep-alive and then hangs up while the connection is idle, as
    # servers do when their keep-alive time runs out: the pool must see the hang-up (the idle
    # socket reads as closed) and open a new connection, not send the next request into it.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s"

    def serve_one_request_per_connection() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer % (len(FEED), FEED))
                conn.shutdown(socket.SHUT_RDWR)  # idle and closed, without "Connection: close"

    serving = threading.Thread(target=serve_one_request_per_connection, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    try:
        assert (await fetcher.fetch(url)).body == FEED
        await asyncio.sleep(0.2)  # the hang-up reaches this side
        assert (await fetcher.fetch(url)).body == FEED
        serving.join(timeout=10)
        assert not serving.is_alive()  # both requests came, each on a connection of its own
    finally:
        listener.close()


async def test_user_agent_and_encodings_are_announced(server: LoopbackHTTPServer) -> None:
    server.route("/", body=b"ok")
    async with make_fetcher(user_agent="rivalwatch-test/1 (+ops@example.org)") as fetcher:
        await fetcher.fetch(server.url("/"))

    headers = server.requests[0].headers
    assert headers["user-agent"] == "rivalwatch-test/1 (+ops@example.org)"
    assert headers["accept-encoding"] == "gzip, deflate"


async def test_from_settings_uses_the_allow_list_and_user_agent(server: LoopbackHTTPServer) -> None:
    server.route("/", body=b"ok")
    settings = Settings(fetch_allow_cidrs="127.0.0.1/32", fetch_user_agent="from-settings/1")
    async with Fetcher.from_settings(settings) as fetcher:
        assert (await fetcher.fetch(server.url("/"))).body == b"ok"
    assert server.requests[0].headers["user-agent"] == "from-settings/1"


# -- C1-C3: the guard judges the address actually connected to ----------------------------


async def test_refused_literal_opens_no_socket_and_never_resolves(canary: LoopbackHTTPServer) -> None:
    async with make_fetcher(resolver=must_not_resolve) as fetcher:
        with pytest.raises(BlockedAddressError) as caught:
            await fetcher.fetch(canary.url(f"/?token={SECRET}"))

    assert "loopback" in str(caught.value) and "127.0.0.2" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert_untouched(canary)


SPELLINGS_OF_127_0_0_1 = [
    "2130706433",
    "0x7f000001",
    "127.1",
    "017700000001",
    "[::ffff:127.0.0.1]",
    "localhost",
]


@pytest.mark.parametrize("host", SPELLINGS_OF_127_0_0_1)
async def test_odd_spellings_of_a_refused_address_are_refused(host: str, server: LoopbackHTTPServer) -> None:
    server.route("/", body=b"should not be served")
    async with make_fetcher(policy=AddressPolicy(allow=(ip_network("127.0.0.2/32"),))) as fetcher:
        with pytest.raises(BlockedAddressError, match="loopback"):
            await fetcher.fetch(f"http://{host}:{server.port}/")

    assert_untouched(server)


@pytest.mark.parametrize("host", ["0.0.0.0", "0", "[::]", "[::ffff:0.0.0.0]"])
async def test_the_unspecified_address_is_refused(host: str, server: LoopbackHTTPServer) -> None:
    # On Linux a connect to 0.0.0.0 reaches local listeners, such as this server on 127.0.0.1.
    async with make_fetcher() as fetcher:
        with pytest.raises(BlockedAddressError, match="unspecified"):
            await fetcher.fetch(f"http://{host}:{server.port}/")

    assert_untouched(server)


@pytest.mark.parametrize("host", SPELLINGS_OF_127_0_0_1)
async def test_the_same_spellings_connect_when_allowed(host: str, server: LoopbackHTTPServer) -> None:
    # Control for the test above: the refusal comes from the policy, not from a bad URL.
    server.route("/", body=b"served")
    async with make_fetcher() as fetcher:
        result = await fetcher.fetch(f"http://{host}:{server.port}/")

    assert result.body == b"served"
    assert server.connection_count == 1


async def test_name_resolving_to_a_refused_address_is_refused(canary: LoopbackHTTPServer) -> None:
    async with make_fetcher(resolver=resolving_to("127.0.0.2")) as fetcher:
        with pytest.raises(BlockedAddressError, match=r"feeds\.example\.test.*127\.0\.0\.2 is loopback"):
            await fetcher.fetch(f"http://feeds.example.test:{canary.port}/")

    assert_untouched(canary)


async def test_connects_by_ip_to_the_allowed_candidate_only(server: LoopbackHTTPServer) -> None:
    server.route("/", body=b"from 127.0.0.1")
    with LoopbackHTTPServer(host="127.0.0.2", port=server.port) as same_port_canary:
        async with make_fetcher(resolver=resolving_to("127.0.0.2", "127.0.0.1")) as fetcher:
            result = await fetcher.fetch(f"http://feeds.example.test:{server.port}/")

        assert_untouched(same_port_canary)
    assert result.body == b"from 127.0.0.1"
    assert server.requests[0].headers["host"] == f"feeds.example.test:{server.port}"


async def test_unresolvable_name_is_a_transport_error() -> None:
    async with make_fetcher(resolver=resolving_to()) as fetcher:
        with pytest.raises(TransportError, match="no address"):
            await fetcher.fetch("http://nowhere.example.test/")


# -- C4: redirects -------------------------------------------------------------------------


async def test_redirect_to_a_refused_address_is_refused(
    server: LoopbackHTTPServer, canary: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.redirect("/moved", canary.url("/"))

    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2"):
        await fetcher.fetch(server.url("/moved"))

    assert len(server.requests_to("/moved")) == 1
    assert_untouched(canary)


@pytest.mark.parametrize("location", ["file:///etc/hosts", "ftp://127.0.0.1/feed", "gopher://127.0.0.1/"])
async def test_redirect_to_another_scheme_is_refused(
    location: str, server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.redirect("/moved", location, status=301)

    with pytest.raises(SchemeError):
        await fetcher.fetch(server.url("/moved"))


async def test_redirect_loop_stops_after_max_redirects(server: LoopbackHTTPServer, fetcher: Fetcher) -> None:
    for hop in range(10):
        server.redirect(f"/loop/{hop}", f"/loop/{hop + 1}")
    server.route("/loop/10", body=b"never reached")

    with pytest.raises(TooManyRedirectsError):
        await fetcher.fetch(server.url("/loop/0"))

    assert [r.path for r in server.requests] == [f"/loop/{hop}" for hop in range(6)]


async def test_five_redirects_of_every_form_are_followed(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.redirect("/a/0", "/a/1", status=301)
    server.redirect("/a/1", "2", status=302)  # relative to /a/
    server.redirect("/a/2", server.url("/a/3"), status=303)
    server.redirect("/a/3", "../a/4", status=307)
    server.redirect("/a/4", f"//127.0.0.1:{server.port}/a/5", status=308)
    server.route("/a/5", body=FEED, headers={"ETag": '"final"'})

    result = await fetcher.fetch(server.url("/a/0"))

    assert (result.url, result.body, result.etag) == (server.url("/a/5"), FEED, '"final"')


async def test_redirect_without_location_is_a_status_error(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.route("/", status=302)

    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/"))
    assert caught.value.status == 302


# -- C9: decoded-size cap ------------------------------------------------------------------


@cache
def gzip_of_zeros(decoded_bytes: int) -> bytes:
    """A gzip bomb built in 1 MiB steps, so making it never holds the decoded size."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(decoded_bytes // MiB)]
    return b"".join([*parts, compressor.flush()])


async def test_gzip_bomb_is_stopped_at_the_cap_in_bounded_memory(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    bomb = gzip_of_zeros(128 * MiB)
    assert len(bomb) < MiB  # 128 MiB decoded from a few hundred KiB on the wire
    server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLargeError):
            await fetcher.fetch(server.url("/bomb"))
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Inflating one 64 KiB network chunk at once would take ~64 MiB; the cap is 1 MiB.
    assert peak_bytes < 12 * MiB


async def test_streamed_100_mb_identity_body_is_stopped_at_the_cap(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    chunks_sent = 0

    def hundred_megabytes() -> Iterator[bytes]:
        nonlocal chunks_sent
        for _ in range(1600):
            chunks_sent += 1
            yield bytes(64 * 1024)

    server.route("/big", handler=lambda _request: Reply(200, hundred_megabytes()))

    with pytest.raises(BodyTooLargeError):
        await fetcher.fetch(server.url("/big"))
    assert chunks_sent < 1600


async def test_declared_length_above_the_cap_is_refused_before_reading(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.route("/liar", body=iter([b"tiny"]), headers={"Content-Length": str(10**12)})

    started = time.monotonic()
    with pytest.raises(BodyTooLargeError, match="declared"):
        await fetcher.fetch(server.url("/liar"))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("size", "fits"), [(MiB, True), (MiB + 1, False)])
async def test_the_body_cap_is_inclusive(
    size: int, fits: bool, server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.route("/", body=gzip.compress(b"a" * size), headers={"Content-Encoding": "gzip"})

    if fits:
        assert (await fetcher.fetch(server.url("/"))).bytes_read == size
    else:
        with pytest.raises(BodyTooLargeError):
            await fetcher.fetch(server.url("/"))


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        (None, FEED),
        ("identity", FEED),
        ("gzip", gzip.compress(FEED)),
        ("x-gzip", gzip.compress(FEED)),
        ("GZIP", gzip.compress(FEED)),
        ("gzip", gzip.compress(FEED[:20]) + gzip.compress(FEED[20:])),  # two gzip members
        ("deflate", zlib.compress(FEED)),
        ("deflate", _raw_deflate(FEED)),
    ],
    ids=["none", "identity", "gzip", "x-gzip", "upper-case", "gzip-members", "deflate-zlib", "deflate-raw"],
)
async def test_encodings_are_decoded(
    encoding: str | None, wire: bytes, server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    server.route("/", body=wire, headers={"Content-Encoding": encoding} if encoding else {})

    result = await fetcher.fetch(server.url("/"))

    assert (result.body, result.bytes_read) == (FEED, len(FEED))


async def test_gzip_without_content_encoding_is_left_as_sent(
    server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    wire = gzip.compress(FEED)  # once: the gzip header holds the time, which may tick between two calls
    server.route("/", body=wire)

    assert (await fetcher.fetch(server.url("/"))).body == wire


@pytest.mark.parametrize(
    ("encoding", "wire", "error", "message"),
    [
        ("br", b"\x0b\x02\x80hello\x03", FetchError, "unsupported Content-Encoding"),
        ("gzip, gzip", gzip.compress(gzip.compress(FEED)), FetchError, "unsupported Content-Encoding"),
        ("gzip", b"this is not gzip at all", TransportError, "corrupt"),
        ("gzip", gzip.compress(FEED)[:-12], TransportError, "ended"),
    ],
    ids=["brotli", "stacked", "corrupt", "truncated"],
)
async def test_bad_encodings_are_clear_errors(
    encoding: str,
    wire: bytes,
    error: type[FetchError],
    message: str,
    server: LoopbackHTTPServer,
    fetcher: Fetcher,
) -> None:
    server.route("/", body=wire, headers={"Content-Encoding": encoding})

    with pytest.raises(error, match=message):
        await fetcher.fetch(server.url("/"))


# -- C10: deadline and timeouts ------------------------------------------------------------


async def test_drip_feed_is_stopped_by_the_total_deadline(server: LoopbackHTTPServer) -> None:
    server.route("/drip", body=b"x" * 100, drip_bytes_per_s=1)

    started = time.monotonic()
    async with make_fetcher(deadline_s=1.5, timeout_s=10.0) as fetcher:
        with pytest.raises(DeadlineError):
            await fetcher.fetch(server.url(f"/drip?token={SECRET}"))
    assert time.monotonic() - started < 8


async def test_silent_server_hits_the_read_timeout(server: LoopbackHTTPServer) -> None:
    server.route("/slow", body=b"late", delay_s=3)

    async with make_fetcher(timeout_s=0.5, deadline_s=10.0) as fetcher:
        with pytest.raises(TransportError, match="read timed out") as caught:
            await fetcher.fetch(server.url(f"/slow?token={SECRET}"))
    assert SECRET not in str(caught.value)


async def test_connection_refused_is_a_transport_error(fetcher: Fetcher) -> None:
    with LoopbackHTTPServer(host="127.0.0.1") as closed_soon:
        port = closed_soon.port  # a port that had a listener a moment ago and now has none

    with pytest.raises(TransportError, match="connection failed") as caught:
        await fetcher.fetch(f"http://127.0.0.1:{port}/?token={SECRET}")
    assert SECRET not in str(caught.value)


# -- C14: statuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_s", "retryable"),
    [
        (429, "7", 7.0, True),
        (503, " 120 ", 120.0, True),
        (503, "Mon, 01 Jan 2024 00:02:00 GMT", 120.0, True),
        (429, "Sun, 31 Dec 2023 23:00:00 GMT", 0.0, True),
        (503, "soon", None, True),
        (500, None, None, True),
        (404, None, None, False),
        (410, None, None, False),
    ],
)
async def test_error_statuses_carry_retry_after(
    status: int,
    retry_after: str | None,
    expected_s: float | None,
    retryable: bool,
    server: LoopbackHTTPServer,
    fetcher: Fetcher,
) -> None:
    server.route("/", status=status, headers={"Retry-After": retry_after} if retry_after else {})

    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/"))

    assert (caught.value.status, caught.value.retry_after_s, caught.value.retryable) == (
        status,
        expected_s,
        retryable,
    )
    assert caught.value.gone is (status == 410)


def test_retry_after_accepts_a_naive_clock() -> None:
    assert parse_retry_after_s("Mon, 01 Jan 2024 00:00:30 GMT", now=datetime(2024, 1, 1)) == 30.0


# -- per-host concurrency ------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "expected_max"), [(2, 2), (4, 4)])
async def test_per_host_concurrency_limit(limit: int, expected_max: int, server: LoopbackHTTPServer) -> None:
    server.route("/slow", body=b"ok", delay_s=0.4)

    async with make_fetcher(per_host_concurrency=limit) as fetcher:
        await asyncio.gather(*(fetcher.fetch(server.url(f"/slow?n={n}")) for n in range(8)))

    assert len(server.requests) == 8
    assert server.max_concurrent == expected_max


async def test_waiting_for_a_host_slot_does_not_count_against_the_deadline(
    server: LoopbackHTTPServer,
) -> None:
    # One slot per host; each answer takes 0.6 s, the deadline is 1 s. The third fetch waits
    # 1.2 s for its slot, then fetches in 0.6 s: it must succeed, not time out in the queue.
    server.route("/slow", body=b"ok", delay_s=0.6)

    async with make_fetcher(per_host_concurrency=1, deadline_s=1.0) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f"/slow?n={n}")) for n in range(3)))
        assert fetcher.hosts_in_use == 0  # slots of idle hosts are forgotten

    assert [r.body for r in results] == [b"ok"] * 3
    assert server.max_concurrent == 1


async def test_the_queue_budget_bounds_how_long_a_wait_is_free(server: LoopbackHTTPServer) -> None:
    # The second fetch waits 0.4 s but only 0.1 s of it is free: its deadline lands at 0.6 s
    # after it started, before its own 0.4 s answer can arrive at 0.8 s.
    server.route("/slow", body=b"ok", delay_s=0.4)

    async with make_fetcher(per_host_concurrency=1, deadline_s=0.5, max_queue_s=0.1) as fetcher:
        first = asyncio.create_task(fetcher.fetch(server.url("/slow?n=1")))
        await asyncio.sleep(0.02)
        with pytest.raises(DeadlineError):
            await fetcher.fetch(server.url("/slow?n=2"))
        assert (await first).body == b"ok"
        assert fetcher.hosts_in_use == 0


async def test_the_queue_budget_is_shared_by_every_redirect_hop(server: LoopbackHTTPServer) -> None:
    # One slot. A holds it 0-0.4 s; B queues for /hop (0.4 s of waiting, the whole 0.3 s budget
    # free), then C takes the slot 0.4-0.8 s while B queues again for the redirect target. That
    # second wait is not free any more: B's deadline stays at 0.5 + 0.3 s and B fails at 0.8 s
    # instead of finishing at 1.0 s on a budget granted twice.
    server.route("/slow", body=b"ok", delay_s=0.4)
    server.route("/hop", status=302, headers={"Location": "/target"})
    server.route("/target", body=b"late", delay_s=0.2)

    async with make_fetcher(per_host_concurrency=1, deadline_s=0.5, max_queue_s=0.3) as fetcher:
        a = asyncio.create_task(fetcher.fetch(server.url("/slow?n=a")))
        await asyncio.sleep(0.02)
        b = asyncio.create_task(fetcher.fetch(server.url("/hop")))
        await asyncio.sleep(0.02)
        c = asyncio.create_task(fetcher.fetch(server.url("/slow?n=c")))
        with pytest.raises(DeadlineError):
            await b
        assert (await a).body == b"ok" and (await c).body == b"ok"
        assert fetcher.hosts_in_use == 0


async def test_the_deadline_still_covers_the_fetch_after_a_wait(server: LoopbackHTTPServer) -> None:
    server.route("/quick", body=b"ok", delay_s=0.3)
    server.route("/stuck", body=b"late", delay_s=3)

    async with make_fetcher(per_host_concurrency=1, deadline_s=1.0) as fetcher:
        quick = asyncio.create_task(fetcher.fetch(server.url("/quick")))
        await asyncio.sleep(0.05)  # /quick holds the slot; /stuck queues behind it
        with pytest.raises(DeadlineError):
            await fetcher.fetch(server.url("/stuck"))
        assert (await quick).body == b"ok"
        assert fetcher.hosts_in_use == 0


async def test_handler_sees_each_request(server: LoopbackHTTPServer, fetcher: Fetcher) -> None:
    def echo_path(request: RecordedRequest) -> Reply:
        return Reply(200, request.path.encode())

    server.route("/echo", handler=echo_path)

    assert (await fetcher.fetch(server.url("/echo?x=1"))).body == b"/echo?x=1"


async def test_serve_directory_serves_every_file(
    tmp_path: Path, server: LoopbackHTTPServer, fetcher: Fetcher
) -> None:
    (tmp_path / "a.xml").write_bytes(FEED)
    (tmp_path / "odd name.rss").write_bytes(b"<rss/>")

    urls = server.serve_directory(tmp_path)
    bodies = [(await fetcher.fetch(url)).body for url in urls]

    assert urls == [server.url("/feeds/a.xml"), server.url("/feeds/odd%20name.rss")]
    assert bodies == [FEED, b"<rss/>"]
