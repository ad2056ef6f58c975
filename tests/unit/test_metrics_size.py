"""/metrics stays useful at 10 000 feeds: no buckets per feed, and per-feed series can be folded."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRAPE = """
import sys
from prometheus_client import generate_latest
from service import metrics

metrics.count_per_feed(sys.argv[1] == "on")
for i in range(10_000):
    name = f"feed-{i:05d}"
    metrics.record_poll(name, "new" if i % 5 == 0 else "not_modified", 0.02)
    metrics.FEED_BYTES.labels(metrics.feed_label(name)).inc(1000)
    if i % 5 == 0:
        metrics.ITEMS_STORED.labels(metrics.feed_label(name)).inc(3)
text = generate_latest().decode()
print(len(text.encode()), text.count("_bucket{"), text.count('feed="all"'))
"""


def scrape(per_feed: str) -> tuple[int, int, int]:
    command = [sys.executable, "-c", SCRAPE, per_feed]  # a fresh process: a registry of its own
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    size, buckets, folded = (int(x) for x in done.stdout.split())
    return size, buckets, folded


@pytest.mark.parametrize("per_feed", ["on", "off"])
def test_no_histogram_has_a_bucket_per_feed(per_feed: str) -> None:
    _, buckets, _ = scrape(per_feed)
    assert buckets < 40  # the poll-duration histogram over all feeds, and the round histograms


def test_folded_per_feed_series_keep_the_scrape_of_10_000_feeds_under_1_mb() -> None:
    size_off, _, folded = scrape("off")
    size_on, _, _ = scrape("on")
    assert size_off < 1_000_000 and folded >= 4
    assert size_on > 10 * size_off  # what the setting is for
