"""Turns: words telling that a plan or an activity stops, is delayed or reversed, or starts.

A baseline records where things stood; an item telling of a turn is news even when it uses
nothing but the baseline's names and words otherwise ("Nissan scraps plan to export China-made
EVs"). Novelty weighs each turn the baseline does not tell of itself as a new name, and a new
turn in the title keeps the item above the usual threshold (``service.baselines.novelty``).

Each turn belongs to a *family*, its key: ``start`` (start, begin, commence, kick off, launch,
roll out, go ahead, under way, ships or sends its first, decides to export, approves exports),
``resume`` (and the end of a halt, freeze or
pause), ``stop`` (halt, suspend, pause, stop, cease, freeze, put the brakes on, on ice),
``delay`` (delay, postpone, defer, set aside, back burner, push back, put off, hold off, on
hold), ``scrap`` (scrap, abandon, cancel, shelve, mothball, axe, ditch, nix, kill, drop, end,
call off, rule out, decide against, fall through, pull the plug, give up on, exit, quit,
withdraw, retreat, pull out or back, shut down, back away or off, walk away, U-turn, reverse,
backtrack, come to an end; and refusals: "won't go ahead", "no longer plans to"), ``rethink``
and ``scale back`` (wind down, scale down). A baseline
that tells of a turn of one family knows every wording of it ("begins exporting" knows "kicks
off exports").

What counts, word by word (the words are listed below):

- A *stop*, delay or scrapping is a turn wherever it is written, "may scrap" too, but not as
  a call ("Nissan should shelve", "export analysts say Nissan should drop"; with an activity as
  the subject of "should", "shipments of EVs should halt next month", a forecast, it is one),
  as prevention ("to stop its sales from bleeding": "from" and an -ing form among what it acts
  on), nor when it acts on another turn
  or is acted on ("rules out dropping the plan", "stop retreating from China"; "stops halting
  exports" is a resumption, "starts halting exports" a stop). "Pull out" and "retreat" only
  with "of" or "from" after them ("pulls out of Russia", not "pull out all
  the stops" or "oil retreats"); "push back", "put off", "hold off" and "back away" not
  against something or by it ("pushes back against tariffs", "isn't put off by the price
  war").
- An *end* (stop, end, drop, kill, cease, exit, reverse) only with its *object*, a plan, a
  course or an activity (exports, shipments, production, sales...), in the six words after it
  or, with nothing after it, the word before it: "drops its ambitious export plan", "ends
  exports", "signals end of exports", "export plan ended"; not "sales dropped", "a drop in
  sales", "exports drop 15%" (a figure right after it is a movement), "in reverse",
  "high-end", "year-end", "the end of", "by end of", "end up" or "stops short of".
- A *start* only when it is said to happen: "Nissan begins exports", "exports begin", "the
  start of China EV exports", "Nissan to begin exporting next year", not "may start
  exporting", "plans to start", "keen to start", "open to starting", "hopes to begin", "begins
  weighing", "begins to explore", "starting with petrol models" or "starting from 2024" (the
  plan itself), "begins a review of exports" (a study of it), "the start of 2024", "the start
  of a new era", "kicks off the year", "a head start", "start by shipping" or "start-ups".
  "Launch" and "roll out" are starts only with an activity as their object ("launches China EV
  exports", not "launches its first NEV"); "under way" only with an activity before it and no
  study ("exports get under way", not "talks under way" or "review of exports under way").
  A first shipment carries something, not a signal or people ("ships its first EVs", not
  "sends first signal it may export", "sends first researchers" nor "petrol models shipped
  first, EVs later"); a decision ("decides to") has an
  activity's verb right after it ("decides to export", not "decides to cut prices"); an
  approval ("approves", "greenlights", not the bare "to approve") an activity right after it
  ("approves exports of China-made EVs", "approved a plan to export", not "approves sales
  target").
- A *refusal* is a scrapping, or a delay when "until" or "before" and a time follow ("will
  not export until further notice", "until 2026"): "will not" or "won't" (and "would not"
  after a reporting verb: "said it would not open"), "will no longer" or "decided, opted or
  chose not to", then an activity ("export", "ship", "sell", "be sold") or a start of a
  plan, an activity or a place ("go ahead", "proceed with exports", "open the research
  centre", "continue to export"); or "no longer" and a plan ("no longer plans six models",
  "no longer plans to export") or a weighing of a plan or an activity ("is no longer
  weighing exports", not "job cuts"). Not when denied, asked, conditional ("will not export
  if tariffs rise", "would not export without subsidies"), an order of the plan ("will not
  start with EVs", "won't ship EVs abroad before its petrol cars", "will not export EVs at
  first"), a state ("can no longer sell enough", "will not comment"), in a clause of
  background or, told in the past, dated to what the team knows ("said in 2019 it would not
  export"). A refusal of a date the baseline holds ("will not open until 2024") still reads
  as a delay: the words cannot tell it from a new one.
- The form of the word: a stop or an end is a turn in any form but an -ing one after a
  preposition, "to" or a hedge ("instead of halting", "mulls ending"). A start is one as a
  finite verb ("begins", "kick-starts"), after "will", as "is starting" or "Nissan starting"
  (a subject opening the clause), as a noun of an activity ("the start of exports"), as the
  news' future after a name, an activity, "poised", "set" or "forced", or a go-ahead received
  ("Nissan Motor Co to begin", "exports to start May 1", "gets the green light to begin", not
  "seeks approval to begin"), or as the bare present after its subject ("exports begin",
  "Nissan and Honda begin", "exports from China begin"; not with a verb between: "to help
  restart", "having its JV start"). "Begins to" only before exporting, shipping, selling or
  making ("begins to export", not "starting to think about"); no start on a condition ("will
  begin exporting if tariffs allow"). A capital makes a name only of a word news writes in
  lower case less than half the time: in a title-case headline, "Decision To Start" is no
  name's future, "Nissan Motor To Begin" is.
- None of them written in the past and dated, in the rest of its clause, to a year up to the
  baseline's, a decade or long ago: history told as background ("began selling cars in China
  in 1973", "resumed in 2022", "started exporting from Mexico in the 1990s", "started years
  ago"; against a baseline of 2023, "began exporting in 2024" is news).
- None of them when negated, denied, refused or called for ("does not rule out", "won't
  start", "not yet begun", "denies it dropped", "rejects calls to scrap"; the three words
  before); none in the part of a text a "?" closes ("Will Nissan start exporting? Analysts
  are split", "...to the U.S.?", not "Nissan halts exports: for good?" nor "...to the U.S.
  Will others follow?"); none when its object is a trend ("to reverse falling sales", "a pause in sales
  growth", "sales began to fall" tell of the market; scrapping or delaying a "loss-making" or
  "declining" business still is a turn); none in a clause of background ("Nissan weighs
  exports as rivals pull out of China", "where rivals' exports are under way", "When the price
  war began, ..."; a sentence that opens with "As" or "While" tells the news: "As Nissan halts
  exports, BYD gains", and so does an "as" or "while" clause whose subject, right before the
  turn, is the baseline's: "Shares fall as Nissan scraps China export plan", not "as Ford
  pulls out of China"). Causes do not count as the object: "scrapped amid falling sales" is
  a turn.

The object is read in the four words after the turn (six for an end), up to punctuation or a
word that ends it (``amid``, ``as``, ``after``, ``and``, ``in``, ``to``...; the trend check
reads past ``in``: "a pause in sales growth"). A clause of background starts in the eight words
before the turn. A phrase matches only as its forms write its first word ("ships first", not
"to ship first"). A turn the baseline tells of itself in its title or summary gives no weight
either way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from operator import itemgetter

from service.baselines.numbers import is_year
from service.baselines.text import (
    CALENDAR,
    Sentence,
    Token,
    ends_with_abbreviation,
    stem,
    tokenize,
)
from service.baselines.wordstats import mostly_lower_case, unknown_case


class Kind(Enum):
    STOP = "stop"  # a turn wherever it is written
    END = "end"  # a turn with a plan or an activity as its object
    START = "start"  # a turn when said to happen
    LAUNCH = "launch"  # a start with an activity as its object
    UNDER_WAY = "under way"  # a start with an activity before it
    DECISION = "decision"  # a start when an activity's verb follows it ("decides to export")
    APPROVAL = "approval"  # a start when an activity is what it approves ("approves exports")


# Each row: a family (the key), a kind, and the written forms (a phrase's words joined by "+").
_FORMS: tuple[tuple[str, Kind, str], ...] = (
    ("start", Kind.START, "start starts started starting begin begins began begun beginning"),
    ("start", Kind.START, "commence commences commenced commencing kick+off kicks+off kicked+off"),
    ("start", Kind.START, "kicking+off go+ahead goes+ahead went+ahead going+ahead ships+first"),
    ("start", Kind.START, "shipped+first ships+its+first shipped+its+first sends+first sent+first"),
    ("start", Kind.START, "sends+its+first sent+its+first"),
    ("start", Kind.DECISION, "decide+to decides+to decided+to"),
    ("start", Kind.APPROVAL, "approves approved greenlights greenlighted greenlit"),
    ("start", Kind.LAUNCH, "launch launches launched launching roll+out rolls+out rolled+out rolling+out"),
    ("start", Kind.UNDER_WAY, "underway under+way"),
    ("resume", Kind.START, "resume resumes resumed resuming restart restarts restarted restarting"),
    ("stop", Kind.STOP, "halt halts halted halting suspend suspends suspended suspending pause"),
    ("stop", Kind.STOP, "pauses paused pausing freeze freezes froze frozen on+ice"),
    ("stop", Kind.STOP, "put+the+brakes+on puts+the+brakes+on putting+the+brakes+on puts+brakes+on"),
    ("stop", Kind.END, "stop stops stopped stopping cease ceases ceased ceasing"),
    ("delay", Kind.STOP, "delay delays delayed delaying postpone postpones postponed postponing"),
    ("delay", Kind.STOP, "push+back pushes+back pushed+back pushing+back put+off puts+off"),
    ("delay", Kind.STOP, "putting+off hold+off holds+off held+off holding+off on+hold"),
    ("delay", Kind.STOP, "defer defers deferred deferring set+aside sets+aside setting+aside back+burner"),
    ("scrap", Kind.STOP, "scrap scraps scrapped scrapping abandon abandons abandoned abandoning"),
    ("scrap", Kind.STOP, "cancel cancels cancelled canceled cancelling canceling shelve shelves"),
    ("scrap", Kind.STOP, "shelved shelving axe axes axed ditch ditches ditched ditching nix nixes"),
    ("scrap", Kind.STOP, "nixed withdraw withdraws withdrew withdrawn withdrawing u+turn"),
    ("scrap", Kind.STOP, "backtrack backtracks backtracked"),
    ("scrap", Kind.END, "reverse reverses reversed reversing"),
    ("scrap", Kind.STOP, "call+off calls+off called+off calling+off rule+out rules+out ruled+out"),
    ("scrap", Kind.STOP, "ruling+out pull+out pulls+out pulled+out pulling+out back+away"),
    ("scrap", Kind.STOP, "backs+away backed+away backing+away back+off backs+off backed+off"),
    ("scrap", Kind.STOP, "walk+away walks+away walked+away pull+the+plug pulls+the+plug"),
    ("scrap", Kind.STOP, "pulled+the+plug give+up+on gives+up+on gave+up+on giving+up+on"),
    ("scrap", Kind.STOP, "come+to+an+end comes+to+an+end came+to+an+end mothball mothballs mothballed"),
    ("scrap", Kind.STOP, "decides+against decided+against falls+through fell+through retreat retreats"),
    ("scrap", Kind.STOP, "retreated pull+back pulls+back pulled+back quit quits shut+down shuts+down"),
    ("scrap", Kind.END, "end ends ended ending drop drops dropped dropping kill kills killed"),
    ("scrap", Kind.END, "killing exit exits exited exiting"),
    ("rethink", Kind.STOP, "rethink rethinks rethinking reconsider reconsiders reconsidered"),
    ("scale back", Kind.STOP, "scale+back scales+back scaled+back scaling+back wind+down"),
    ("scale back", Kind.STOP, "winds+down wound+down winding+down scale+down scales+down scaled+down"),
)
# What an end, a launch or "under way" must be about, and what a turn must not be about.
_PLAN_FORMS = """
    plan plans bid bids proposal proposals project projects idea ideas talks deal deals scheme
    schemes programme programmes program programs strategy strategies partnership venture course
    decision decisions policy
"""
_ACTIVITY_FORMS = """
    export exports exporting shipment shipments shipping production output sales selling
    deliveries delivery operations operation manufacturing assembly imports importing
"""
_TREND_FORMS = """
    fall falls fell falling decline declines declined declining slump slumps slumped slumping
    slide slides slid sliding slowdown downturn growth loss losses
"""
# Words that end what a turn acts on: a cause, a time or another clause follows them. The
# object of a turn also ends at "in" and "to" ("a drop in sales", "halts exports to stem
# losses"), its trend check at "to" but not at "in" ("a pause in sales growth").
_CLAUSE_END_FORMS = """
    amid over as after and while but because since when where though although whereas due
    citing on despite with following until before by so
"""
_OBJECT_END_FORMS = "in to under"
# Words that make a start a possibility, a plan or a study, not an event: in the three before
# it, or right after it ("begins weighing").
_HEDGE_FORMS = """
    may might could would can should consider considers considering considered mull mulls mulling
    weigh weighs weighing eye eyes eyeing plan plans planning aim aims contemplate contemplates
    contemplating explore explores exploring study studies studying want wants look looks
    looking expect expects expected option options possible possibility potential likely hope
    hopes hoping whether about if proposal proposals bid idea evaluate evaluates evaluating assess
    assesses assessing keen eager ready prepared reluctant hesitant undecided premature yet need
    needs
"""
_NEGATION_FORMS = """
    not no never nor nothing without rather deny denies denied refuse refuses refused reject rejects
    rejected resist resists resisted dismiss dismisses dismissed defy defies defied call calls
    urge urges urged pressure demand demands wont dont doesnt didnt isnt arent wasnt werent cant
    cannot couldnt wouldnt shouldnt hasnt havent hadnt
"""
_STUDY_FORMS = """
    review reviews study studies talks discussion discussions probe investigation research work
    feasibility assessment evaluation consultation consultations preparation preparations
    groundwork task force taskforce team committee unit
"""
# Stops that are turns only with "of" or "from" after them ("pulls out of Russia", "retreats
# from the plan", not "oil retreats"), or not against or by something.
_NEEDS_OF_FORMS = "pull+out pulls+out pulled+out pulling+out retreat retreats retreated"
_NOT_AGAINST_FORMS = """
    push+back pushes+back pushed+back pushing+back hold+off holds+off held+off holding+off
    back+away backs+away backed+away backing+away put+off puts+off putting+off
"""
# Words that start a clause of background, words after which an end is a noun or a time, and
# words after which a start is a noun unless "of" follows ("a head start", "the start of exports").
_CLAUSE_START_FORMS = "as while because since amid although though whereas where which who whose when"
_PAST_FORM_WORDS = "began begun froze frozen withdrew withdrawn shut quit held wound came sent"
# A sentence opening with these tells the news, not its background ("As Nissan halts exports,
# BYD gains"); one opening with another clause start does ("When the price war began, ...").
_NEWS_OPENER_FORMS = "as while"
_NOUN_BEFORE_END_FORMS = "the a an all by until till before at in"
_NOUN_BEFORE_START_FORMS = "a an the head fresh new strong good flying false slow bright"
_DATE_LEAD_FORMS = "back in since early mid late"
_TIME_NOUN_FORMS = "year years month months quarter quarters week weeks season day days"
_TIME_OF_FORMS = "fiscal financial half second"  # "the start of fiscal 2025", "of the second half"
# The bare forms of the verbs (how they are read: ``_finite_or_announced``), the words after
# which an -ing form is no turn, the words before "to" that make a start the news' future
# ("set to begin"), and the nouns of a stop (whose end is a resumption).
_BARE_FORM_WORDS = """
    start begin commence kick launch roll go resume restart ship halt suspend pause freeze stop
    cease delay postpone push put hold defer set scrap abandon cancel shelve axe ditch nix
    withdraw call rule pull back walk give come end drop kill exit reverse backtrack rethink
    reconsider scale wind mothball retreat quit shut
"""
_PREPOSITION_FORMS = "of from about on without instead than avoid avoids avoiding against by for into"
_INTENT_FORMS = "plans plan aims wants moves seeks decides decided set agrees agreed votes voted is are was"
_STOP_NOUN_FORMS = "halt freeze pause suspension ban hold moratorium"
# A part of a text a "?" may close ends at these (a "." only before a space and not closing an
# abbreviation: "U.S.?", "1.5", "by Jan. 1?").
_NEXT_CHARACTER = re.compile(r"\s*(\S)")
_PART_END = re.compile(r"[!|:;]| [-\u2013\u2014] |\.(?=\s)")
_FUTURE_FORMS = "will shall ll"
_BE_FORM_WORDS = "is are was were be been"
_LEADS_TO_FORMS = "poised set due forced ordered"
_GRANT_FORMS = "light nod approval ahead permission"  # a start after these only once received
_RECEIVED_FORMS = "gets get got wins won receives received granted given secures secured obtains"
_COMPANY_FORMS = "motor motors co corp group unit inc ltd holdings auto automotive"
_CAUSATIVE_FORMS = "to help helps let lets have has having make makes see sees"
_SUBJECT_LINKS_FORMS = "and from of in"
_NAME_LOWER_PERCENT = 50  # a capitalised word is a name when news writes it in lower case less often
_SUBJECT_WORDS = 4
_OBJECT_WORDS = 4
_END_OBJECT_WORDS = 6  # "drops its ambitious China EV export plan"
_BEFORE_WORDS = 3
_CLAUSE_BREAK = re.compile(r"[,;:.?!()\[\]|\u2013\u2014]")


def _stems(forms: str) -> frozenset[str]:
    return frozenset(stem(form) for form in forms.split())


def _phrases(forms: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(stem(word) for word in form.split("+")) for form in forms.split())


@dataclass(frozen=True, slots=True)
class _Turn:
    family: str
    kind: Kind
    words: tuple[str, ...]  # stems
    leads: frozenset[str]  # a phrase's first word as the forms write it ("ships first", not "to ship first")


def _phrase_table() -> dict[tuple[str, ...], _Turn]:
    leads: dict[tuple[str, ...], set[str]] = {}
    rows: dict[tuple[str, ...], tuple[str, Kind]] = {}
    for family, kind, forms in _FORMS:
        for form in forms.split():
            written = form.split("+")
            words = tuple(stem(word) for word in written)
            leads.setdefault(words, set()).add(written[0])
            rows[words] = (family, kind)
    return {words: _Turn(*rows[words], words, frozenset(leads[words])) for words in rows}


_PHRASES = _phrase_table()
_NEEDS_OF = _phrases(_NEEDS_OF_FORMS)
_NOT_AGAINST = _phrases(_NOT_AGAINST_FORMS)
_LONGEST = max(len(words) for words in _PHRASES)
_FIRST_WORDS = frozenset(words[0] for words in _PHRASES)
_STEM = itemgetter(1)  # Token.stem: a tuple's item is read faster than its named attribute
_PAST_FORMS = frozenset(_PAST_FORM_WORDS.split())  # irregular pasts; regular ones end in "ed"
_PLANS_OR_ACTIVITIES = _stems(_PLAN_FORMS) | _stems(_ACTIVITY_FORMS)
_ACTIVITIES = _stems(_ACTIVITY_FORMS)
_TRENDS = _stems(_TREND_FORMS)
_CLAUSE_ENDS = _stems(_CLAUSE_END_FORMS)
_OBJECT_ENDS = _CLAUSE_ENDS | _stems(_OBJECT_END_FORMS)
_TREND_ENDS = _CLAUSE_ENDS | {"to"}
_HEDGES = _stems(_HEDGE_FORMS)
# nouns and verbs that hedge only before "to" ("plans to start", not "export plan goes ahead";
# "yet to decide", not "its boldest move yet")
_HEDGES_BEFORE_TO = _stems(
    "plan plans bid proposal proposals idea option options aim aims hope hopes yet need needs"
)
_NEGATIONS = _stems(_NEGATION_FORMS)
_STUDIES = _stems(_STUDY_FORMS)
_CLAUSE_STARTS = _stems(_CLAUSE_START_FORMS)
_NEWS_OPENERS = _stems(_NEWS_OPENER_FORMS)
_NOUN_BEFORE_END = _stems(_NOUN_BEFORE_END_FORMS)
_NOUN_BEFORE_START = _stems(_NOUN_BEFORE_START_FORMS)
_BARE_FORMS = frozenset(_BARE_FORM_WORDS.split())  # compared as written
_PREPOSITIONS = _stems(_PREPOSITION_FORMS)
_INTENTS = _stems(_INTENT_FORMS) | _stems(_LEADS_TO_FORMS)
_STOP_NOUNS = _stems(_STOP_NOUN_FORMS)
_FUTURES = _stems(_FUTURE_FORMS)
_BE_FORMS = _stems(_BE_FORM_WORDS)
_GRANTS = _stems(_GRANT_FORMS)
_RECEIVED = _stems(_RECEIVED_FORMS)
_COMPANY_WORDS = _stems(_COMPANY_FORMS)
_CAUSATIVES = _stems(_CAUSATIVE_FORMS)
_SUBJECT_LINKS = _stems(_SUBJECT_LINKS_FORMS)
_ACTIVITY_VERBS = _stems("export ship sell deliver produce manufacture import assemble")
_CONDITIONS = _stems("if unless provided")
_HALTING = frozenset({"stop", "scrap", "delay"})  # families whose turns halt what they act on
# Refusals: a start or an activity the subject will not go through with ("won't go ahead with
# exports", "will not open the centre", "no longer plans to export", "decided not to proceed").
_REFUSED_ACTIVITIES = _stems("export ship sell")  # "will not export": the activity itself
_REFUSED_STARTS = _stems("proceed start begin commence launch open pursue continue")  # of something
_REFUSED_AS_DONE = _stems("sold exported shipped launched opened")  # "will not be sold"
# after "no longer": an intent or a pursuit ("no longer plans to export", "is no longer
# weighing exports"), not a state ("can no longer sell enough", "no longer expects a recovery")
_NO_LONGER = _stems(
    "plan plans intend intends aim aims want wants pursue pursues pursuing consider considers considering "
    "weigh weighs weighing study studies studying seek seeks seeking"
)
_DECIDE = _stems("decide decides decided opt opts opted choose chooses chose")
_PLAN_VERBS = _stems("plan plans intend intends")  # "no longer plans six models": whatever it planned
# what a refused start must be about, when anything follows it: a plan, an activity or a place
_FACILITIES = _stems("centre center centres centers plant plants factory factories lab laboratory institute")
_ORDERED_STARTS = _stems("start begin commence")  # "start with": which comes first
_ARTICLES = _stems("the a an its their")
_CALLS = _stems("should ought")  # a call, unless an activity says it ("shipments should halt")
# what a first shipment does not carry ("sends first signal", "sends first researchers")
_NOT_CARGO = _stems(
    "signal signals sign signs hint hints invitation invitations step steps look glimpse indication "
    "researcher researchers engineer engineers staff worker workers employee employees team teams "
    "delegation executive executives people student students expert experts official officials"
)
_REPORTING = _stems("said says say told tells announced confirmed stated")
_REFUSAL_MARKS = _stems("not wont wouldnt longer")  # every refusal holds one
_PAST_REFUSALS = _stems("would wouldnt decided")
_FUTURE_OF_REFUSALS = _stems("will would shall")
_DENIALS = _NEGATIONS - _stems("no not")  # "not true that ..." ("no" and "not" mark the refusal)
_UNTIL = _stems("until before")
_WATCHED = _FIRST_WORDS | _REFUSAL_MARKS  # a sentence with none of these tells of no turn
_SUBTITLE_WORDS = _REFUSAL_MARKS | _stems("no never off dead ahead")  # "- No Longer Headed Overseas"


# What may follow an end told of its plan alone: a cause or a time ("exports end after six
# months", "plan ended last month"), not an object ("sales end the year", "end on a high").
_TOLD_ALONE_AFTER = _stems(
    "after amid over as because despite following due citing since when while before until"
)
_TOLD_ALONE_AFTER |= _stems("last next this early late") | CALENDAR
_DATE_LEADS = _stems(_DATE_LEAD_FORMS)
_TIME_NOUNS = _stems(_TIME_NOUN_FORMS)
_TIMES = _TIME_NOUNS | _stems("next this last") | CALENDAR
_TIMES_OF = _TIMES | _stems(_TIME_OF_FORMS)
_MONTH_BEFORE = _DATE_LEADS | _stems("by from until of")


def turns_in(
    sentences: Iterable[Sentence], *, known_until: int | None = None, subject: frozenset[str] = frozenset()
) -> Counter[str]:
    """The mentions of each turn family (see the module rules) of the sentences, each sentence
    counted by its weight (the title's twice). ``known_until``: the year of what the team knows
    (the baseline's); a past turn dated to it or before is history, one dated after it news ("began
    exporting in 2024" against a baseline of 2023). None: every dated past turn is history.
    ``subject``: the stems of the baseline's subject terms, whose turn told in an "as" or
    "while" clause is news ("Shares fall as Nissan scraps its plan"), where a rival's is
    background ("Nissan weighs exports as Ford pulls out of China")."""
    counts: Counter[str] = Counter()
    for _, tokens, weight, text in sentences:
        if _WATCHED.isdisjoint(map(_STEM, tokens)):  # most sentences, decided in C
            continue
        clause = _Clause(tokens, text, known_until, subject)
        told_up_to = 0  # words before this belong to a turn told already ("ends halt to exports")
        for first, after, turn in _candidates(tokens):
            told = _family_told(clause, first, after, turn) if first >= told_up_to else None
            if told is not None:
                family, told_up_to = told
                counts[family] += int(weight)
        if not _REFUSAL_MARKS.isdisjoint(map(_STEM, tokens)):
            for family in _refusals(clause):
                counts[family] += int(weight)
    return counts


def turn_family(word_stem: str) -> str | None:
    """The family of the one-word turn written with this stem, if it is one."""
    turn = _PHRASES.get((word_stem,))
    return turn.family if turn else None


def tells_of_a_turn(words: Sequence[str]) -> bool:
    """Whether ``words`` (as written) hold a turn's word or phrase or a refusal's word: a title's
    end that does is its own subtitle, not a publisher's name ("Export Plan - Shelved", "- Put On
    Hold", "- Not Happening"; "- Go Auto" and "- Roll Call" are publishers)."""
    tokens = tokenize(" ".join(words))
    return not _SUBTITLE_WORDS.isdisjoint(map(_STEM, tokens)) or next(_candidates(tokens), None) is not None


def _candidates(tokens: Sequence[Token]) -> Iterator[tuple[int, int, _Turn]]:
    """(first index, index after, turn) of every turn word or phrase, whether or not it tells of
    a turn where it stands; the longest phrase at a position wins.

    Runs over the sentences of judged items that hold a word starting a turn or marking a
    refusal (``turns_in`` passes over the others with one set operation), so a word that starts
    none costs one look-up: trying every phrase length at every word took over 1 ms for the
    seed article (312 words); ``turns_in`` now reads it in about 32 µs (28 before refusals)."""
    stems = [token.stem for token in tokens]
    end = -1  # words before this belong to the last turn found
    for index, word in enumerate(stems):
        if index < end or word not in _FIRST_WORDS:
            continue
        for size in range(min(_LONGEST, len(stems) - index), 0, -1):
            turn = _PHRASES.get(tuple(stems[index : index + size]))
            if turn is not None and (size == 1 or tokens[index].text.lower() in turn.leads):
                end = index + size
                yield index, end, turn
                break


@dataclass(frozen=True, slots=True)
class _Clause:
    """One sentence's words and text, read around a turn up to punctuation."""

    tokens: Sequence[Token]
    text: str
    known_until: int | None = None  # see turns_in
    subject: frozenset[str] = frozenset()  # see turns_in

    def broken_before(self, index: int) -> bool:
        """Whether punctuation stands between word ``index - 1`` and word ``index``."""
        gap = self.text[self.tokens[index - 1].end : self.tokens[index].start]
        return _CLAUSE_BREAK.search(gap) is not None

    def questioned(self, after: int) -> bool:
        """Whether the words before word ``after`` are asked: a "?" closes their part of the text
        ("Will Nissan start exporting? Analysts are split", not "Nissan halts exports: for good?")."""
        start = self.tokens[after - 1].end
        mark = self.text.find("?", start)
        if mark < 0:
            return False
        return not any(self._ends_a_part(part_end) for part_end in _PART_END.finditer(self.text, start, mark))

    def _ends_a_part(self, part_end: re.Match[str]) -> bool:
        """A "." of an abbreviation ends a part only before a capital ("to the U.S. What next?")."""
        end = part_end.end()
        # the last word is all ends_with_abbreviation reads: a short window keeps this linear
        if part_end.group() != "." or not ends_with_abbreviation(self.text[max(0, end - 24) : end]):
            return True
        following = _NEXT_CHARACTER.match(self.text, end)
        return following is not None and following.group(1).isupper()

    def before(self, first: int, count: int = _BEFORE_WORDS) -> Sequence[Token]:
        """Up to ``count`` words before word ``first``, within its clause."""
        start = first
        while start > max(0, first - count) and not self.broken_before(start):
            start -= 1
        return self.tokens[start:first]

    def after(self, after: int, ends: frozenset[str], count: int = _OBJECT_WORDS) -> Sequence[Token]:
        """``rest(after, count)`` up to a word of ``ends`` or a time: what a turn acts on."""
        window = self.rest(after, count)
        for offset, token in enumerate(window):
            index = after + offset
            compound = self.glued_before(index + 1) or self.glued_before(index)  # "plug-in hybrids"
            ends_here = token.stem in ends and not compound
            if ends_here or (token.stem in _TIMES and not self.glued_before(index)):  # "two-year" is no time
                return window[:offset]
        return window

    def rest(self, after: int, count: int) -> Sequence[Token]:
        """Up to ``count`` words from word ``after`` on, within its clause."""
        stop = after
        while stop < min(len(self.tokens), after + count) and not (stop > 0 and self.broken_before(stop)):
            stop += 1
        return self.tokens[after:stop]

    def glued_before(self, index: int) -> bool:
        """Whether word ``index`` is joined to the one before by a hyphen ("high-end")."""
        return 0 < index < len(self.tokens) and _glued(self.tokens[index - 1], self.tokens[index], self.text)

    def has_trend(self, start: int, ends: frozenset[str]) -> bool:
        """Whether a trend is among the words ``after(start, ends)`` reads, not as the first half
        of a compound ("loss-making")."""
        window = self.after(start, ends)
        return any(
            token.stem in _TRENDS and not self.glued_before(start + offset + 1)
            for offset, token in enumerate(window)
        )


def _has(words: frozenset[str], tokens: Sequence[Token]) -> bool:
    """Whether any of ``tokens`` is one of ``words`` (by stem)."""
    return not words.isdisjoint(map(_STEM, tokens))


def _approves_an_activity(clause: _Clause, after: int) -> bool:
    """Whether what is approved, right after the word, is an activity ("approves exports of
    China-made EVs", "approved the export of", "greenlights a plan to export"), not a thing an
    activity word describes ("approves sales target")."""
    tokens = clause.tokens
    index = after
    while index < len(tokens) and tokens[index].stem in _ARTICLES and not clause.broken_before(index):
        index += 1
    if index >= len(tokens) or clause.broken_before(index):
        return False
    word = tokens[index]
    if word.stem == "plan" and [token.stem for token in tokens[index + 1 : index + 2]] == ["to"]:
        return index + 2 < len(tokens) and tokens[index + 2].stem in _ACTIVITY_VERBS
    following = tokens[index + 1] if index + 1 < len(tokens) and not clause.broken_before(index + 1) else None
    return word.stem in _ACTIVITIES and (following is None or not following.is_content)


def _carries_vehicles(clause: _Clause, after: int) -> bool:
    """Whether a first shipment carries something: words follow it in its clause, and none of
    the first three is a signal or people ("sends first signal it may export", "sends first
    researchers"); "petrol models shipped first, EVs later" is an order."""
    cargo = clause.after(after, _OBJECT_ENDS, _END_OBJECT_WORDS)
    return bool(cargo) and not _has(_NOT_CARGO, cargo[:3])


def _called_for(clause: _Clause, first: int) -> bool:
    """Whether "should" or "ought" before the turn calls for it ("Nissan should shelve the idea",
    "investors say Nissan should halt exports this year"), rather than forecasting what an
    activity will do ("shipments should halt next month")."""
    tokens = clause.tokens
    start = first - len(clause.before(first))
    for index in range(start, first):
        if tokens[index].stem in _CALLS:
            subject = clause.before(index, _SUBJECT_WORDS + 1)
            stems = [token.stem for token in subject]
            # the subject is what comes right before, or what an "of" phrase there belongs to
            head = stems[stems.index("of") - 1] if "of" in stems[1:] else stems[-1] if stems else ""
            return head not in _ACTIVITIES
    return False


def _acts_on_a_turn(clause: _Clause, first: int, after: int, turn: _Turn) -> bool:
    """Whether a turn acts on another, written in its -ing form right after it, or is that -ing
    form: "rules out dropping the plan" and "stop retreating" tell that nothing turns, "starts
    halting exports" only of the halt (an end of a stop is a resumption, read as such by
    ``_family_told``: "stops halting exports", "ends suspending exports")."""
    tokens = clause.tokens
    acts = turn.kind in (Kind.STOP, Kind.START) and after < len(tokens) and not clause.broken_before(after)
    if acts and tokens[after].text.lower().endswith("ing"):
        inner = _PHRASES.get((tokens[after].stem,))
        if inner is not None and inner.family in _HALTING:
            return True
    if not tokens[first].text.lower().endswith("ing") or first == 0 or clause.broken_before(first):
        return False  # "pulls out, halting exports" halts them
    stems = [token.stem for token in tokens[max(0, first - _LONGEST) : first]]
    return any(
        (outer := _PHRASES.get(tuple(stems[-size:]))) is not None and outer.family in _HALTING
        for size in range(1, len(stems) + 1)
    )


def _refusals(clause: _Clause) -> Iterator[str]:
    """The family of every refusal the clause tells of (see the module rules): a scrapping, or
    a delay when "until" or "before" follows it ("will not export until further notice")."""
    for index, token in enumerate(clause.tokens):
        if token.stem in _REFUSAL_MARKS:
            found = _refused_at(clause, index)
            if found is not None and _refusal_told(clause, *found):
                untils = _untils(clause.rest(found[1], 2 * _OBJECT_WORDS))
                yield "delay" if untils and untils[0] else "scrap"


def _untils(rest: Sequence[Token]) -> list[bool]:
    """For each "until" or "before" among the words after a refusal, whether a time follows it:
    "until further notice" or "until 2026" delays, "before its petrol cars" only puts one thing
    after another."""
    return [
        _has_time(rest[offset + 1 : offset + 4]) for offset, token in enumerate(rest) if token.stem in _UNTIL
    ]


def _ordered(rest: Sequence[Token]) -> bool:
    """Whether a refusal only puts something after something else: "until" or "before" and no
    time ("won't ship EVs abroad before its petrol cars"), or "first" ("will not export EVs at
    first but will start with combustion cars")."""
    return False in _untils(rest) or any(token.stem == "first" for token in rest)


def _has_time(tokens: Sequence[Token]) -> bool:
    """Whether a time is among ``tokens``: a year, a month, "next", "notice", "half"..."""
    return any(token.stem in _TIMES_OF or token.stem == "notice" or is_year(token.text) for token in tokens)


def _refused_at(clause: _Clause, index: int) -> tuple[int, int] | None:
    """(first word, word after) of the refusal whose mark is word ``index``, if there is one:
    "will not" or "won't" (and "would not" after a reporting verb: "said it would not open"),
    "will no longer" or "decided not to", then an activity ("export", "be sold") or a start
    of a plan, an activity or a place ("go ahead", "proceed with exports", "open the centre");
    or "no longer" and an intent ("no longer plans to", "is no longer weighing exports")."""
    tokens = clause.tokens
    mark = tokens[index].stem
    previous = tokens[index - 1].stem if index else ""
    following = tokens[index + 1].stem if index + 1 < len(tokens) else ""
    before_no = tokens[index - 2].stem if index > 1 else ""  # "will" of "will no longer"
    if mark in ("wont", "wouldnt"):
        first, verb = index, index + 1
    elif mark == "not" and previous in _FUTURE_OF_REFUSALS:
        first, verb = index - 1, index + 1  # "will not export"
    elif mark == "not" and previous in _DECIDE and following == "to":
        first, verb = index - 1, index + 2  # "decided not to proceed"
    elif mark == "longer" and previous == "no":
        first, verb = (index - 2 if before_no in _FUTURE_OF_REFUSALS else index - 1), index + 1
    else:
        return None
    reported = _has(_REPORTING, clause.before(first, _SUBJECT_WORDS))
    if tokens[first].stem in ("would", "wouldnt") and not reported:
        return None  # "would not export without subsidies" is a condition, not a refusal
    if verb >= len(tokens) or clause.broken_before(verb):
        return None
    word = tokens[verb].stem
    if mark == "longer" and tokens[first].stem not in _FUTURE_OF_REFUSALS:
        return _no_longer(clause, first, verb)
    if word == "be" and verb + 1 < len(tokens) and tokens[verb + 1].stem in _REFUSED_AS_DONE:
        return first, verb + 2  # "will not be sold abroad"
    if word in _REFUSED_ACTIVITIES:
        return first, verb + 1
    if word == "go":
        if verb + 1 == len(tokens) or tokens[verb + 1].stem != "ahead":
            return None
        after = verb + 2  # "won't go ahead"
    elif word in _REFUSED_STARTS:
        after = verb + 1
    else:
        return None
    if after < len(tokens) and not clause.broken_before(after):
        next_word = tokens[after].stem
        if next_word == "with" and word in _ORDERED_STARTS:
            return None  # "would not start with EVs": an order, not a refusal
        if next_word == "to":  # "will not continue to export", not "to rely on China sales"
            done = after + 1 < len(tokens) and tokens[after + 1].stem in _ACTIVITY_VERBS
            return (first, after + 2) if done else None
        acted_on = clause.after(after + (next_word == "with"), _OBJECT_ENDS)
        if acted_on and not _has(_PLANS_OR_ACTIVITIES | _FACILITIES, acted_on):
            return None  # "will not open new offices"
    return first, after


def _no_longer(clause: _Clause, first: int, verb: int) -> tuple[int, int] | None:
    """A refusal told with "no longer" and an intent, of an activity or a plan: "no longer plans
    to export", "is no longer weighing exports"; not a state ("can no longer sell enough") nor
    another intent ("no longer weighing job cuts", "no longer seeks to dominate")."""
    tokens = clause.tokens
    if tokens[verb].stem not in _NO_LONGER:
        return None
    if verb + 1 < len(tokens) and tokens[verb + 1].stem == "to":  # "no longer plans to export"
        done = verb + 2 < len(tokens) and tokens[verb + 2].stem in _ACTIVITY_VERBS | _REFUSED_STARTS
        return (first, verb + 3) if done else None
    if tokens[verb].stem in _PLAN_VERBS:
        return first, verb + 1  # "no longer plans six JV models for China": a plan dropped
    return (first, verb + 1) if _has(_PLANS_OR_ACTIVITIES, clause.after(verb + 1, _OBJECT_ENDS)) else None


def _refusal_told(clause: _Clause, first: int, after: int) -> bool:
    """Whether a refusal is told as news: not asked, denied, conditional, in a clause of
    background or, told in the past, dated to what the team knows ("said in 2019 it would not
    export")."""
    if _has(_DENIALS, clause.before(first)) or clause.questioned(after):
        return False
    rest = clause.rest(after, 2 * _OBJECT_WORDS)
    if _has(_CONDITIONS, rest) or _ordered(rest):
        return False
    if clause.tokens[first].stem in _PAST_REFUSALS and any(
        token.stem == "ago" or _known_year(token, clause.known_until)
        for token in (*clause.before(first, 8), *rest)
    ):
        return False
    return not _in_background(clause, first)


def _in_background(clause: _Clause, first: int) -> bool:
    """Whether word ``first`` sits in a clause of background: one started among the eight words
    before it ("weighs exports as rivals pull out of China", "When the price war began"), but
    not a sentence opening with "As" or "While", nor an "as" or "while" clause whose subject,
    right before the word, is the baseline's: that tells the news ("Shares fall as Nissan
    scraps its China export plan"; "as Ford pulls out of China" stays background)."""
    tokens = clause.tokens
    window = clause.before(first, 8)
    start = first - len(window)
    for offset, token in enumerate(window):
        if token.stem not in _CLAUSE_STARTS:
            continue
        if token.stem in _NEWS_OPENERS:
            subject = tokens[start + offset + 1 : first]
            if token is tokens[0] or (
                subject and all(_is_name(word) for word in subject) and _has(clause.subject, subject)
            ):
                continue
        return True
    return False


def _prevents(clause: _Clause, after: int) -> bool:
    """Whether a stop is one of prevention: "from" and an -ing form among the words it acts on
    ("stop its China sales from bleeding", "halt the yuan from weakening")."""
    rest = clause.rest(after, 2 * _OBJECT_WORDS)
    return any(
        token.stem == "from" and offset + 1 < len(rest) and rest[offset + 1].text.lower().endswith("ing")
        for offset, token in enumerate(rest)
    )


def _family_told(clause: _Clause, first: int, after: int, turn: _Turn) -> tuple[str, int] | None:
    """The family of the turn the word or phrase at ``tokens[first:after]`` tells of, if any, and
    where the words it covers end: an end of a stop ("ends the halt of exports") is a
    resumption, its stop no turn of its own."""
    if not _is_turn(clause, first, after, turn):
        return None
    obj = clause.after(after, _OBJECT_ENDS)
    halted = obj[:1] and obj[0].text.lower().endswith("ing") and turn_family(obj[0].stem) in _HALTING
    if turn.kind is Kind.END and (_has(_STOP_NOUNS, obj) or halted):
        return "resume", after + len(obj)  # "ends two-month halt to exports", "stops delaying exports"
    return turn.family, after


def _is_turn(clause: _Clause, first: int, after: int, turn: _Turn) -> bool:
    """Whether the turn word or phrase at ``tokens[first:after]`` tells of a turn.

    The checks that turn most words away come first: a launch, an end or "under way" without
    what it must be about (with every window read before them, the seed article's three
    "launch" of a model took ``turns_in`` from 27 to 54 µs)."""
    tokens = clause.tokens
    if turn.kind is Kind.LAUNCH and not _has(_ACTIVITIES, tokens[after : after + _OBJECT_WORDS]):
        return False  # the commonest case, decided before any window is read ("launch" of a model)
    if turn.kind is Kind.DECISION and not (after < len(tokens) and tokens[after].stem in _ACTIVITY_VERBS):
        return False  # "decides to export", not "decides to cut prices"
    if turn.kind is Kind.APPROVAL and (
        tokens[first].text.lower() in ("approve", "greenlight") or not _approves_an_activity(clause, after)
    ):
        return False  # "approves exports", not "needs Beijing to approve exports" nor "approves sales target"
    if turn.words[-1] == "first" and not _carries_vehicles(clause, after):
        return False  # an order ("petrol models shipped first, EVs later"), a signal, people
    if _acts_on_a_turn(clause, first, after, turn):
        return False  # "rules out dropping the plan", "stop retreating from China"
    following = tokens[after].stem if after < len(tokens) and not clause.broken_before(after) else ""
    obj = clause.after(after, _OBJECT_ENDS, _END_OBJECT_WORDS if turn.kind is Kind.END else _OBJECT_WORDS)
    before = clause.before(first)
    match turn.kind:
        case Kind.LAUNCH if not _has(_ACTIVITIES, obj):
            return False
        case Kind.END if not _ends_a_plan(clause, first, after, before, following, obj):
            return False
        case Kind.UNDER_WAY:
            subject = clause.before(first, 2 * _OBJECT_WORDS)
            if not _has(_ACTIVITIES, subject[-_OBJECT_WORDS - 2 :]) or _has(_STUDIES, subject):
                return False
        case Kind.STOP if turn.words in _NEEDS_OF and following not in ("of", "from"):
            return False
        case Kind.STOP if turn.words in _NOT_AGAINST and following in ("against", "by"):
            return False
    if _has(_NEGATIONS, before) or clause.questioned(after) or not _finite_or_announced(clause, first, turn):
        return False
    if _called_for(clause, first):
        return False  # "Nissan should shelve the idea", not "shipments should halt next month"
    if _history(clause, first, after) or following in _NEGATIONS:
        return False  # "began selling cars in China in 1973", "has delayed nothing"
    if _in_background(clause, first):
        return False  # "weighs exports as rivals pull out of China"
    if turn.family == "stop" and _prevents(clause, after):
        return False  # "to stop its China sales from bleeding"
    # "began to fall": a "to" right after the turn leads to what it acts on. Scrapping or
    # delaying a declining business is still a turn; reversing or halting a decline is not.
    trend_proof = turn.family == "delay" or (turn.family == "scrap" and turn.kind is Kind.STOP)
    if not trend_proof and clause.has_trend(after + (following == "to"), _TREND_ENDS):
        return False
    if turn.kind in (Kind.STOP, Kind.END):
        return True
    studied = (
        clause.after(after + 1, _OBJECT_ENDS) if following == "with" else obj
    )  # "goes ahead with a study"
    if _has(_STUDIES, studied) or _has(_STUDIES, clause.before(first, _SUBJECT_WORDS)):
        return False  # a study starts, not the activity: "begins a review of exports", "talks began"
    return _said_to_happen(clause, first, after)


def _finite_or_announced(clause: _Clause, first: int, turn: _Turn) -> bool:
    """Whether the turn word is written as a turn that happens (see the module rules): for a
    start, not the bare or -ing form of a verb after a hedge, a purpose or a preposition ("may,
    as early as next year, begin", "keen to start", "open to starting"); for a stop or an end,
    not an -ing form after a preposition, "to" or a hedge ("instead of halting", "mulls
    ending")."""
    tokens = clause.tokens
    written = tokens[first].text.lower()
    ing = written.endswith("ing")
    if written not in _BARE_FORMS and not ing:
        return True  # finite: "begins", "started", "scraps", "kick-starts"
    before = clause.before(first, _SUBJECT_WORDS)
    previous = before[-1].stem if before else ""
    if ing:
        if previous in _NOUN_BEFORE_START | _BE_FORMS or _opens_with_subject(clause, first):
            return True  # "the beginning of exports" (judged after), "is starting", "Nissan starting"
        stop_or_end = turn.kind in (Kind.STOP, Kind.END)
        return stop_or_end and previous not in _PREPOSITIONS | _HEDGES and previous != "to"
    if turn.kind in (Kind.STOP, Kind.END):
        return True  # a stop is news however it is put: "may scrap", "forced to halt"
    if clause.glued_before(first):
        return False  # a compound: "to jump-start China plants"
    following = tokens[first + 1].stem if first + 1 < len(tokens) else ""
    if previous in _NOUN_BEFORE_START or previous in _FUTURES or following == "of":
        return True  # "the start of", "launch of exports" (judged after), "will begin"
    if previous == "to":
        return len(before) >= 2 and _announces(clause, first - 2)
    return _after_its_subject(clause, first)


def _announces(clause: _Clause, lead: int) -> bool:
    """Whether the word before "to" makes the start the news' future: a name ("Nissan Motor Co
    to begin"), an activity ("exports to start"), an intent ("set to"), or a go-ahead received
    ("gets the green light to begin", not "seeks approval to begin")."""
    token = clause.tokens[lead]
    if token.stem in _ACTIVITIES | _INTENTS:
        return True
    if token.stem in _GRANTS:
        return _has(_RECEIVED, clause.before(lead, 3))
    return _in_a_name(clause, lead)


def _in_a_name(clause: _Clause, index: int) -> bool:
    """Whether word ``index`` is, or ends, a run of capitalised words with a name in it ("Nissan
    Motor Co", not "Nissan Keen" of a title-case headline: there the word itself must be one)."""
    token = clause.tokens[index]
    if _is_name(token):
        return True
    if token.stem not in _COMPANY_WORDS or not token.text[:1].isupper():
        return False
    start = index
    while start > 0 and clause.tokens[start - 1].text[:1].isupper() and not clause.broken_before(start):
        start -= 1
    return any(_is_name(other) for other in clause.tokens[start:index])


def _after_its_subject(clause: _Clause, first: int) -> bool:
    """Whether a bare start follows its subject: a plural ("exports begin", "automakers begin"),
    or a name or plural activity reached back over names, "and" and "from"/"of"/"in" ("Nissan
    and Honda begin", "Nissan EV exports from China begin"); not with a verb between ("to help
    restart", "having its JV start")."""
    tokens = clause.tokens
    if _has(_HEDGES | _NEGATIONS | _CAUSATIVES, clause.before(first, _SUBJECT_WORDS)):
        return False
    index = first - 1
    while index >= 0 and index >= first - _SUBJECT_WORDS and not clause.broken_before(index + 1):
        token = tokens[index]
        plural = token.text.lower().endswith("s") and token.is_content
        if _is_name(token) or (plural and (index == first - 1 or token.stem in _ACTIVITIES)):
            return True
        if not (token.text[:1].isupper() or token.stem in _SUBJECT_LINKS or token.stem in _ACTIVITIES):
            return False
        index -= 1
    return False


def _opens_with_subject(clause: _Clause, first: int) -> bool:
    """Whether an -ing start follows a subject that opens its clause ("Nissan starting China EV
    exports", "Nissan and Honda starting", not "exporting EVs starting next year")."""
    before = clause.before(first, _SUBJECT_WORDS)
    opens = first - len(before) == 0 or clause.broken_before(first - len(before))
    return bool(before) and opens and all(_is_name(t) or t.stem in _SUBJECT_LINKS for t in before)


def _is_name(token: Token) -> bool:
    """A capitalised word news writes in lower case less than half the time ("Nissan", "Motor",
    not the "Decision" of a headline written in title case)."""
    return token.text[:1].isupper() and token.stem not in _lower_case_words()


@cache
def _lower_case_words() -> frozenset[str]:
    return mostly_lower_case(_NAME_LOWER_PERCENT) | unknown_case()


def _ends_a_plan(
    clause: _Clause, first: int, after: int, before: Sequence[Token], following: str, obj: Sequence[Token]
) -> bool:
    """Whether an end word ends a plan or an activity (see the module rules)."""
    tokens = clause.tokens
    previous = tokens[first - 1] if before else None
    if previous is not None and (
        previous.stem in _NOUN_BEFORE_END or _glued(previous, tokens[first], clause.text)
    ):
        return False  # a noun or a time ("the end", "by end of"), or a compound ("high-end")
    if following in ("up", "short", "in"):
        return False  # "end up", "stops short of", "a drop in sales"
    if obj and obj[0].text[:1].isdigit() and not clause.glued_before(after + 1):
        return False  # "exports drop 15%": a movement (not "a 10-year plan")
    if following == "of":
        obj = clause.after(after + 1, _OBJECT_ENDS, _END_OBJECT_WORDS)
    if _has(_HEDGES, before):
        obj = obj[:_OBJECT_WORDS]  # "exports that could end its China-for-China strategy"
    if _has(_PLANS_OR_ACTIVITIES, obj) or _has(_STOP_NOUNS, obj):
        return True
    # The plan or activity before it and nothing after it but a cause or the clause's end:
    # "exports end after six months", "plan ended" (not "sales end the year on a high", nor a
    # drop: "sales dropped" is a movement).
    written = tokens[first].text.lower()
    told_alone = following == "" or following in _TOLD_ALONE_AFTER
    return (
        told_alone
        and previous is not None
        and previous.stem in _PLANS_OR_ACTIVITIES
        and not written.startswith("drop")
    )


def _said_to_happen(clause: _Clause, first: int, after: int) -> bool:
    """Whether the start at ``tokens[first:after]`` is an event (see the module rules)."""
    tokens = clause.tokens
    before = clause.before(first)
    if any(_is_hedge(tokens, index) for index in range(first - len(before), first)):
        return False
    if after == len(tokens) or clause.broken_before(after):
        return not (before and before[-1].stem in _NOUN_BEFORE_START)
    last, following = tokens[after - 1], tokens[after]
    go_ahead_for = last.stem == "ahead" and following.stem in ("for", "to")  # "the go-ahead for exports"
    noun = bool(before) and before[-1].stem in _NOUN_BEFORE_START
    if (
        noun
        and not go_ahead_for
        and not (following.stem == "of" and _has(_ACTIVITIES, clause.after(after + 1, _OBJECT_ENDS)))
    ):
        return False  # a noun: "a head start", "the start of a new era", not "the start of exports"
    month = following.stem == "may"  # "exports to begin May": a date
    if (_is_hedge(tokens, after) and not month) or _glued(last, following, clause.text):
        return False  # "begins weighing", "start-ups"
    if following.stem == "to":  # "begins to export", not "begins to explore" or "starting to think"
        return after + 1 < len(tokens) and tokens[after + 1].stem in _ACTIVITY_VERBS
    if _has(_CONDITIONS, clause.rest(after, 2 * _OBJECT_WORDS)):
        return False  # "will begin exporting if tariffs allow"
    if (
        following.stem == "with" and last.stem != "ahead"
    ):  # "starting with petrol models", not "goes ahead with"
        return False
    if following.stem == "by" or (following.stem == "from" and last.text.lower().endswith("ing")):
        return False  # "will start by shipping petrol cars", "starting from 2024"
    if is_year(following.text):  # "kicks off 2024 by weighing exports"
        return False
    if following.stem in ("of", "the"):  # "the start of 2024", "the beginning of May", "kicks off the year"
        times = _TIMES_OF if following.stem == "of" else _TIME_NOUNS
        nxt = [token for token in tokens[after + 1 : after + 3] if token.stem != "the"][:1]
        if any(token.stem.isdigit() or token.stem in times for token in nxt):
            return False
    return True


def _is_hedge(tokens: Sequence[Token], index: int) -> bool:
    """A hedge word, but not the month May ("in May", "May 2024", "begin May 15")."""
    token = tokens[index]
    if token.stem not in _HEDGES:
        return False
    if token.stem in _HEDGES_BEFORE_TO:  # "plans to start", not "export plan goes ahead"
        return index + 1 < len(tokens) and tokens[index + 1].stem == "to"
    if token.stem != "may":
        return True
    after_date_word = index > 0 and tokens[index - 1].stem in _MONTH_BEFORE
    return not (after_date_word or (index + 1 < len(tokens) and tokens[index + 1].stem.isdigit()))


def _history(clause: _Clause, first: int, after: int) -> bool:
    """Whether a turn written in the past is dated to a year, a decade or long ago in the rest of
    its clause: background, not news ("began selling cars in China in 1973", "resumed in 2022",
    "shut down a plant in Wuhan in 2023", "started exporting from Mexico in the 1990s", "started
    producing EVs there years ago")."""
    written = clause.tokens[first].text.lower()
    if not (written.endswith("ed") or written in _PAST_FORMS):
        return False
    rest = clause.rest(after, 2 * _OBJECT_WORDS)
    return any(token.stem == "ago" or _known_year(token, clause.known_until) for token in rest)


def _known_year(token: Token, known_until: int | None) -> bool:
    """Whether ``token`` is a year (or a decade, "1990s") no later than ``known_until``."""
    text = token.text.removesuffix("s") if token.text.endswith("0s") else token.text
    return is_year(text) and (known_until is None or int(text) <= known_until)


def _glued(before: Token, token: Token, text: str) -> bool:
    """Whether two words are joined by a hyphen ("high-end", "start-ups")."""
    return token.start == before.end + 1 and text[before.end] == "-"
