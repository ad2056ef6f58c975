"""Subject, not mention: is an item *about* a rule's subject, or does it name it in passing?

A rule may ask for a ``subject``: ``true`` (the occurrences its ``match`` found) or an
expression of its own. The rule fires only when that subject is found and at least one of its
occurrences (the hits the matcher reports) is **prominent**. The model, in order:

1. An occurrence is **in passing** when it sits in

   * a *comparison*: one of ``COMPARISON_BEFORE`` among the ``CONTEXT_WORDS`` words before it
     ("cheaper than a Tesla", "like Nissan", "BYD versus Tesla", "competition with BYD",
     "makers such as BYD", "undercuts the Tesla"; but "more than 500 BYD buses" counts them),
     or one of ``COMPARISON_PHRASES`` among the ``PHRASE_WORDS`` words before it ("half the
     price of a Tesla", "a rival to BYD"), or one of
     ``COMPARISON_AFTER`` right after it, hyphenated or not ("Tesla-killers", "the Tesla
     rival", "a Tesla-style screen");
   * a *long list*: a run of at least ``LIST_NAMES`` capitalised names joined by commas (and a
     last "and"/"or"/"&"), e.g. "Tata, MG, Mahindra, BYD and Kia".

2. The other occurrences are prominent when any of them is in the **title**; or in the
   **lead** (the first ``LEAD_WORDS`` words of the text, a CJK character counting as a word, as
   the matcher counts them, and a figure such as "418,227" or "-0.86%" as one) when no word of
   the text follows the lead (a feed summary, a trailing "..." or mark allowed); or in the lead
   of a longer text that names the subject at least ``REPEATS`` times in all (*named more than
   once*). Occurrences less than
   ``MENTION_GAP_CHARS`` apart are one mention ("Nissan Motor" is not Nissan twice; nor are the
   two sides of one NEAR). A long article that names it once, or only far from its start,
   mentions it in passing.

Touching occurrences ("Tesla Model 3") are one name, judged once from where it starts: "the
price of a Tesla Model 3" is a yardstick for both terms.

Everything here is a pure function of the item's title, text and the hits (offsets into the
original title and text), so ``rules test`` and the service decide alike and the dry run can
say which case applied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.matching.compile import TermHit
from service.matching.text import CJK_CHARACTER

LEAD_WORDS = 40
REPEATS = 2
CONTEXT_WORDS = 2
LIST_NAMES = 4
MENTION_GAP_CHARS = 50
ADJACENT_CHARS = 1
LIST_REACH_CHARS = 200
"""How far back a list is followed: names are short, and a long text is not re-scanned per hit."""
COMPARISON_BEFORE = frozenset(
    {
        "than", "like", "unlike", "versus", "vs", "compared", "comparable", "follows", "beat", "beats",
        "beating", "outsell", "outsells", "outsold", "overtake", "overtakes", "overtook", "match",
        "matches", "matching", "trail", "trails", "trailing", "undercut", "undercuts", "competition",
        "competing", "compete", "competes", "such",
    }
)  # fmt: skip
COMPARISON_PHRASES = ("price of", "cost of", "rival to", "alternative to", "answer to", "take on")
"""Yardsticks a few words before the name: "half the price of a Tesla", "an answer to the BYD"."""
PHRASE_WORDS = 4
QUANTITY = frozenset({"more", "less", "fewer", "rather"})
"""Before "than", these make a count or a preference, not a comparison with the name."""
COMPARISON_AFTER = frozenset(
    {
        "killer", "killers", "rival", "fighter", "fighters", "beater", "beaters", "challenger",
        "challengers", "lookalike", "lookalikes", "style", "esque", "clone", "clones",
    }
)  # fmt: skip
_WORD = re.compile(rf"{CJK_CHARACTER}|(?:(?!{CJK_CHARACTER})\w)+")
"""A word, as the matcher counts them: a run of letters and digits, or one CJK character."""
_CJK = re.compile(CJK_CHARACTER)
_PLAIN_WORD = re.compile(r"\w+")
"""``_WORD`` in text without CJK characters: the same words in less than half the time (``_WORD``
looks ahead at every character); judging whether an item is about a subject looked for words
around each occurrence and for the lead, ~10 % of judging a matched item."""
_FIGURE_TAIL = r"(?:[.,:]\d++)*+"
"""The rest of a figure, so that "418,227", "$485.56" and "03:06" are one word of the lead each: a
feed summary of a few figures counted each one twice and read as the start of a long article."""
_PLAIN_LEAD = re.compile(rf"(?:\W*+\w++{_FIGURE_TAIL}){{{LEAD_WORDS}}}")
"""The first ``LEAD_WORDS`` plain words (possessive: no backtracking when there are fewer)."""
_LEAD_WORD = re.compile(rf"{CJK_CHARACTER}|(?:(?!{CJK_CHARACTER})\w)+{_FIGURE_TAIL}")
"""A word of the lead in text with CJK characters: ``_WORD``, a figure as one word."""
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
    named = joined(hits, gap_chars=ADJACENT_CHARS)  # "Tesla Model 3" is one name, judged once
    standing = [m for m in named if not _in_passing(m, title if m.field == "title" else text)]
    passing = len(named) - len(standing)
    aside = f" ({passing} in passing)" if passing else ""
    if not standing:
        return Prominence(False, f"named only in passing (comparison or list){aside}")
    in_title = [m for m in standing if m.field == "title"]
    if in_title:
        return Prominence(True, f"{in_title[0].term} in the title{aside}")
    lead_end = lead_end_offset(text)
    in_lead = [m for m in standing if m.start < lead_end]
    times = mentions(standing)
    if in_lead and _word_after(text, lead_end) is None:
        return Prominence(True, f"{in_lead[0].term} in the summary{aside}")
    if in_lead and times >= REPEATS:
        return Prominence(True, f"{in_lead[0].term} in the lead and named {times} times{aside}")
    count = "once" if times == 1 else f"{times} times"
    where = "in the lead only" if in_lead else "outside the title and lead"
    return Prominence(False, f"named {count}, {where}{aside}")


def mentions(hits: Sequence[TermHit]) -> int:
    """Occurrences in one field less than ``MENTION_GAP_CHARS`` apart are one mention: an alias
    inside its name ("Nissan Motor"), or the two sides of a NEAR ("Musk … car")."""
    return len(joined(hits, gap_chars=MENTION_GAP_CHARS))


def joined(hits: Sequence[TermHit], *, gap_chars: int) -> list[TermHit]:
    """Hits of one field at most ``gap_chars`` apart (or overlapping) as one, named by the first."""
    out: list[TermHit] = []
    for hit in sorted(hits, key=lambda h: (h.field, h.start)):
        last = out[-1] if out else None
        if last is not None and last.field == hit.field and hit.start <= last.end + gap_chars:
            out[-1] = last._replace(end=max(last.end, hit.end))
        else:
            out.append(hit)
    return out


def lead_end_offset(text: str) -> int:
    """Where the lead ends: after the ``LEAD_WORDS``-th word of the text (or at its end). A figure
    ("418,227", "-0.86%") is one word; CJK characters are a word each."""
    plain = _PLAIN_LEAD.match(text)
    if _CJK.search(text, 0, plain.end() if plain else len(text)) is None:
        return plain.end() if plain else len(text)
    for count, word in enumerate(_LEAD_WORD.finditer(text), start=1):
        if count == LEAD_WORDS:
            return word.end()
    return len(text)


def _word_after(text: str, offset: int) -> re.Match[str] | None:
    """The first word at or after ``offset``: none after the lead makes the text a summary (a
    closing "..." or link arrow is no more text)."""
    return _PLAIN_WORD.search(text, offset)


def _in_passing(hit: TermHit, field: str) -> bool:
    return _in_comparison(hit, field) or _in_list(hit, field)


def _in_comparison(hit: TermHit, field: str) -> bool:
    before = field[max(0, hit.start - 80) : hit.start]
    words = [w.casefold() for w in _words_of(before).findall(before)]
    for n in range(max(0, len(words) - CONTEXT_WORDS), len(words)):
        # "more than 500 BYD buses" counts; "cheaper than a Tesla" compares.
        counting = words[n] == "than" and n > 0 and words[n - 1] in QUANTITY
        if words[n] in COMPARISON_BEFORE and not counting:
            return True
    near = " ".join(words[-PHRASE_WORDS:])
    if any(phrase in near for phrase in COMPARISON_PHRASES):
        return True
    after = _NEXT_WORD.match(field, hit.end)
    return after is not None and after.group(1).casefold() in COMPARISON_AFTER


def _words_of(text: str) -> re.Pattern[str]:
    return _PLAIN_WORD if _CJK.search(text) is None else _WORD


def _in_list(hit: TermHit, field: str) -> bool:
    """At least ``LIST_NAMES`` capitalised names in a row, joined by commas, with the hit one of them."""
    before, comma_before = _names_before(field[max(0, hit.start - LIST_REACH_CHARS) : hit.start])
    after, comma_after = _names_after(field, hit.end)
    return (comma_before or comma_after) and 1 + before + after >= LIST_NAMES


def _names_before(head: str) -> tuple[int, bool]:
    count, comma = 0, False
    while count < LIST_NAMES and _may_end_with_joiner(head) and (joiner := _JOINER_AT_END.search(head)):
        name = _NAME_AT_END.search(head, 0, joiner.start())
        if name is None:
            break
        comma |= "," in joiner.group(0)
        head, count = head[: name.start()], count + 1
    return count, comma


def _may_end_with_joiner(head: str) -> bool:
    """False when ``head`` cannot end with a joiner: what precedes its trailing space is no comma,
    "and", "or" or "&". Most names follow a plain word, and the search for a joiner at the end
    of the ``LIST_REACH_CHARS`` before each occurrence tries every position of them."""
    return head[-1:].isspace() and head.rstrip().endswith((",", "and", "or", "&"))


def _names_after(field: str, offset: int) -> tuple[int, bool]:
    count, comma = 0, False
    while count < LIST_NAMES and (joiner := _JOINER.match(field, offset)) is not None:
        name = _NAME.match(field, joiner.end())
        if name is None:
            break
        comma |= "," in joiner.group(0)
        offset, count = name.end(), count + 1
    return count, comma
