"""RSS 2.0 written from items: the demo's sample feeds, and the feed documents ``labels export``
writes beside its labels so that ``rules eval`` can read the judged items again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class RssEntry:
    title: str
    text: str
    guid: str | None = None
    link: str | None = None
    published: datetime | None = None


def rss_document(*, title: str, link: str, entries: Iterable[RssEntry]) -> bytes:
    """A whole RSS 2.0 document in UTF-8, every value escaped."""
    items = []
    for entry in entries:
        parts = [f"<title>{escape(entry.title)}</title>"]
        if entry.link:
            parts.append(f"<link>{escape(entry.link)}</link>")
        if entry.guid:
            parts.append(f'<guid isPermaLink="false">{escape(entry.guid)}</guid>')
        if entry.published:
            parts.append(f"<pubDate>{format_datetime(entry.published)}</pubDate>")
        parts.append(f"<description>{escape(entry.text)}</description>")
        items.append(f"<item>{''.join(parts)}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(title)}</description>{''.join(items)}</channel></rss>"
    ).encode()
