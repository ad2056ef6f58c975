"""The demo's sample feeds: read from ``samples.yaml``, rendered as RSS 2.0 with dates relative to
now, and served by a loopback HTTP server for as long as the demo runs."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import yaml

from service.durations import parse_duration_s
from service.slugs import slug
from service.sources.write_rss import RssEntry, rss_document


@dataclass(frozen=True, slots=True)
class SampleItem:
    title: str
    text: str
    age: timedelta
    shows: str


@dataclass(frozen=True, slots=True)
class SampleFeed:
    name: str
    items: tuple[SampleItem, ...]

    @property
    def path(self) -> str:
        """Where the demo server serves it: ``/feeds/<slug of its name>.xml`` (``feed.xml`` for a
        name without letters or digits)."""
        return f"/feeds/{slug(self.name, default='feed')}.xml"


def sample_feeds() -> list[SampleFeed]:
    """The feeds shipped for the demo (``service/demo/samples.yaml``)."""
    document = yaml.safe_load(resources.files("service.demo").joinpath("samples.yaml").read_text("utf-8"))
    return [
        SampleFeed(
            feed["name"],
            tuple(
                SampleItem(
                    title=item["title"],
                    text=" ".join(item["text"].split()),
                    age=timedelta(seconds=parse_duration_s(item["age"])),
                    shows=item["shows"],
                )
                for item in feed["items"]
            ),
        )
        for feed in document["feeds"]
    ]


def render_rss(feed: SampleFeed, *, base_url: str, now: datetime) -> bytes:
    """The feed as RSS 2.0: each item published ``age`` before ``now``, with a stable guid."""
    entries = []
    for item in feed.items:
        guid = hashlib.sha256(f"{feed.name}\n{item.title}".encode()).hexdigest()[:16]
        link = f"{base_url}/articles/{guid}"
        entries.append(RssEntry(item.title, item.text, f"demo-{guid}", link, now - item.age))
    return rss_document(title=feed.name, link=f"{base_url}/", entries=entries)


class DemoFeedServer:
    """The sample feeds on 127.0.0.1 (a free port other than ``keep_free``, the port the demo's
    console is to listen on next), rendered once when the server starts."""

    def __init__(self, feeds: Sequence[SampleFeed], *, now: datetime, keep_free: int | None = None) -> None:
        self._httpd = _bind_loopback(keep_free)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.urls = {feed.name: self.base_url + feed.path for feed in feeds}
        self._httpd.documents = {
            feed.path: render_rss(feed, base_url=self.base_url, now=now) for feed in feeds
        }
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-feeds", daemon=True)

    @contextmanager
    def running(self) -> Iterator[DemoFeedServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()


def _bind_loopback(keep_free: int | None) -> _DocumentServer:
    """A server on a port the kernel picks; if it picked ``keep_free``, a second one is bound
    while the first still holds it (so it cannot be picked again) and the first is let go."""
    server = _DocumentServer(("127.0.0.1", 0), _Handler)
    if server.server_address[1] != keep_free:
        return server
    try:
        return _DocumentServer(("127.0.0.1", 0), _Handler)
    finally:
        server.server_close()


class _DocumentServer(ThreadingHTTPServer):
    documents: dict[str, bytes] = {}  # noqa: RUF012 - replaced whole per server, never mutated


class _Handler(BaseHTTPRequestHandler):
    server: _DocumentServer

    def do_GET(self) -> None:
        body = self.server.documents.get(self.path.split("?", 1)[0])
        if body is None:
            self.send_error(404)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo's output is the alerts, not the server's access log."""
