"""Subject, not mention: is an item *about* a rule's subject, or does it name it in passing?

A rule may give a ``subject`` expression besides ``match``. The rule fires only when the
subject expression holds on the item and at least one of its occurrences (the hits the matcher
reports for it) is **prominent**. The model, in order:

1. An occurrence is **in passing** when it sits in

   * a *comparison*: one of ``COMPARISON_BEFORE`` among the ``CONTEXT_WORDS`` words before it
     ("cheaper than a Tesla", "like Nissan", "BYD versus Tesla", "competition with BYD",
     "makers such as BYD"), or one of
     ``COMPARISON_AFTER`` right after it, hyphenated or not ("Tesla-killers", "the Tesla
     rival", "a Tesla-style screen");
   * a *list*: a run of at least ``LIST_NAMES`` capitalised names joined by commas (and a last
     "and"/"or"/"&"), e.g. "Tata, MG, Mahindra, BYD and Kia".

2. The other occurrences are prominent when any of them is in the **title**; or in the
   **lead** (the first ``LEAD_WORDS`` words of the text) when the text is no longer than the
   lead (a feed summary); or in the lead of a longer text that names the subject at least
   ``REPEATS`` times in all (*named more than once*). A long article that names it once, or
   only far from its start, mentions it in passing.

Everything here is a pure function of the item's title, text and the hits (offsets into the
original title and text), so ``rules test`` and the service decide alike and the dry run can
say which case applied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.matching.compile import TermHit

LEAD_WORDS = 40
REPEATS = 2
CONTEXT_WORDS = 2
LIST_NAMES = 3
LIST_REACH_CHARS = 200
"""How far back a list is followed: names are short, and a long text is not re-scanned per hit."""
COMPARISON_BEFORE = frozenset(
    {
        "than", "like", "unlike", "versus", "vs", "compared", "comparable", "follows", "beat", "beats",
        "beating", "outsell", "outsells", "outsold", "overtake", "overtakes", "overtook", "match",
        "matches", "matching", "trail", "trails", "trailing", "competition", "competing", "compete",
        "competes", "such",
    }
)  # fmt: skip
COMPARISON_AFTER = frozenset(
    {
        "killer", "killers", "rival", "rivals", "fighter", "fighters", "beater", "beaters", "challenger",
        "challengers", "lookalike", "lookalikes", "style", "esque", "clone", "clones",
    }
)  # fmt: skip
_WORD = re.compile(r"\w+", re.UNICODE)
_NEXT_WORD = re.compile(r"[\s\-‐‑–—]*(\w+)")
_NAME_TEXT = r"[A-Z0-9][\w.'’-]*(?:\s+[A-Z0-9][\w.'’-]*){0,2}"
_JOINER_TEXT = r"(?:,|,?\s+(?:and|or|&))\s+"
_NAME = re.compile(_NAME_TEXT)
_NAME_AT_END = re.compile(_NAME_TEXT + "$")
_JOINER = re.compile(r"\s*" + _JOINER_TEXT)
_JOINER_AT_END = re.compile(_JOINER_TEXT + "$")


@dataclass(frozen=True, slots=True)
class Prominence:
    """Whether the subject is prominent, and why, in words ``rules test`` can show."""

    prominent: bool
    why: str


def judge_prominence(hits: Sequence[TermHit], *, title: str, text: str) -> Prominence:
    standing = [hit for hit in hits if not _in_passing(hit, title if hit.field == "title" else text)]
    passing = len(hits) - len(standing)
    aside = f" ({passing} in passing)" if passing else ""
    if not standing:
        return Prominence(False, f"named only in passing (comparison or list){aside}")
    named = standing[0].term
    if any(hit.field == "title" for hit in standing):
        return Prominence(True, f"{named} in the title{aside}")
    lead_end = lead_end_offset(text)
    in_lead = any(hit.field == "text" and hit.start < lead_end for hit in standing)
    if in_lead and lead_end >= len(text):
        return Prominence(True, f"{named} in the summary{aside}")
    if in_lead and len(standing) >= REPEATS:
        return Prominence(True, f"{named} in the lead and named {len(standing)} times{aside}")
    times = "once" if len(standing) == 1 else f"{len(standing)} times"
    where = "in the lead only" if in_lead else "outside the title and lead"
    return Prominence(False, f"named {times}, {where}{aside}")


def lead_end_offset(text: str) -> int:
    """Where the lead ends: after the ``LEAD_WORDS``-th word of the text (or at its end)."""
    if LEAD_WORDS <= 0:
        return 0
    for count, word in enumerate(_WORD.finditer(text), start=1):
        if count == LEAD_WORDS:
            return word.end()
    return len(text)


def _in_passing(hit: TermHit, field: str) -> bool:
    return _in_comparison(hit, field) or _in_list(hit, field)


def _in_comparison(hit: TermHit, field: str) -> bool:
    before = _WORD.findall(field[max(0, hit.start - 80) : hit.start])[-CONTEXT_WORDS:]
    if any(word.casefold() in COMPARISON_BEFORE for word in before):
        return True
    after = _NEXT_WORD.match(field, hit.end)
    return after is not None and after.group(1).casefold() in COMPARISON_AFTER


def _in_list(hit: TermHit, field: str) -> bool:
    """At least ``LIST_NAMES`` capitalised names in a row, joined by commas, with the hit one of them."""
    before, comma_before = _names_before(field[max(0, hit.start - LIST_REACH_CHARS) : hit.start])
    after, comma_after = _names_after(field, hit.end)
    return (comma_before or comma_after) and 1 + before + after >= LIST_NAMES


def _names_before(head: str) -> tuple[int, bool]:
    count, comma = 0, False
    while count < LIST_NAMES and (joiner := _JOINER_AT_END.search(head)) is not None:
        name = _NAME_AT_END.search(head, 0, joiner.start())
        if name is None:
            break
        comma |= "," in joiner.group(0)
        head, count = head[: name.start()], count + 1
    return count, comma


def _names_after(field: str, offset: int) -> tuple[int, bool]:
    count, comma = 0, False
    while count < LIST_NAMES and (joiner := _JOINER.match(field, offset)) is not None:
        name = _NAME.match(field, joiner.end())
        if name is None:
            break
        comma |= "," in joiner.group(0)
        offset, count = name.end(), count + 1
    return count, comma
