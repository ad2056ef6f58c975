"""Feed footers that are not the article, and markup left as text: removed from an item.

Publishing tools append the same lines to every entry — WordPress's "The post <title>
appeared first on <site>.", "Continue reading →", "Read more of this story at Slashdot.",
a trailing "[…]". Kept, they repeat in snippets and digests and their names ("TESLARATI")
pass for new terms. Only the end of the text is looked at (the last ``TAIL_CHARS``), so the
cost does not grow with the article, and a footer is removed only when it ends the text.

Some feeds write Markdown into their text (a daily digest's "**Tesla Q4 deliveries drop 16%**",
"### Top 10 News Items", rules of "━━━━"): shown as written, the marks clutter snippets, Slack
and email. In a text with bold marks around words (stars no letter touches from outside: not
"x**2", "f**k" or "**kwargs"), they, heading marks and rules drawn with three or more of one line
character (heavy, light or double) are removed (``without_marks``); a text without such bold
keeps its "#" ("# a comment", "The # of EVs"), and "#1", "#EV" and "C#" stay in any text.
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


_RULES = ("━━━", "───", "═══")
"""The rules feeds draw (heavy, light, double): three substring tests, where a search of the box
drawing block cost 11 ns a character."""
_BOLD = re.compile(r"(?<![A-Za-z0-9*])\*\*(?=\S)([^*]{1,500}?)(?<=\S)\*\*(?![A-Za-z0-9*])")
"""Stars that no Latin letter or digit touches from outside ("x**2", "f**k" and "g(**kwargs)" are
no bold); Chinese is written without spaces, so its bold touches its words ("**特斯拉**销量")."""
_HEADING = re.compile(r"#{1,6}(?=\s)")
"""Starting with its literal, so that the engine skips to each "#" (a look-behind first made it
try every position: 12 ms a pass over the corpus's texts that hold a "#")."""
_DRAWN = re.compile(r"([━─═])\1\1+")


def without_marks(text: str) -> str:
    """``text`` without Markdown's bold and heading marks and drawn rules (module docstring)."""
    # Most texts hold no mark: two substring tests decide in C (one regular expression for all the
    # marks took 20 µs an item on the real corpus, half the cost of normalising it). Rules are
    # looked for only in texts written in Markdown: looking in every non-ASCII text cost 1.4 µs an
    # item, for rules that come with the other marks.
    if "**" not in text:
        return text
    unmarked = _BOLD.sub(r"\1", text)
    if unmarked == text:
        return text  # stars of arithmetic or code, not Markdown
    # Only a text shown to be Markdown by its bold loses its heading marks and drawn rules: in
    # code, "#" starts a comment, and "The # of EVs" counts them.
    if "#" in unmarked:
        unmarked = _HEADING.sub(_heading_mark, unmarked)
    if not unmarked.isascii() and any(rule in unmarked for rule in _RULES):
        unmarked = _DRAWN.sub(" ", unmarked)
    return " ".join(unmarked.split())


def _heading_mark(mark: re.Match[str]) -> str:
    """Nothing for a heading's mark (at the start or after a space), the mark itself otherwise
    ("C# and F#")."""
    start = mark.start()
    return "" if start == 0 or mark.string[start - 1].isspace() else mark.group()
