"""A loopback feed server in its own process, so its CPU time never counts as the client's.

Run by the polling suite as ``python -m bench.feedserver --feeds N``. It serves N feeds from
the real corpus (files reused in order when N exceeds the corpus) on 127.0.0.1 with an ETag
each, so a request that sends the ETag back gets 304. It prints one JSON line
``{"base_url": ..., "paths": [...], "etags": [...]}`` and serves until its standard input
closes or ``--max-seconds`` pass, whichever comes first; then it prints its own CPU seconds.
``GET /_bench/stats`` answers the connections accepted and requests seen so far (that request
included), so the benchmark can tell how many TCP connections each measurement opened.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from urllib.parse import quote

from bench.child import serve_until_stdin_closes
from bench.corpus import load_real_corpus
from tests.support import httpserver
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply

STATS_PATH = "/_bench/stats"


def tune_for_benchmarks() -> dict[str, object]:
    """Two server-side settings of the test server, changed in this process only.

    ``TCP_NODELAY`` on accepted sockets: the handler writes headers and body separately, and
    with Nagle's algorithm plus the client's delayed ACK a full reply stalls ~40 ms, which
    would show up as client wall time that has nothing to do with the client. A listen backlog
    of 128 instead of socketserver's 5, so bursts of new connections are not dropped and
    retried by the client's kernel a second later. Neither changes what the client does.
    """
    tuned: dict[str, object] = {}
    handler = getattr(httpserver, "_RequestHandler", None)
    if handler is not None and hasattr(handler, "disable_nagle_algorithm"):
        handler.disable_nagle_algorithm = True
        tuned["tcp_nodelay"] = True
    server_cls = getattr(httpserver, "_Server", None)
    if server_cls is not None and hasattr(server_cls, "request_queue_size"):
        server_cls.request_queue_size = 128
        tuned["listen_backlog"] = 128
    return tuned


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--feeds", type=int, required=True)
    args.add_argument("--max-seconds", type=float, default=900.0)
    opts = args.parse_args(argv)
    corpus = load_real_corpus()
    tuned = tune_for_benchmarks()
    paths: list[str] = []
    etags: list[str] = []
    with LoopbackHTTPServer(host="127.0.0.1") as server:
        for index in range(opts.feeds):
            doc = corpus[index % len(corpus)]
            path = f"/feeds/{index:04d}-{quote(doc.name)}"
            etag = '"' + hashlib.blake2b(doc.body, digest_size=8).hexdigest() + f'-{index}"'
            server.serve_feed(path, doc.body, etag=etag, content_type="application/xml")
            paths.append(path)
            etags.append(etag)

        def stats(_request: RecordedRequest) -> Reply:
            counts = {"connections": server.connection_count, "requests": len(server.requests)}
            return Reply(200, json.dumps(counts).encode(), {"Content-Type": "application/json"})

        server.route(STATS_PATH, handler=stats)
        started = {"base_url": server.base_url, "paths": paths, "etags": etags, "tuned": tuned}
        return serve_until_stdin_closes(started, lambda: len(server.requests), max_seconds=opts.max_seconds)


if __name__ == "__main__":
    raise SystemExit(main())
