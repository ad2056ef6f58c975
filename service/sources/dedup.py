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
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

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


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold())[:COMPARE_WORDS])


def texts_agree(a: str, b: str) -> bool:
    words_a, words_b = _words(a), _words(b)
    if min(len(words_a), len(words_b)) < MIN_WORDS:
        return True
    return len(words_a & words_b) / len(words_a | words_b) >= SAME_TEXT_JACCARD


def pick_story(text: str, candidates: Sequence[tuple[int, str]]) -> int | None:
    """The story of the first title-matched candidate (story_id, text) whose text agrees."""
    for story_id, other_text in candidates:
        if texts_agree(text, other_text):
            return story_id
    return None
