"""Prometheus metrics, declared in one place. Label values are feed names, never URLs.

Per-feed series cost one line each per feed in every scrape: with thousands of feeds,
``RIVALWATCH_METRICS_PER_FEED=false`` folds them into ``feed="all"`` (the scrape stays small;
``feeds list`` and ``/feeds`` still give each feed's state). Poll durations are a histogram
over all feeds, and per feed only a count and a sum (a mean), never buckets per feed.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Summary
from prometheus_client.core import CounterMetricFamily

from service.store.db import WRITE_WAITS

FEED_POLLS = Counter("rivalwatch_feed_polls_total", "Feed polls by outcome", ["feed", "outcome"])
FEED_FAILURES = Counter(
    "rivalwatch_feed_failures_total", "Failed feed polls by reason class", ["feed", "reason"]
)
FEED_BYTES = Counter("rivalwatch_feed_bytes_total", "Decoded bytes fetched", ["feed"])
POLL_SECONDS = Histogram(
    "rivalwatch_poll_duration_seconds",
    "Time for one poll of one feed, fetch to stored, over all feeds",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
FEED_POLL_SECONDS = Summary(
    "rivalwatch_feed_poll_duration_seconds", "Time polling each feed (count and sum: the mean)", ["feed"]
)
ITEMS_STORED = Counter("rivalwatch_items_stored_total", "Items inserted (new) per feed", ["feed"])
ITEMS_UPDATED = Counter("rivalwatch_items_updated_total", "Stored items whose text changed", ["feed"])
POLLS_IN_FLIGHT = Gauge("rivalwatch_polls_in_flight", "Feed polls running in this process")

DELIVERIES_SENT = Counter(
    "rivalwatch_deliveries_sent_total", "Messages accepted by the receiver", ["channel"]
)
DELIVERIES_RETRIED = Counter("rivalwatch_deliveries_retried_total", "Delivery attempts to retry", ["channel"])
DELIVERIES_FAILED = Counter("rivalwatch_deliveries_failed_total", "Deliveries failed for good", ["channel"])
DELIVERIES_THROTTLED = Counter(
    "rivalwatch_deliveries_throttled_total", "429 answers (rate limited)", ["channel"]
)
DELIVERIES_AMBIGUOUS = Counter(
    "rivalwatch_deliveries_ambiguous_total", "Sends that may have reached the receiver twice", ["channel"]
)
CHANNEL_QUEUE_DEPTH = Gauge("rivalwatch_channel_queue_depth", "Undelivered messages per channel", ["channel"])
CHANNEL_OLDEST_PENDING = Gauge(
    "rivalwatch_channel_oldest_pending_seconds", "Age of the oldest undelivered message", ["channel"]
)
CHANNEL_BROKEN = Gauge("rivalwatch_channel_broken", "1 while a channel refuses us (403/404/410)", ["channel"])

DATABASE_UP = Gauge("rivalwatch_database_up", "1 while this process can use its database, 0 while it cannot")
DATABASE_DOWN_SECONDS = Gauge(
    "rivalwatch_database_unavailable_seconds", "Seconds since the database last worked; 0 while it does"
)
DATABASE_ABANDONED = Counter(
    "rivalwatch_database_abandoned_total",
    "Polls, rounds and ticks given up because the database was unavailable",
    ["work"],
)
POLL_START_DELAY = Histogram(
    "rivalwatch_poll_start_delay_seconds",
    "How long after its due time a scheduled poll started (claimed by a tick)",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
)
ROUND_SECONDS = Histogram(
    "rivalwatch_round_duration_seconds",
    "How long one round of a scheduled job took (poll: claim and start polls; deliver: digest and outbox)",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
ROUND_OVERLAPS = Counter(
    "rivalwatch_round_overlaps_total",
    "Ticks that found the previous round still running (left to finish)",
    ["job"],
)


class _WriteWaits:
    """The database writers' wait for the write lock, read from ``db.WRITE_WAITS`` at scrape time
    (the store counts without importing the metrics library: every command opens a database)."""

    def collect(self) -> Any:
        yield CounterMetricFamily(
            "rivalwatch_db_write_wait_seconds",
            "Time write transactions waited to begin: this process's turn and SQLite's write lock",
            value=WRITE_WAITS.seconds,
        )
        yield CounterMetricFamily(
            "rivalwatch_db_write_transactions", "Write transactions begun", value=WRITE_WAITS.transactions
        )


REGISTRY.register(_WriteWaits())

ALL_FEEDS = "all"
_per_feed = True


def count_per_feed(on: bool) -> None:
    """``RIVALWATCH_METRICS_PER_FEED``: a series per feed, or one for all of them."""
    global _per_feed
    _per_feed = on


def feed_label(name: str) -> str:
    return name if _per_feed else ALL_FEEDS


def record_poll(feed: str, outcome: str, seconds: float) -> None:
    label = feed_label(feed)
    POLL_SECONDS.observe(seconds)
    FEED_POLL_SECONDS.labels(label).observe(seconds)
    FEED_POLLS.labels(label, outcome).inc()


def record_channel_gauges(channels: list[dict[str, Any]]) -> None:
    """Queue depth, oldest waiting message and broken state per channel, read at scrape time."""
    for channel in channels:
        name = channel["name"]
        CHANNEL_QUEUE_DEPTH.labels(name).set(channel["queue_depth"])
        CHANNEL_OLDEST_PENDING.labels(name).set(channel["oldest_pending_s"])
        CHANNEL_BROKEN.labels(name).set(1 if channel["broken"] else 0)
