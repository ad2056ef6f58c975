"""One article's main text from an HTML page, or a document of any kind turned into items.

``extract_article`` uses trafilatura's main-text extraction (navigation, footers and
comments dropped) and its metadata for the title and date. ``documents_to_texts`` accepts
whatever an analyst points a dry run at: a feed (each entry becomes an item, normalised as a
poll stores it), an HTML page (its main text), or plain text (the first line is the title, the
rest the text; a single line is a title with no text, as a feed entry without a summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura

from service.errors import BaselineError, ParseError
from service.sources.feed import RawEntry
from service.sources.normalize import MAX_TEXT_CHARS, MAX_TITLE_CHARS, Item, clean_text, normalize_entry
from service.sources.parse import parse_feed

MAX_DOCUMENT_BYTES = 15 * 1024 * 1024
EVERY_ENTRY = 1_000_000
"""A dry run reads every entry of the document it is given (the size cap bounds the work)."""


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    text: str
    url: str | None = None
    published_at: datetime | None = None


def extract_article(html: str, *, url: str | None = None) -> Article:
    """Main text and metadata of an article page; BaselineError when there is no main text."""
    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, favor_precision=True
    )
    if not text or not text.strip():
        raise BaselineError("no article text could be extracted from the page")
    meta = trafilatura.extract_metadata(html, default_url=url)
    title = clean_text(meta.title) if meta is not None and meta.title else ""
    return Article(
        title=title or clean_text(text.splitlines()[0]),
        text=clean_text(text),
        url=url,
        published_at=_page_date(meta.date if meta is not None else None),
    )


def _page_date(text: str | None) -> datetime | None:
    """trafilatura's ``YYYY-MM-DD`` as midnight UTC; None when absent or unreadable."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TextLimits:
    """The service's caps on stored titles and texts (``RIVALWATCH_MAX_TITLE_CHARS`` / ``_TEXT_``)."""

    title_chars: int = MAX_TITLE_CHARS
    text_chars: int = MAX_TEXT_CHARS


AS_SERVED = TextLimits()
"""The defaults of the settings, for callers without settings at hand."""


def item_as_polled(
    *, title: str, body: str, url: str | None = None, limits: TextLimits = AS_SERVED
) -> Article:
    """A title and a body (HTML or text) as a poll would store them from a feed entry."""
    entry = RawEntry(guid=None, link=url, title=title, summary=body, published=None, base_url=None)
    item = _normalised(entry, url=url, limits=limits)
    return _article(item) if item else Article(title="", text="")


def _article(item: Item) -> Article:
    return Article(title=item.title, text=item.text, url=item.url, published_at=item.published_at)


def _normalised(entry: RawEntry, *, url: str | None, limits: TextLimits) -> Item | None:
    return normalize_entry(
        entry, feed_url=url or "", max_title_chars=limits.title_chars, max_text_chars=limits.text_chars
    )


def documents_to_texts(
    body: bytes, *, url: str | None = None, limits: TextLimits = AS_SERVED
) -> list[Article]:
    """Items from a feed, else the article of an HTML page, else plain text."""
    body = body[:MAX_DOCUMENT_BYTES]
    try:
        feed = parse_feed(body, max_entries=EVERY_ENTRY)
    except ParseError:
        feed = None
    if feed is not None and feed.entries:
        # The same normalisation as a poll, so a dry run judges exactly what the service stores.
        items = (_normalised(e, url=url, limits=limits) for e in feed.entries)
        return [_article(i) for i in items if i is not None]
    text = body.decode("utf-8", errors="replace")
    if "<" in text and ("<html" in text.lower() or "<p" in text.lower() or "<body" in text.lower()):
        return [extract_article(text, url=url)]
    lines = [line for line in (clean_text(x) for x in text.splitlines()) if line]
    if not lines:
        return []
    return [Article(title=lines[0], text=" ".join(lines[1:]), url=url)]
