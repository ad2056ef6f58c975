"""One rule for turning a name into part of a file name or an id: its letters and digits in
lower case, each run of them a word, the words joined by ``-`` ("BYD Auto (EN)" → ``byd-auto-en``).
Letters outside a-z are dropped, so a slug is safe in a path and a URL as it stands."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")


def slug(text: str, *, default: str, max_chars: int | None = None) -> str:
    """``text`` as a slug, cut to ``max_chars`` at most (never ending in ``-``); ``default`` when
    nothing of it is left."""
    joined = "-".join(_WORD.findall(text.lower()))
    if max_chars is not None:
        joined = joined[:max_chars].rstrip("-")
    return joined or default
