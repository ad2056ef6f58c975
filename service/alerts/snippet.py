"""A short excerpt of an item around the terms that matched, with the terms marked.

The snippet is plain text (title hits are shown by the title itself, so the excerpt comes
from the body when the body has hits, else from the title). It is cut at word boundaries to
at most ``max_chars`` characters around the first hit, with "…" where text was cut, and
carries the ``(start, end)`` offsets of every hit inside it, so each renderer can mark them
in its own way (bold in Slack, ``<strong>`` in HTML) after escaping the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

ELLIPSIS = "…"
DEFAULT_MAX_CHARS = 280


class Hit(Protocol):
    @property
    def field(self) -> Literal["title", "text"]: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]


def build_snippet(
    *, title: str, text: str, hits: Sequence[Hit], max_chars: int = DEFAULT_MAX_CHARS
) -> Snippet:
    body_hits = sorted((h.start, h.end) for h in hits if h.field == "text")
    if body_hits:
        return _window(text, body_hits, max_chars=max_chars)
    title_hits = sorted((h.start, h.end) for h in hits if h.field == "title")
    if text:
        return Snippet(_cut(text, 0, max_chars), ())
    return _window(title, title_hits, max_chars=max_chars)


def _window(source: str, spans: list[tuple[int, int]], *, max_chars: int) -> Snippet:
    if not spans:
        return Snippet(_cut(source, 0, max_chars), ())
    first_start = spans[0][0]
    start = _word_start(source, max(0, first_start - max_chars // 3))
    end = _word_end(source, min(len(source), start + max_chars))
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(source) else ""
    shift = len(prefix) - start
    inside = tuple((s + shift, e + shift) for s, e in _merge(spans) if s >= start and e <= end)
    return Snippet(prefix + source[start:end] + suffix, inside)


def _cut(source: str, start: int, max_chars: int) -> str:
    end = _word_end(source, min(len(source), start + max_chars))
    return source[start:end] + (ELLIPSIS if end < len(source) else "")


def _word_start(source: str, index: int) -> int:
    """Move ``index`` forward to the start of a word, so no word is cut in half."""
    if index == 0 or source[index - 1].isspace():
        return index
    space = source.find(" ", index)
    return index if space == -1 else space + 1


def _word_end(source: str, index: int) -> int:
    if index >= len(source) or source[index].isspace():
        return index
    space = source.rfind(" ", 0, index)
    return index if space <= 0 else space


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def marked(text: str, spans: Sequence[tuple[int, int]], *, mark: str) -> str:
    """``text`` with each span wrapped in ``mark`` (terminals, logs, plain-text mail)."""
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], mark, text[start:end], mark]
        last = end
    return "".join([*out, text[last:]])
