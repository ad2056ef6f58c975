"""A scriptable HTTP server on a loopback address, running in a background thread.

Rules:

- It binds only to loopback (127.0.0.0/8 or ::1); anything else is refused, so tests can
  never send traffic off the machine. Port 0 picks a free port.
- Routes map an exact path (query ignored) to a :class:`Reply`, or to a handler that builds
  a Reply per request. Unknown paths answer 404. Every request is recorded (method, path
  with query, lower-case headers) and every accepted connection is counted, so a "canary"
  server can prove it was never contacted, not even by a bare TCP connect.
- A Reply body may be bytes (sent with Content-Length unless the headers say otherwise) or an
  iterable of chunks (sent without Content-Length and the connection closed at the end).
  ``delay_s`` waits before the status line; ``drip_bytes_per_s`` sends the body slowly.
- ``max_concurrent`` is the highest number of requests handled at the same moment.
- ``stop()`` is bounded: it closes open connections, and slow replies check a stop flag.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """Path with query string, as sent."""
    headers: Mapping[str, str]
    """Lower-case header names."""


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drip_bytes_per_s: float | None = None


Handler = Callable[[RecordedRequest], Reply]


class LoopbackHTTPServer:
    """Start with ``with LoopbackHTTPServer(host="127.0.0.2") as server: ...``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"test servers bind to loopback only, not {host}")
        self.host = host
        self._routes: dict[str, Handler] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._open_sockets: set[socket.socket] = set()
        self._in_flight = 0
        self.max_concurrent = 0
        self.connection_count = 0
        self._httpd = _Server(self, (host, port))
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, *, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            _close_quietly(sock)
        self._httpd.server_close()
        self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | Iterable[bytes] = b"",
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        drip_bytes_per_s: float | None = None,
        handler: Handler | None = None,
    ) -> None:
        """Answer ``path`` with a fixed reply, or with whatever ``handler`` returns."""
        reply = Reply(status, body, dict(headers or {}), delay_s, drip_bytes_per_s)

        def fixed(_request: RecordedRequest) -> Reply:
            return reply

        with self._lock:
            self._routes[path] = handler if handler is not None else fixed

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        self.route(path, status=status, headers={"Location": location})

    def serve_feed(
        self,
        path: str,
        body: bytes,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        content_type: str = "application/rss+xml; charset=utf-8",
    ) -> None:
        """Serve ``body`` with validators; answer 304 when the client's validators match."""
        validators = {"ETag": etag, "Last-Modified": last_modified}
        headers = {"Content-Type": content_type} | {k: v for k, v in validators.items() if v}

        def answer(request: RecordedRequest) -> Reply:
            if _not_modified(request.headers, etag=etag, last_modified=last_modified):
                return Reply(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
            return Reply(200, body, headers)

        self.route(path, handler=answer)

    def serve_directory(self, directory: Path, *, prefix: str = "/feeds/") -> list[str]:
        """Serve every file of ``directory`` as ``<prefix><filename>``; returns their URLs."""
        urls = []
        for file in sorted(p for p in directory.iterdir() if p.is_file()):
            path = prefix + quote(file.name)  # clients send the name percent-encoded
            self.serve_feed(path, file.read_bytes(), content_type=_content_type(file))
            urls.append(self.url(path))
        return urls

    # -- observations ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_concurrent = 0
            self.connection_count = 0

    # -- called from handler threads ---------------------------------------------------------

    def _connection_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.connection_count += 1
            self._open_sockets.add(sock)

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open_sockets.discard(sock)

    def _begin(self, request: RecordedRequest) -> Handler | None:
        with self._lock:
            self._requests.append(request)
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
            return self._routes.get(urlsplit(request.path).path)

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; False means the server is stopping."""
        return not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: LoopbackHTTPServer, address: tuple[str, int]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.owner = owner
        super().__init__(address, _RequestHandler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.owner._connection_opened(request)
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is normal in these tests (caps, deadlines).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.owner._connection_closed(request)
        super().shutdown_request(request)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection does not hold its thread forever
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines."""

    def _handle(self) -> None:
        owner = self.server.owner
        request = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        handler = owner._begin(request)
        try:
            reply = handler(request) if handler is not None else Reply(404, b"not found")
            if reply.delay_s and not owner._sleep(reply.delay_s):
                return
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing left to tell it
        finally:
            owner._end()

    def _send(self, reply: Reply) -> None:
        streamed = not isinstance(reply.body, bytes)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        names = {name.lower() for name in reply.headers}
        if isinstance(reply.body, bytes) and "content-length" not in names:
            self.send_header("Content-Length", str(len(reply.body)))
        if streamed:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self._write_body(reply)

    def _write_body(self, reply: Reply) -> None:
        chunks = _chunks(reply.body)
        if reply.drip_bytes_per_s:
            chunks = _one_byte_each(chunks)
        pause_s = 1.0 / reply.drip_bytes_per_s if reply.drip_bytes_per_s else 0.0
        for chunk in chunks:
            if self.server.owner._stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(chunk)
            self.wfile.flush()
            if pause_s and not self.server.owner._sleep(pause_s):
                return


def _chunks(body: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(body, bytes):
        yield from (body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES))
    else:
        yield from body


def _one_byte_each(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield from (chunk[i : i + 1] for i in range(len(chunk)))


def _not_modified(headers: Mapping[str, str], *, etag: str | None, last_modified: str | None) -> bool:
    # RFC 9110: If-None-Match wins over If-Modified-Since when both are present.
    if "if-none-match" in headers:
        tags = {t.strip() for t in headers["if-none-match"].split(",")}
        return etag is not None and (etag in tags or "*" in tags)
    return last_modified is not None and headers.get("if-modified-since") == last_modified


def _content_type(file: Path) -> str:
    return {
        ".xml": "application/xml",
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
    }.get(file.suffix.lower(), "application/octet-stream")


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer or by the handler
        sock.shutdown(socket.SHUT_RDWR)
