"""Feed footers that are not the article: removed from the end of an item's text.

Publishing tools append the same lines to every entry — WordPress's "The post <title>
appeared first on <site>.", "Continue reading →", "Read more of this story at Slashdot.",
a trailing "[…]". Kept, they repeat in snippets and digests and their names ("TESLARATI")
pass for new terms. Only the end of the text is looked at (the last ``TAIL_CHARS``), so the
cost does not grow with the article, and a footer is removed only when it ends the text.
"""

from __future__ import annotations

import re

TAIL_CHARS = 600

_FOOTERS = (
    (
        "appeared ",
        re.compile(r"\s*The post .{1,300}? appeared (?:first|originally) on .{1,100}?\.?\s*$", re.IGNORECASE),
    ),
    ("]", re.compile(r"\s*\[(?:…|\.\.\.)\]\s*$")),
    (
        "read",
        re.compile(
            r"\s*(?:Continue reading|Read more|Read the full (?:story|article))(?: of this story)?"
            r"(?: at [\w .]{1,40})?\s*(?:…|\.\.\.|→|»|\.)?\s*$",
            re.IGNORECASE,
        ),
    ),
)
"""Each footer with a word it cannot be without (lower case): a pattern anchored at the end is
tried from every position of the tail, so a tail without that word skips it (most items have
no footer; the three searches were about a third of normalising an item)."""


def without_footers(text: str) -> str:
    """``text`` without the boilerplate lines that end it (see the module docstring)."""
    head, tail = text[:-TAIL_CHARS], text[-TAIL_CHARS:]
    changed = True
    while changed and tail:
        changed = False
        lowered = tail.lower()
        for cue, footer in _FOOTERS:
            if cue not in lowered:
                continue
            stripped = footer.sub("", tail, count=1)
            if stripped != tail:
                tail, changed = stripped, True
                lowered = tail.lower()
    return head + tail
