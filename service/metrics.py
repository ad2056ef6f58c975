"""Prometheus metrics, declared in one place. Label values are feed names, never URLs."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FEED_POLLS = Counter("rivalwatch_feed_polls_total", "Feed polls by outcome", ["feed", "outcome"])
FEED_FAILURES = Counter(
    "rivalwatch_feed_failures_total", "Failed feed polls by reason class", ["feed", "reason"]
)
FEED_BYTES = Counter("rivalwatch_feed_bytes_total", "Decoded bytes fetched", ["feed"])
FEED_POLL_SECONDS = Histogram(
    "rivalwatch_feed_poll_duration_seconds",
    "Time for one poll of one feed, fetch to stored",
    ["feed"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
ITEMS_STORED = Counter("rivalwatch_items_stored_total", "Items inserted (new) per feed", ["feed"])
ITEMS_UPDATED = Counter("rivalwatch_items_updated_total", "Stored items whose text changed", ["feed"])
POLLS_IN_FLIGHT = Gauge("rivalwatch_polls_in_flight", "Feed polls running in this process")
