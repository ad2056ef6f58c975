"""Turns: words telling that a plan or an activity stops, is delayed or reversed, or starts.

A baseline records where things stood; an item telling of a turn is news even when it uses
nothing but the baseline's names and words otherwise ("Nissan scraps plan to export China-made
EVs"). Novelty weighs each turn the baseline does not tell of itself as a new name, and a new
turn in the title keeps the item above the usual threshold (``service.baselines.novelty``).

What counts, word by word (each kind's forms are listed below; a turn is one of its words or
phrases):

- A *stop*, delay or reversal (scrap, shelve, delay, halt, ...; "call off", "scale back", "on
  hold", "rule out", "put off", "pull the plug", "U-turn") is a turn wherever it is written,
  "may scrap" too. "Pull out" only with "of" after it ("pulls out of Russia", not "pull out all
  the stops"); "push back", "hold off" and "back away" not against something ("pushes back
  against tariffs").
- An *end* (stop, end, drop, kill, cease, exit) only with its *object*, a plan or an activity
  (exports, shipments, production, sales...), in the words after it: "drops plan", "ends
  exports", "stops shipments"; not "sales dropped", "exports drop 15% below plan" (a figure
  makes it a movement), "high-end", "year-end", "the end of" or "all the stops".
- A *start* (start, begin, resume, "kick off", "ship first") only when it is said to happen:
  "Nissan begins exports", "the start of China EV exports", "to begin exporting next year", not
  "may start exporting", "plans to start", "weighs an option to start", "begins weighing",
  "starting with petrol models" or "starting from 2024" (the plan itself), "begins a review
  of exports" (a study of it), "the start of 2024", "kicks off the year" or "start-ups". A
  past start dated to a year ("began in 2016", "started back in mid-2021") is history told as
  background. "Launch" and "roll out" are starts only with an activity as
  their object ("launches China EV exports", not "launches its first NEV"); "under way" only
  with an activity before it and no study ("exports get under way", not "talks under way" or
  "review of exports under way").
- None of them when its object is a trend: "to reverse falling sales", "a pause in sales
  growth", "sales began to fall" tell of the market, not of a plan. Causes do not count as the
  object: "scrapped amid falling sales" is a turn.
- None in a clause of background (``as``, ``while``, ``since``, ``amid``... in the three words
  before it): "Nissan weighs exports as rivals pull out of China" tells of Nissan weighing.

The object is read in the four words after the turn, up to a word that ends it (``amid``,
``as``, ``after``, ``and``...). Each turn is reported by a key, its first written form ("scrap",
"kick off"), so every form of one turn is one key. A turn the baseline tells of itself in its
title or summary gives no weight either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from service.baselines.text import CALENDAR, Sentence, Token, stem


class Kind(Enum):
    STOP = "stop"  # a turn wherever it is written
    END = "end"  # a turn with a plan or an activity as its object
    START = "start"  # a turn when said to happen
    LAUNCH = "launch"  # a start with an activity as its object
    UNDER_WAY = "under way"  # a start with an activity before it


# Each row: the written forms of one turn (a phrase's words separated by "+"), its kind.
_FORMS: tuple[tuple[str, Kind], ...] = (
    ("scrap scraps scrapped scrapping", Kind.STOP),
    ("abandon abandons abandoned abandoning", Kind.STOP),
    ("cancel cancels cancelled canceled cancelling canceling", Kind.STOP),
    ("shelve shelves shelved shelving", Kind.STOP),
    ("halt halts halted halting", Kind.STOP),
    ("suspend suspends suspended suspending", Kind.STOP),
    ("pause pauses paused pausing", Kind.STOP),
    ("delay delays delayed delaying", Kind.STOP),
    ("postpone postpones postponed postponing", Kind.STOP),
    ("freeze freezes froze frozen", Kind.STOP),
    ("axe axes axed", Kind.STOP),
    ("ditch ditches ditched ditching", Kind.STOP),
    ("withdraw withdraws withdrew withdrawn withdrawing", Kind.STOP),
    ("reverse reverses reversed reversing", Kind.STOP),
    ("rethink rethinks rethinking", Kind.STOP),
    ("reconsider reconsiders reconsidered reconsidering", Kind.STOP),
    ("backtrack backtracks backtracked backtracking", Kind.STOP),
    ("u+turn", Kind.STOP),
    ("call+off calls+off called+off calling+off", Kind.STOP),
    ("scale+back scales+back scaled+back scaling+back", Kind.STOP),
    ("wind+down winds+down wound+down winding+down", Kind.STOP),
    ("pull+out pulls+out pulled+out pulling+out", Kind.STOP),
    ("on+hold", Kind.STOP),
    ("rule+out rules+out ruled+out ruling+out", Kind.STOP),
    ("push+back pushes+back pushed+back pushing+back", Kind.STOP),
    ("put+off puts+off putting+off", Kind.STOP),
    ("hold+off holds+off held+off holding+off", Kind.STOP),
    ("back+away backs+away backed+away backing+away", Kind.STOP),
    ("pull+the+plug pulls+the+plug pulled+the+plug pulling+the+plug", Kind.STOP),
    ("stop stops stopped stopping", Kind.END),
    ("end ends ended ending", Kind.END),
    ("drop drops dropped dropping", Kind.END),
    ("kill kills killed killing", Kind.END),
    ("cease ceases ceased ceasing", Kind.END),
    ("exit exits exited exiting", Kind.END),
    ("start starts started starting", Kind.START),
    ("begin begins began begun beginning", Kind.START),
    ("commence commences commenced commencing", Kind.START),
    ("resume resumes resumed resuming", Kind.START),
    ("restart restarts restarted restarting", Kind.START),
    ("kick+off kicks+off kicked+off kicking+off", Kind.START),
    ("ship+first ships+first shipped+first", Kind.START),
    ("launch launches launched launching", Kind.LAUNCH),
    ("roll+out rolls+out rolled+out rolling+out", Kind.LAUNCH),
    ("underway under+way", Kind.UNDER_WAY),
)
_PAST_STARTS = "started began begun commenced"
# What an end, a launch or "under way" must be about, and what a turn must not be about.
_PLAN_FORMS = """
    plan plans bid bids proposal proposals project projects idea ideas talks deal deals scheme
    schemes programme programmes program programs strategy strategies partnership venture
"""
_ACTIVITY_FORMS = """
    export exports exporting shipment shipments shipping production output sales selling
    deliveries delivery operations operation manufacturing assembly imports importing
"""
_TREND_FORMS = """
    fall falls fell falling decline declines declined declining slump slumps slumped slumping
    slide slides slid sliding slowdown downturn growth loss losses
"""
# Words that end the object of a turn: what follows them is a cause, a time or another clause.
_OBJECT_END_FORMS = """
    amid over as after and while but because since when though although whereas due citing on
    despite with following until before by
"""
# Words in the three before a start, or right after it, that make it a possibility, a plan or
# a study, not an event.
_HEDGE_FORMS = """
    may might could would can should consider considers considering considered mull mulls mulling
    weigh weighs weighing eye eyes eyeing plan plans planning aim aims contemplate contemplates
    contemplating explore explores exploring study studies studying want wants look looks
    looking expect expects expected option options possible potential likely
"""
# Words that make a start a study of the plan: "begins a review of exports", "talks under way".
_STUDY_FORMS = """
    review reviews study studies talks discussion discussions probe investigation research work
    feasibility assessment evaluation consultation consultations
"""
# Stops that are turns only with "of" after them, or not against something.
_NEEDS_OF = frozenset({"pull out"})
_NOT_AGAINST = frozenset({"push back", "hold off", "back away", "put off"})
# Words that start a clause of background, and determiners (an end after one is a noun).
_CLAUSE_START_FORMS = "as while because since amid although though whereas"
_DETERMINER_FORMS = "the a an all"
_DATE_LEAD_FORMS = "back in since early mid late"
_TIME_NOUN_FORMS = "year years month months quarter quarters week weeks season day days"


def _stems(forms: str) -> frozenset[str]:
    return frozenset(stem(form) for form in forms.split())


@dataclass(frozen=True, slots=True)
class _Turn:
    key: str
    kind: Kind


def _phrase_table() -> dict[tuple[str, ...], _Turn]:
    table: dict[tuple[str, ...], _Turn] = {}
    for forms, kind in _FORMS:
        written = forms.split()
        key = written[0].replace("+", " ")
        for form in written:
            table[tuple(stem(word) for word in form.split("+"))] = _Turn(key, kind)
    return table


_PHRASES = _phrase_table()
_LONGEST = max(len(words) for words in _PHRASES)
_PAST = frozenset(_PAST_STARTS.split())  # compared as written: the stemmer makes "started" "start"
_PLANS_OR_ACTIVITIES = _stems(_PLAN_FORMS) | _stems(_ACTIVITY_FORMS)
_ACTIVITIES = _stems(_ACTIVITY_FORMS)
_TRENDS = _stems(_TREND_FORMS)
_OBJECT_ENDS = _stems(_OBJECT_END_FORMS)
_HEDGES = _stems(_HEDGE_FORMS)
_STUDIES = _stems(_STUDY_FORMS)
_CLAUSE_STARTS = _stems(_CLAUSE_START_FORMS)
_DETERMINERS = _stems(_DETERMINER_FORMS)
_DATE_LEADS = _stems(_DATE_LEAD_FORMS)
_TIME_NOUNS = _stems(_TIME_NOUN_FORMS)
_TIMES = _TIME_NOUNS | _stems("next this last") | CALENDAR
_MONTH_BEFORE = _DATE_LEADS | _stems("by from until of")
_OBJECT_WORDS = 4


def turns_in(sentences: Iterable[Sentence]) -> Counter[str]:
    """The mentions of each turn (by key) of the sentences, each sentence counted by its weight
    (the title's twice; see the module rules)."""
    counts: Counter[str] = Counter()
    for _, tokens, weight, text in sentences:
        for first, after, turn in _candidates(tokens):
            if _is_turn(tokens, text, first, after, turn):
                counts[turn.key] += int(weight)
    return counts


def turn_key(word_stem: str) -> str | None:
    """The key of the one-word turn written with this stem, if it is one."""
    turn = _PHRASES.get((word_stem,))
    return turn.key if turn else None


def _candidates(tokens: Sequence[Token]) -> Iterator[tuple[int, int, _Turn]]:
    """(first index, index after, turn) of every turn word or phrase, whether or not it tells of
    a turn where it stands; the longest phrase at a position wins."""
    index = 0
    while index < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - index), 0, -1):
            turn = _PHRASES.get(tuple(token.stem for token in tokens[index : index + size]))
            if turn is not None:
                yield index, index + size, turn
                index += size
                break
        else:
            index += 1


def _is_turn(tokens: Sequence[Token], text: str, first: int, after: int, turn: _Turn) -> bool:
    """Whether the turn word or phrase at ``tokens[first:after]`` tells of a turn."""
    if any(token.stem in _CLAUSE_STARTS for token in tokens[max(0, first - 3) : first]):
        return False  # the background of the news: "weighs exports as rivals pull out of China"
    obj = _object(tokens, after)
    if any(token.stem in _TRENDS for token in obj):
        return False
    following = tokens[after].stem if after < len(tokens) else ""
    match turn.kind:
        case Kind.STOP:
            if turn.key in _NEEDS_OF:
                return following == "of"
            return turn.key not in _NOT_AGAINST or following != "against"
        case Kind.END:
            if first > 0 and (
                tokens[first - 1].stem in _DETERMINERS or _glued(tokens[first - 1], tokens[first], text)
            ):
                return False  # a noun ("the end", "all the stops") or a compound ("high-end")
            if following == "of" or any(token.stem[:1].isdigit() for token in obj):
                return False  # "the end of", "exports drop 15% below plan": a movement
            return any(token.stem in _PLANS_OR_ACTIVITIES for token in obj)
        case Kind.LAUNCH:
            if not any(token.stem in _ACTIVITIES for token in obj):
                return False
        case Kind.UNDER_WAY:
            subject = tokens[max(0, first - 2 * _OBJECT_WORDS) : first]
            near = subject[-_OBJECT_WORDS - 1 :]
            if not any(t.stem in _ACTIVITIES for t in near) or any(t.stem in _STUDIES for t in subject):
                return False
        case Kind.START:
            pass
    return not any(token.stem in _STUDIES for token in obj) and _said_to_happen(tokens, text, first, after)


def _object(tokens: Sequence[Token], after: int) -> Sequence[Token]:
    """The words a turn acts on: up to four after it, ending before a cause, a time or a clause."""
    window = tokens[after : after + _OBJECT_WORDS]
    for index, token in enumerate(window):
        if token.stem in _OBJECT_ENDS or token.stem in _TIMES:
            return window[:index]
    return window


def _said_to_happen(tokens: Sequence[Token], text: str, first: int, after: int) -> bool:
    """Whether the start at ``tokens[first:after]`` is an event (see the module rules)."""
    if any(_is_hedge(tokens, index) for index in range(max(0, first - 3), first)):
        return False
    if after == len(tokens):
        return True
    last, following = tokens[after - 1], tokens[after]
    if following.stem in _HEDGES or following.stem == "with" or _glued(last, following, text):
        return False
    if following.stem == "from" and last.text.lower().endswith("ing"):  # "starting from 2024"
        return False
    if following.stem in ("of", "the"):  # "the start of 2024", "the beginning of May", "kicks off the year"
        times = _TIMES if following.stem == "of" else _TIME_NOUNS
        nxt = [token for token in tokens[after + 1 : after + 3] if token.stem != "the"][:1]
        if any(token.stem.isdigit() or token.stem in times for token in nxt):
            return False
    return not (tokens[first].text.lower() in _PAST and _dated(tokens[after : after + 5]))


def _is_hedge(tokens: Sequence[Token], index: int) -> bool:
    """A hedge word, but not the month May ("in May", "May 2024")."""
    token = tokens[index]
    if token.stem not in _HEDGES:
        return False
    if token.stem != "may":
        return True
    month = (index > 0 and tokens[index - 1].stem in _MONTH_BEFORE) or (
        index + 1 < len(tokens) and tokens[index + 1].stem.isdigit()
    )
    return not month


def _dated(following: Sequence[Token]) -> bool:
    """Whether the words after a past start date it to a year: "in 2016", "back in mid-2021",
    "since May 2019"."""
    index = 0
    while index < len(following) and (
        following[index].stem in _DATE_LEADS or following[index].stem in CALENDAR
    ):
        index += 1
    return 0 < index < len(following) and _is_year(following[index])


def _is_year(token: Token) -> bool:
    return len(token.text) == 4 and token.text.isdigit() and token.text[:2] in ("19", "20")


def _glued(before: Token, token: Token, text: str) -> bool:
    """Whether two words are joined by a hyphen ("high-end", "start-ups")."""
    return token.start == before.end + 1 and text[before.end] == "-"
