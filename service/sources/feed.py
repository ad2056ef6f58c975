"""What a parsed feed is, and the rules both parse paths (fast and tolerant) share.

Rules implemented here:

- A ``ParsedFeed`` holds the feed's title, link, TTL and its ``RawEntry`` values in document
  order; ``parser`` says which path read it and ``damage`` what made the document ill-formed
  when the tolerant parser read entries from it anyway (a truncated or garbled document; a
  mere note about its declared encoding is no damage).
- A poll that succeeds but yields nothing to read, or reads from a damaged document, is told
  as a warning on the feed (``yield_warning``), never as a silent empty success: an empty
  channel, entries of which none is usable (no title, link or text), or damage.
- ``title`` and ``summary`` of an entry are HTML fragments. The summary is the longest of
  the summary/description and the content elements (the first one wins a tie): the fuller
  text is what rules should see.
- Caps: an id longer than ``MAX_RAW_ID_CHARS``, a title longer than ``MAX_RAW_TITLE_CHARS``
  or a summary longer than ``MAX_RAW_SUMMARY_CHARS`` is cut, so later stages never hold
  absurd strings.
- TTL: RSS ``ttl`` (minutes) wins; else the syndication module's update period divided by
  its frequency; else None.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

MAX_RAW_TITLE_CHARS = 16_384
MAX_RAW_SUMMARY_CHARS = 1_048_576
MAX_RAW_ID_CHARS = 4_096

_SY_PERIOD_S = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}


@dataclass(frozen=True, slots=True)
class RawEntry:
    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    base_url: str | None
    enclosure: str | None = None
    """The first audio or video enclosure's URL (a podcast episode's audio), as written: the item's
    link when it has no other (see ``with_own_enclosures``)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    ttl_s: int | None
    entries: tuple[RawEntry, ...]
    parser: Literal["fast", "tolerant"]
    dropped_entries: int
    damage: str | None


def yield_warning(parsed: ParsedFeed, usable: int) -> str | None:
    """What is wrong with a feed that parsed, given how many of its entries were ``usable``
    items; None when nothing is."""
    if parsed.damage is not None:
        read = f"{usable} item{'' if usable == 1 else 's'} read before it" if usable else "no usable item"
        return f"the document is damaged ({parsed.damage}): {read}"
    if not parsed.entries:
        return "the feed lists no items: check that the URL still serves this feed"
    if not usable:
        count = len(parsed.entries)
        return f"{count} entr{'y' if count == 1 else 'ies'}, none usable (no title, link or text)"
    return None


def fullest(summary: str | None, contents: list[str]) -> str:
    """The longest of the summary and the content elements: rules should see the full text."""
    return max([summary or "", *contents], key=len)


def ttl_from(ttl_minutes: str | None, period: str | None, frequency: str | None) -> int | None:
    """RSS ``ttl`` (minutes) wins; else the syndication module's period / frequency."""
    if ttl_minutes and _is_count(ttl_minutes.strip()):
        return int(ttl_minutes.strip()) * 60
    period_s = _SY_PERIOD_S.get((period or "").strip().lower())
    if period_s is None:
        return None
    times = (frequency or "1").strip()
    return period_s // int(times) if _is_count(times) and int(times) > 0 else period_s


def _is_count(text: str) -> bool:
    """ASCII digits only: "²" and "①" are digits to str.isdigit, but not to int()."""
    return text.isascii() and text.isdigit()


def is_media(mime_type: str | None) -> bool:
    """Whether an enclosure of this type is an episode itself (audio or video), not an image."""
    return mime_type is not None and mime_type.strip().lower().startswith(("audio/", "video/"))


def with_own_enclosures(parsed: ParsedFeed) -> ParsedFeed:
    """The feed with no enclosure that two of its entries share: a station's stream or logo is no
    episode of its own, and as their link it would make one story of different items."""
    counts = Counter(_file_of(entry.enclosure) for entry in parsed.entries if entry.enclosure)
    shared = {name for name, n in counts.items() if n > 1}
    if not shared:
        return parsed
    entries = tuple(
        replace(e, enclosure=None) if e.enclosure and _file_of(e.enclosure) in shared else e
        for e in parsed.entries
    )
    return replace(parsed, entries=entries)


def _file_of(url: str) -> str:
    """What two enclosures must differ in to be two episodes: the file their URL names, whatever
    its host, query or fragment ("live.mp3" and "https://cdn.example/live.mp3?utm_source=a" are
    one stream). Coarse on purpose: a shared file loses only a link, never an alert."""
    path = urlsplit(url.strip()).path
    return (path.rsplit("/", 1)[-1] or path).lower()
