"""The demo's loopback feed server: it serves every sample feed and never takes the port the
demo's console is about to listen on."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from service.demo import feeds
from service.demo.feeds import DemoFeedServer, sample_feeds
from tests.support.processes import free_port


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_every_sample_feed_is_served_as_rss() -> None:
    samples = sample_feeds()
    with DemoFeedServer(samples, now=datetime.now(UTC)).running() as server:
        for feed in samples:
            with urllib.request.urlopen(server.urls[feed.name], timeout=5) as answer:
                body = answer.read().decode("utf-8")
            assert answer.headers["Content-Type"].startswith("application/rss+xml")
            assert all(item.title in body for item in feed.items)


def test_a_port_the_kernel_hands_out_that_the_console_needs_is_given_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console_port = free_port()
    real_server = feeds._DocumentServer
    asked: list[tuple[str, int]] = []

    def kernel_picks_the_console_port_first(address: tuple[str, int], handler: Any) -> Any:
        asked.append(address)
        return real_server(("127.0.0.1", console_port) if len(asked) == 1 else address, handler)

    monkeypatch.setattr(feeds, "_DocumentServer", kernel_picks_the_console_port_first)
    with DemoFeedServer(sample_feeds(), now=datetime.now(UTC), keep_free=console_port).running() as server:
        assert len(asked) == 2
        assert not server.base_url.endswith(f":{console_port}")
        assert _port_is_free(console_port)
        with urllib.request.urlopen(next(iter(server.urls.values())), timeout=5) as answer:
            assert answer.status == 200
