"""feedparser's own repairs of links, ids and text, reproduced for the fast path.

An item must keep its key whichever parse path reads it, so the fast path applies exactly
the repairs feedparser applies (pure functions, no I/O):

- ``xml:base`` is folded from the root down the way feedparser folds it
  (``make_safe_absolute_uri``), and links and ids are joined with the base in effect after
  feedparser's removal of extra slashes after the scheme; a join that fails yields "".
- ``&amp;`` left in link text (double-escaped query strings) is unescaped once.
- Text that is UTF-8 read as Latin-1 is decoded again; C1 controls (Windows-1252 bytes
  labelled Latin-1) become the characters meant.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from feedparser.urls import make_safe_absolute_uri

_EXTRA_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_NAMED_REFERENCE = re.compile(r"&([A-Za-z0-9_]+);")
# Windows-1252 text mislabelled as Latin-1 shows up as C1 controls; feedparser maps them back.
_C1_CONTROL = re.compile("[\x80-\x9f]")
_C1_AS_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def fold_base(current: str, declared: str | None) -> str:
    """xml:base in effect after an element, folded the way feedparser folds it."""
    if not declared:
        return current
    if current:
        return str(make_safe_absolute_uri(current, declared) or current)
    return declared


def resolve(base: str, uri: str) -> str:
    """feedparser's join of a link or id with the base in effect (any scheme kept)."""
    if not base:
        return uri
    try:
        return urljoin(base, _EXTRA_SLASHES.sub(r"\1\3", uri))
    except ValueError:
        return ""


def fix_link(link: str) -> str:
    """feedparser's repair of ``&amp;`` left in link text (double-escaped query strings)."""
    if "&" not in link:
        return link
    return _NAMED_REFERENCE.sub(r"&\g<1>", link.replace("&amp;", "&"))


def repair(text: str, *, c1_possible: bool) -> str:
    """feedparser's two text repairs, applied so both paths yield the same strings.

    The C1 scan is skipped for long text of documents where such bytes cannot come from a
    mislabel (cleaning drops them anyway).
    """
    if text.isascii():
        return text
    text = _redecoded_utf8(text)
    if c1_possible and _C1_CONTROL.search(text):
        text = text.translate(_C1_AS_CP1252)
    return text


def _redecoded_utf8(text: str) -> str:
    """Text whose characters are all Latin-1 and form valid UTF-8 was UTF-8 read as Latin-1."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        return text
