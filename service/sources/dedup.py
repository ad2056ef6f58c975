"""Deciding what counts as the same item and the same story — pure rules, no storage.

Within one feed an item is identified by its key (see ``normalize``); the same key seen
again is the same item, updated when its title or text changed.

Across feeds, items are grouped into **stories**: a syndicated copy of an article joins the
story of the first item seen. Two items are one story when they share a canonical URL, or
when their normalised titles are identical (same ``title_fp``) and their texts agree: either
text is too short to judge (fewer than ``MIN_WORDS`` words), or the word sets of their first
``COMPARE_WORDS`` words overlap by at least ``SAME_TEXT_JACCARD``. Title matches are only
looked for among items first seen within the story window, so a recurring headline such as
"Daily briefing" months apart does not merge unrelated news.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol, TypeVar

from service.sources.normalize import source_tag

MIN_WORDS = 8
COMPARE_WORDS = 120
SAME_TEXT_JACCARD = 0.5
_WORD = re.compile(r"\w+")


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def unique_by_key(entries: Iterable[K]) -> list[K]:
    """First occurrence of each key, in document order (feeds repeat guids)."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            out.append(entry)
    return out


class Sourced(Protocol):
    @property
    def key(self) -> str | None: ...
    @property
    def digest(self) -> str: ...


class Vouching(Protocol):
    @property
    def tag(self) -> str | None: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def url(self) -> str | None: ...


Reading = Literal["read", "unread", "counted"]
"""What a poll does with an entry: ``read`` it (normalise and store it), leave it ``unread``
(it restates a stored item unchanged), or read it only to be ``counted`` among the usable
entries (a later entry of an unread key: it loses to the first as a repeat, ``unique_by_key``)."""


def restated(sources: Sequence[Sourced], stored: Mapping[str, Vouching]) -> list[Reading]:
    """For each entry, in document order, how a poll reads it. The first entry of a key is left
    unread when the feed's stored item of that key vouches for its source (``stored``: by key;
    see ``normalize.source_tag``). An entry without a key of its own (no guid, no link) is
    always read: only its text can say which item it is."""
    readings: list[Reading] = []
    first: dict[str, bool] = {}
    for source in sources:
        key = source.key
        if key is None:
            readings.append("read")
        elif key in first:
            readings.append("counted" if first[key] else "read")
        else:
            row = stored.get(key)
            first[key] = row is not None and _vouches(row, source)
            readings.append("unread" if first[key] else "read")
    return readings


def _vouches(row: Vouching, source: Sourced) -> bool:
    """Whether a stored row was made from ``source`` by this normalising code and still holds
    what that made (where the code cannot be named, no row vouches for anything)."""
    expected = source_tag(source.digest, row.content_hash, row.url)
    return expected is not None and row.tag == expected


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold())[:COMPARE_WORDS])


def texts_agree(a: str, b: str) -> bool:
    """Whether two texts may tell one article: they agree, or one is too short to tell."""
    return _agreement(a, b) is not False


def texts_clearly_agree(a: str, b: str) -> bool:
    """Whether two texts tell one article: both long enough to tell, and agreeing."""
    return _agreement(a, b) is True


def _agreement(a: str, b: str) -> bool | None:
    """None when either text is too short to tell."""
    words_a, words_b = _words(a), _words(b)
    if min(len(words_a), len(words_b)) < MIN_WORDS:
        return None
    return len(words_a & words_b) / len(words_a | words_b) >= SAME_TEXT_JACCARD


def pick_story(text: str, candidates: Sequence[tuple[int, str]]) -> int | None:
    """The story of the first title-matched candidate (story_id, text) whose text agrees."""
    for story_id, other_text in candidates:
        if texts_agree(text, other_text):
            return story_id
    return None
