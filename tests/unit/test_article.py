"""What a dry run reads: the same title and text a poll would store, never a glued variant."""

from __future__ import annotations

import pytest

from service.sources.article import documents_to_texts, item_as_polled
from service.sources.feed import RawEntry
from service.sources.normalize import normalize_entry
from tests.support.service import rss_items

BODY = "<p>Nissan now plans <b>eight</b> new-energy models for China.</p>"


def polled(title: str, summary: str) -> tuple[str, str]:
    entry = RawEntry(guid=None, link=None, title=title, summary=summary, published=None, base_url=None)
    item = normalize_entry(entry, feed_url="")
    assert item is not None
    return item.title, item.text


def test_a_title_and_body_are_read_apart_as_a_poll_reads_them() -> None:
    article = item_as_polled(title="Nissan trims its line-up", body=BODY)
    assert (article.title, article.text) == polled("Nissan trims its line-up", BODY)
    assert article.text == "Nissan now plans eight new-energy models for China."


def test_feed_entries_are_normalised_as_a_poll_stores_them() -> None:
    feed = rss_items(("Nissan trims its line-up", "https://news.example.test/a?utm_source=x", BODY))
    [article] = documents_to_texts(feed)
    assert (article.title, article.text) == polled("Nissan trims its line-up", BODY)
    assert article.url == "https://news.example.test/a"  # tracking parameters dropped, as stored


@pytest.mark.parametrize(
    ("text", "title", "body"),
    [
        # One line is a title without a body, as a feed entry with no summary: never both.
        ("Nissan trims its line-up", "Nissan trims its line-up", ""),
        (
            "Nissan trims its line-up\nIt now plans eight.\n\nDown from ten.",
            "Nissan trims its line-up",
            "It now plans eight. Down from ten.",
        ),
    ],
)
def test_plain_text_is_a_title_then_a_body(text: str, title: str, body: str) -> None:
    [article] = documents_to_texts(text.encode())
    assert (article.title, article.text) == (title, body)
