"""Text folding, character classes and term variants: the character-level half of the rule semantics.

The full rule semantics are in :mod:`service.matching.language`; this module implements the parts
that concern characters, and both matchers (:mod:`service.matching.compile` and the reference
``evaluate_slow``) use it, so they cannot disagree on what a character is.

Folding (applied to rule terms and to item text alike)
    The string is cut into clusters (a character and the combining marks after it); each cluster
    becomes ``NFKC(cluster).casefold()``. Then: whitespace, control characters and every dash
    (Unicode category Pd, which covers the hyphen, non-breaking hyphen, en and em dash, plus the
    minus sign U+2212) become a space; curly and modifier apostrophes become ``'``; other format
    characters (soft hyphen, zero-width joiners, BOM) are removed, except the zero-width space,
    which is a space. Finally every run of spaces becomes one space. So "New-Energy  Vehicle"
    (with a non-breaking hyphen) folds to "new energy vehicle".

Character classes (of folded text)
    ``WORD``: a letter, digit or combining mark that is not CJK. ``CJK``: a letter, digit or mark
    of the Han, Hiragana, Katakana or Hangul scripts. ``SEPARATOR``: everything else, including
    ``_`` and the apostrophe. Every CJK character is a word of its own; a word otherwise is a
    maximal run of WORD characters.

Offsets
    :func:`normalise` also returns an :class:`OffsetMap` from folded positions back to positions
    in the original string, so a hit can be highlighted in the text the reader sees (worked out
    only when asked for). Text without combining marks takes a fast path (a byte table for
    ASCII, one replacement per distinct other character); the rest takes the cluster-by-cluster
    path, which is the definition (:func:`fold`).

The character tables are memoised in module-level dictionaries (a cache, like ``lru_cache``):
the functions stay pure.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass, field

WORD = "w"
CJK = "c"
SEPARATOR = "."

_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\uff07")
_ZERO_WIDTH_SPACE = "\u200b"
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3005, 0x3007),  # iteration mark, closing mark, ideographic zero
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)
CJK_CHARACTER = "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _CJK_RANGES) + "]"
"""A regular-expression class of the characters that are words on their own."""
_SPACE_RUN = re.compile(" {2,}")
_WORDS = re.compile(f"{CJK}|{WORD}+")
FOLDS_TO_ITSELF = "\u3040-\u3098\u30a1-\u30fe\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3"
"""Kana (not the combining sound marks), CJK ideographs and Hangul syllables: each folds to itself
and joins no cluster (a test checks every one), and they fill most of the corpus's non-ASCII
text, so folding leaves them to the byte pass."""
_NEEDS_FOLDING_RUN = re.compile(f"[^\x00-\x7f{FOLDS_TO_ITSELF}]+")


def _fold_char(ch: str) -> str:
    """The folded form of one character on its own (see the module docstring)."""
    if ch in _APOSTROPHES:
        return "'"
    if ch == _ZERO_WIDTH_SPACE or ch.isspace():
        return " "
    folded = unicodedata.normalize("NFKC", ch).casefold()
    return "".join(_fold_simple(c) for c in folded)


def _fold_simple(c: str) -> str:
    if c in _APOSTROPHES:
        return "'"
    if c.isspace() or c == "\u2212" or unicodedata.category(c) in ("Pd", "Cc"):
        return " "
    return "" if unicodedata.category(c) == "Cf" else c


class _FoldTable(dict[int, str]):
    """code point → folded string; remembers which characters fold to more or fewer than one, and
    which are combining marks (those join the character before them into one cluster)."""

    def __init__(self) -> None:
        super().__init__()
        self.resized: set[str] = set()
        self.combining: set[str] = set()

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = _fold_char(ch)
        if len(folded) != 1:
            self.resized.add(ch)
        if unicodedata.combining(ch):
            self.combining.add(ch)
        self[code] = folded
        return folded


class _ClassTable(dict[int, str]):
    def __missing__(self, code: int) -> str:
        value = _classify(chr(code))
        self[code] = value
        return value


def _classify(ch: str) -> str:
    if not (ch.isalnum() or unicodedata.category(ch).startswith("M")):
        return SEPARATOR
    code = ord(ch)
    return CJK if any(lo <= code <= hi for lo, hi in _CJK_RANGES) else WORD


_FOLD = _FoldTable()
_CLASS = _ClassTable()
CLASS_TABLE: dict[int, str] = _CLASS
"""code point → class, filled on first use (``CLASS_TABLE[ord(ch)]`` is ``char_class(ch)``)."""
_ASCII_FOLD = bytes(ord(_fold_char(chr(code))) for code in range(128)) + bytes(range(128, 256))
"""Every ASCII character folds to one ASCII character: a byte table, so folding ASCII text is
``bytes.translate`` (a table look-up in C; ``str.translate`` with a dict took 3.5 times as long
on the corpus's ASCII titles and texts)."""


def char_class(ch: str) -> str:
    """``WORD``, ``CJK`` or ``SEPARATOR`` for one folded character."""
    return _CLASS[ord(ch)]


def classes(folded: str) -> str:
    """The class of every character of ``folded``, as a string of the same length."""
    return folded.translate(_CLASS)


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Folded position → original position, piecewise: ``orig[k] + (p - norm[k])`` from ``norm[k]`` on."""

    norm: tuple[int, ...]
    orig: tuple[int, ...]
    then: OffsetMap | None = None
    """A map applied after this one (collapsing spaces after expanding characters)."""
    is_identity: bool = field(init=False, compare=False, repr=False)
    """Folding kept every position (ASCII text without runs of spaces, say). Worked out once: the
    matcher asks for every hit it places."""

    def __post_init__(self) -> None:
        identity = self.then is None and len(self.norm) == 1 and self.norm[0] == self.orig[0]
        object.__setattr__(self, "is_identity", identity)

    def to_original(self, position: int) -> int:
        k = bisect_right(self.norm, position) - 1
        position = self.orig[k] + position - self.norm[k]
        return position if self.then is None else self.then.to_original(position)


class Normalised:
    """Folded text, and the way back to positions in the original (``offsets``).

    The way back is worked out when first asked for: the matcher needs it only to place the hits
    of the rules an item matches, and most items it folds match none. Working it out for every
    text was a quarter of folding the corpus's non-ASCII texts.
    """

    __slots__ = ("_offsets", "_unfolded", "text")

    def __init__(
        self, text: str, offsets: OffsetMap | None = None, *, unfolded: _Unfolded | None = None
    ) -> None:
        self.text = text
        self._offsets = offsets
        self._unfolded = unfolded

    @property
    def offsets(self) -> OffsetMap:
        if self._offsets is None:
            assert self._unfolded is not None, "a Normalised holds its offsets or what they come from"
            original, mapped, resized = self._unfolded
            self._offsets = _collapse_map(mapped, _resizing(original, resized) if resized else None)
            self._unfolded = None
        return self._offsets


_Unfolded = tuple[str, str, frozenset[str]]
"""What a Normalised's offsets come from: the original, its characters folded one by one (before
runs of spaces are collapsed), and the characters of it that folded to more or fewer than one."""


def fold(text: str) -> str:
    """The folded form of ``text``: the definition the fast paths of :func:`normalise` follow."""
    return _normalise_by_cluster(text).text


def normalise(text: str) -> Normalised:
    """Fold ``text`` and keep the way back to its original positions."""
    if text.isascii():
        return _collapsed(text, text.encode("ascii").translate(_ASCII_FOLD).decode("ascii"), _NONE)
    special = set("".join(_NEEDS_FOLDING_RUN.findall(text)))
    changed = {ch: folded for ch in special if (folded := _FOLD[ord(ch)]) != ch}
    if not _FOLD.combining.isdisjoint(special):  # a combining mark joins the character before it
        return _normalise_by_cluster(text)
    # Every cluster is a single character: fold character by character, as
    # ``text.translate(_FOLD)`` would. str.translate looks every character up in a dict once the
    # text is not all ASCII, so instead the ASCII characters go through the byte table (UTF-8
    # bytes above 127 map to themselves) and each distinct character that folds to something else
    # is replaced throughout, one str.replace each: a text holds a handful (curly quotes, dashes,
    # full-width punctuation), and no folded form holds a character that folds to something else
    # (a test checks every code point), so no replacement folds another's output again. Kana, CJK
    # ideographs and Hangul, most of the corpus's non-ASCII text, fold to themselves and are never
    # looked at one by one. 40 → 18 µs for the corpus's average non-ASCII text (613 characters).
    # surrogatepass: a lone surrogate (never from a parsed feed, but a str may hold one) is a
    # non-ASCII character like any other here, as it is for str.translate
    mapped = text.encode("utf-8", "surrogatepass").translate(_ASCII_FOLD).decode("utf-8", "surrogatepass")
    for ch, folded in changed.items():
        mapped = mapped.replace(ch, folded)
    return _collapsed(text, mapped, _FOLD.resized.intersection(changed))


def _collapsed(original: str, mapped: str, resized: Collection[str]) -> Normalised:
    """``mapped`` (``original`` folded character by character, ``resized`` the characters that
    folded to more or fewer than one) with runs of spaces collapsed."""
    if not resized and "  " not in mapped:
        return Normalised(mapped, _SAME_POSITIONS)
    return Normalised(_SPACE_RUN.sub(" ", mapped), unfolded=(original, mapped, frozenset(resized)))


_SAME_POSITIONS = OffsetMap((0,), (0,))
_NONE: frozenset[str] = frozenset()


def _resizing(text: str, resized: Collection[str]) -> OffsetMap:
    """Positions in ``text.translate(_FOLD)`` → positions in ``text``, whose characters that fold
    to more or fewer than one are ``resized`` (a handful: they are looked for, not every one)."""
    norm, orig = [0], [0]
    shift = 0
    for found in re.finditer("[" + "".join(re.escape(ch) for ch in sorted(resized)) + "]", text):
        at = found.start()
        size = len(_FOLD[ord(found.group())])
        for k in range(1, size):
            norm.append(at + shift + k)
            orig.append(at)
        norm.append(at + shift + size)
        orig.append(at + 1)
        shift += size - 1
    return OffsetMap(tuple(norm), tuple(orig))


def _collapse_map(mapped: str, before: OffsetMap | None) -> OffsetMap:
    """Positions in ``mapped`` with its runs of spaces collapsed → positions in ``mapped``, then
    through ``before`` (None: ``mapped`` has the original's positions)."""
    norm, orig = [0], [0]
    removed = 0
    for run in _SPACE_RUN.finditer(mapped):
        start, end = run.span()
        removed += end - start - 1
        norm.append(end - removed)
        orig.append(end)
    return OffsetMap(tuple(norm), tuple(orig), before)


def _normalise_by_cluster(text: str) -> Normalised:
    pieces: list[str] = []
    origin: list[int] = []
    for start, end in _clusters(text):
        for c in _fold_cluster(text[start:end]):
            if c == " " and pieces and pieces[-1] == " ":
                continue
            pieces.append(c)
            origin.append(start)
    origin.append(len(text))
    return Normalised("".join(pieces), _compress(origin))


def _fold_cluster(cluster: str) -> str:
    if len(cluster) == 1:
        return _FOLD[ord(cluster)]
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", cluster))


def _clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each character together with the combining marks that follow it."""
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if spans and unicodedata.combining(ch):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def _compress(origin: list[int]) -> OffsetMap:
    norm, orig = [0], [origin[0]]
    for p in range(1, len(origin)):
        if origin[p] != origin[p - 1] + 1:
            norm.append(p)
            orig.append(origin[p])
    return OffsetMap(tuple(norm), tuple(orig))


# --- terms ------------------------------------------------------------------------------------


def needs_left_boundary(pattern: str) -> bool:
    """A boundary is checked at an end of a term only where the term has a (non-CJK) word character."""
    return char_class(pattern[0]) == WORD


def needs_right_boundary(pattern: str, *, wildcard: bool) -> bool:
    return not wildcard and char_class(pattern[-1]) == WORD


def plural(pattern: str) -> str | None:
    """The simple English plural of the last word, or None when the term does not end in a-z."""
    last = pattern[-1]
    if not ("a" <= last <= "z"):
        return None
    if pattern.endswith(("s", "x", "z", "ch", "sh")):
        return pattern + "es"
    if last == "y" and len(pattern) > 1 and pattern[-2] in "bcdfghjklmnpqrstvwxz":
        return pattern[:-1] + "ies"
    return pattern + "s"


def variants(pattern: str, *, wildcard: bool) -> tuple[str, ...]:
    """The folded strings a term matches: itself and, unless it is a wildcard, its plural."""
    extra = None if wildcard else plural(pattern)
    return (pattern,) if extra is None else (pattern, extra)


def word_end(folded: str, position: int) -> int:
    """The end of the word that continues at ``position`` of folded text (where a wildcard hit ends)."""
    size = len(folded)
    while position < size and _CLASS[ord(folded[position])] == WORD:
        position += 1
    return position


def word_starts(classes_of_text: str) -> list[int]:
    """Where each word begins: a run of WORD characters, or a single CJK character."""
    return [m.start() for m in _WORDS.finditer(classes_of_text)]


# --- the reference scan, for evaluate_slow: the definitions above, position by position ----------


def find_term(folded: str, pattern: str, *, wildcard: bool) -> list[tuple[int, int]]:
    """(first word, last word) of every occurrence of a term in ``folded``, by trying every position."""
    starts = [i for i in range(len(folded)) if _starts_word(folded, i)]
    spans = []
    for variant in variants(pattern, wildcard=wildcard):
        at = folded.find(variant)
        while at >= 0:
            end = at + len(variant)
            if _at_boundaries(folded, at, end, variant, wildcard=wildcard):
                first = sum(1 for s in starts if s < at)
                spans.append((first, sum(1 for s in starts if s <= end - 1) - 1))
            at = folded.find(variant, at + 1)
    return spans


def _at_boundaries(folded: str, start: int, end: int, variant: str, *, wildcard: bool) -> bool:
    left_ok = not needs_left_boundary(variant) or start == 0 or char_class(folded[start - 1]) != WORD
    right_ok = (
        not needs_right_boundary(variant, wildcard=wildcard)
        or end == len(folded)
        or char_class(folded[end]) != WORD
    )
    return left_ok and right_ok


def _starts_word(folded: str, i: int) -> bool:
    kind = char_class(folded[i])
    return kind == CJK or (kind == WORD and (i == 0 or char_class(folded[i - 1]) != WORD))
