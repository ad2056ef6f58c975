"""Many small feeds on loopback, a share of them changing, for the ``fleet`` suite.

``python -m bench.fleetserver --feeds N --changing 0.2 --period S``: N RSS feeds of ten short
items each at ``/fleet/NNNNN.xml``, each with an ETag (a request sending it back gets 304).
One feed in five (``--changing``) publishes a new item once every ``--period`` seconds, at a
moment of its own (spread over the period), so in steady state a poller polling every feed
once a period sees that share of 200s and the rest 304s. No ``<ttl>``: the poller's own
interval decides. ``GET /_bench/stats`` answers the 200s and 304s served so far. Speaks the
``bench.child`` protocol (start line, stop on standard-input EOF, stats line).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from xml.sax.saxutils import escape

from bench.child import serve_until_stdin_closes
from bench.feedserver import tune_for_benchmarks
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply

STATS_PATH = "/_bench/stats"
ITEMS = 10
SUBJECTS = ("BYD", "a supplier", "the ministry", "dealers", "a start-up", "the council", "analysts", "Tesla")
"""Two subjects in eight are watched by the shipped rules: a quarter of the items match."""
VERBS = ("plans", "reports", "cuts", "raises", "delays", "opens", "expects", "reviews")
OBJECTS = ("prices", "exports", "a new plant", "battery orders", "sales", "a model", "staff", "output")


class Fleet:
    def __init__(self, feeds: int, *, changing: float, period_s: float) -> None:
        self.feeds = feeds
        self.every = max(1, round(1 / changing)) if changing > 0 else 0
        self.period_s = period_s
        self.started = time.monotonic()
        self.served: Counter[int] = Counter()
        self._lock = threading.Lock()

    def version(self, index: int) -> int:
        """How many items the feed has published since the start (0 for a feed that never changes)."""
        if not self.every or index % self.every:
            return 0
        offset = (index / self.feeds) * self.period_s
        return int((time.monotonic() - self.started + offset) // self.period_s)

    def body(self, index: int, version: int) -> bytes:
        items = []
        for n in range(version + ITEMS - 1, version - 1, -1):
            title = f"{SUBJECTS[(index + n) % 8]} {VERBS[(index * 3 + n) % 8]} {OBJECTS[(index * 7 + n) % 8]}"
            items.append(
                f"<item><title>{escape(title)} ({index}-{n})</title>"
                f"<link>https://fleet{index}.example.com/news/{n}</link><guid>fleet-{index}-{n}</guid>"
                f"<description>{escape(title)}: item {n} of feed {index}.</description></item>"
            )
        channel = f"<title>Fleet feed {index}</title><link>https://fleet{index}.example.com/</link>"
        document = (
            f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}{"".join(items)}</channel></rss>'
        )
        return document.encode()

    def answer(self, index: int, request: RecordedRequest) -> Reply:
        version = self.version(index)
        etag = f'"{index}-{version}"'
        with self._lock:
            if request.headers.get("if-none-match") == etag:
                self.served[304] += 1
                return Reply(304, b"", {"ETag": etag})
            self.served[200] += 1
        return Reply(200, self.body(index, version), {"ETag": etag, "Content-Type": "application/rss+xml"})


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--feeds", type=int, required=True)
    args.add_argument("--changing", type=float, default=0.2)
    args.add_argument("--period", type=float, required=True)
    args.add_argument("--max-seconds", type=float, default=3600.0)
    opts = args.parse_args(argv)
    tuned = tune_for_benchmarks()
    fleet = Fleet(opts.feeds, changing=opts.changing, period_s=opts.period)
    with LoopbackHTTPServer(host="127.0.0.1") as server:
        paths = []
        for index in range(opts.feeds):
            path = f"/fleet/{index:05d}.xml"
            server.route(path, handler=lambda request, i=index: fleet.answer(i, request))
            paths.append(path)

        def stats(_request: RecordedRequest) -> Reply:
            with fleet._lock:
                counts = {str(k): v for k, v in fleet.served.items()}
            return Reply(200, json.dumps(counts).encode(), {"Content-Type": "application/json"})

        server.route(STATS_PATH, handler=stats)
        started = {"base_url": server.base_url, "paths": paths, "tuned": tuned}
        return serve_until_stdin_closes(
            started, lambda: sum(fleet.served.values()), max_seconds=opts.max_seconds
        )


if __name__ == "__main__":
    raise SystemExit(main())
