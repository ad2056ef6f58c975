"""Turns: words telling that a plan or an activity stops, is delayed or reversed, or starts.

A baseline records where things stood; an item telling of a turn is news even when it uses
nothing but the baseline's names and words otherwise ("Nissan scraps plan to export China-made
EVs"). Novelty weighs each turn the baseline does not tell of itself as a new name
(``service.baselines.novelty``). What counts, word by word:

- A *stop*, delay or reversal (``_STOP_FORMS``: scrap, shelve, delay, halt, ...; the phrases
  "call off", "scale back", "wind down", "pull out", "on hold") is a turn wherever it is written,
  "may scrap" too.
- An *end* of a plan ("drop", "end", "kill") only with a plan word in the four after it
  ("drops plan", "ends export talks"): it is mostly sales that drop and years that end.
- A *start* (start, begin, resume, "kick off", "under way"; "launch" only when exports or
  shipments follow it at once) only when it is said to happen: "Nissan begins exports", "the
  start of China EV exports", "to begin exporting next year", not "may start exporting", "plans
  to start", "starting with petrol models" (the plan itself), "the start of 2024" or "start-ups".
  A start dated to a year ("began in 2016") is history told as background.
- None of them when a trend word follows within three words: "to reverse falling sales", "a
  pause in sales growth" and "sales began to fall" tell of the market, not of the plan.

Each turn is reported by a key: its stem, or both stems of a phrase ("kick off"). A turn the
baseline tells of itself (a baseline written when exports "began") gives no weight either way.
Forms are listed as written and stemmed once (the stemmer is light: "postponed" and
"postpones" stem apart).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from service.baselines.text import CALENDAR, Sentence, Token, stem

_STOP_FORMS = """
    scrap scraps scrapped scrapping abandon abandons abandoned abandoning cancel cancels cancelled
    canceled cancelling canceling shelve shelves shelved shelving halt halts halted halting suspend
    suspends suspended suspending pause pauses paused pausing delay delays delayed delaying
    postpone postpones postponed postponing freeze freezes froze frozen axe axes axed ditch
    ditches ditched ditching withdraw withdraws withdrew withdrawn withdrawing reverse reverses
    reversed reversing rethink rethinks rethinking reconsider reconsiders reconsidered u-turn
    backtrack backtracks backtracked
"""
_END_FORMS = "drop drops dropped dropping end ends ended ending kill kills killed killing"
_START_FORMS = """
    start starts started starting begin begins began begun beginning commence commences
    commenced resume resumes resumed resuming restart restarts restarted underway
"""
_LAUNCH_FORMS = "launch launches launched launching"
_ACTIVITY_FORMS = "export exports exporting shipment shipments shipping"
# Two-word turns: the forms of the first word, the second word, and whether it is a start.
_PHRASE_FORMS: tuple[tuple[str, str, bool], ...] = (
    ("call calls called calling", "off", False),
    ("scale scales scaled scaling", "back", False),
    ("wind winds wound winding", "down", False),
    ("pull pulls pulled pulling", "out", False),
    ("on", "hold", False),
    ("kick kicks kicked kicking", "off", True),
    ("under", "way", True),
)
_PLAN_FORMS = """
    plan plans bid bids proposal proposals project projects idea ideas talks deal deals scheme
    schemes programme programmes program programs strategy strategies partnership venture
"""
# Words in the three before a start that make it a possibility or a plan, not an event.
_HEDGE_FORMS = """
    may might could would can should consider considers considering mull mulls mulling weigh
    weighs weighing eye eyes eyeing plan plans planning aim aims
"""
# Words in the three after a turn that make it a turn of the market, not of a plan.
_TREND_FORMS = """
    fall falls fell falling decline declines declined declining slump slumps slumped slumping
    slide slides slid sliding slowdown downturn growth loss losses
"""
# After "start of" / "beginning of", a time: the start is a date ("the start of 2024").
_TIME_FORMS = "year years month months quarter quarters week weeks season next this last"
_SINCE = frozenset({"in", "since"})
_YEAR = re.compile(r"(?:19|20)\d\d")


def _stems(forms: str) -> frozenset[str]:
    return frozenset(stem(form) for form in forms.split())


_STOPS = _stems(_STOP_FORMS)
_ENDS = _stems(_END_FORMS)
_STARTS = _stems(_START_FORMS)
_LAUNCHES = _stems(_LAUNCH_FORMS)
_ACTIVITIES = _stems(_ACTIVITY_FORMS)
_PHRASES: dict[tuple[str, str], bool] = {
    (stem(first), stem(second)): is_start
    for firsts, second, is_start in _PHRASE_FORMS
    for first in firsts.split()
}
_PLANS = _stems(_PLAN_FORMS)
_HEDGES = _stems(_HEDGE_FORMS)
_TRENDS = _stems(_TREND_FORMS)
_TIMES = _stems(_TIME_FORMS) | CALENDAR
_SINGLE_WORDS = _STOPS | _ENDS | _STARTS | _LAUNCHES


def _turn_words(tokens: Sequence[Token]) -> Iterator[tuple[int, int, str]]:
    """(first index, index after, key) of every turn word or phrase in ``tokens``, whether or not
    it tells of a turn there."""
    for index, token in enumerate(tokens):
        if index + 1 < len(tokens) and (token.stem, tokens[index + 1].stem) in _PHRASES:
            yield index, index + 2, f"{token.stem} {tokens[index + 1].stem}"
        elif token.stem in _SINGLE_WORDS:
            yield index, index + 1, token.stem


def turns_in(sentences: Iterable[Sentence]) -> Counter[str]:
    """The mentions of each turn of the item (see the module rules), the title's counted twice."""
    counts: Counter[str] = Counter()
    for _, tokens, weight, text in sentences:
        for first, after, key in _turn_words(tokens):
            if _is_turn(tokens, text, first, after):
                counts[key] += int(weight)
    return counts


def _is_turn(tokens: Sequence[Token], text: str, first: int, after: int) -> bool:
    """Whether the turn word or phrase at ``tokens[first:after]`` tells of a turn."""
    if any(token.stem in _TRENDS for token in tokens[after : after + 3]):
        return False
    if after - first == 2:
        is_start = _PHRASES[(tokens[first].stem, tokens[first + 1].stem)]
        return not is_start or _said_to_happen(tokens, text, first, after)
    word = tokens[first].stem
    if word in _STOPS:
        return True
    if word in _ENDS:
        return any(token.stem in _PLANS for token in tokens[after : after + 4])
    if word in _LAUNCHES and not (after < len(tokens) and tokens[after].stem in _ACTIVITIES):
        return False
    return _said_to_happen(tokens, text, first, after)


def _said_to_happen(tokens: Sequence[Token], text: str, first: int, after: int) -> bool:
    """Whether the start at ``tokens[first:after]`` is an event: no hedge or plan in the three
    words before it, not "starting with" (the first step of a plan), not a compound
    ("start-ups"), not the start of a time ("the start of 2024") and not dated to a year
    ("began in 2016", "since 2021": history told as background)."""
    if not {token.stem for token in tokens[max(0, first - 3) : first]}.isdisjoint(_HEDGES):
        return False
    if after == len(tokens):
        return True
    last, following = tokens[after - 1], tokens[after]
    if following.stem == "with" or (following.start == last.end + 1 and text[last.end] == "-"):
        return False
    if following.stem == "of":
        times = [token for token in tokens[after + 1 : after + 3] if token.stem != "the"][:1]
        return not any(token.stem.isdigit() or token.stem in _TIMES for token in times)
    if following.stem in _SINCE and after + 1 < len(tokens):
        return not _YEAR.fullmatch(tokens[after + 1].text)
    return True
