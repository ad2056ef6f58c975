"""Changed figures: numbers near a fact's cue words that differ from the value the team knows.

Precision comes first: a changed figure always alerts, so a figure is compared only when its
sentence is plainly about the fact's subject and metric and the number is of the fact's kind.

Rules:

- The text is split into sentences (``text.split_sentences``); each sentence is judged alone and
  is the evidence of any change found in it.
- Cues and subject terms match whole words, case-insensitively, hyphen = space, with light
  stemming (``vehicles`` finds ``vehicle``, ``ten`` finds ``10``). Words are runs of letters and
  digits (``text.tokenize``), so Chinese, Japanese or Korean text, written without spaces, is one
  word per run: a CJK term (``日产``) matches only a run that is exactly that term, and numbers
  written against CJK characters (``8款``) are not read at all. Figures are read from English
  text; a CJK subject or cue is accepted but almost never matches.
- A sentence is about a fact's *subject* when it names one of the fact's ``subject`` terms
  (``Nissan``). One that names none is still about it when it starts by referring back (``It``,
  ``Its``, ``The company``, ``The carmaker``, ``The automaker``, ``The Japanese carmaker`` /
  ``automaker``) and the item's ``title`` names the subject. Nothing else (no pronoun further in,
  no earlier sentence) carries the subject over. A mention written right after another name
  word (``Dongfeng Nissan``; not ``Japan's Nissan``, and not ``Japanese carmaker Nissan``: a word
  news mostly writes in lower case is no name) is part of a different name and is no mention,
  unless that longer name is itself one of the subject terms.
- A sentence is about a fact's *metric* when at least two of its distinct cues occur (every cue
  when the fact has only one); two cues found over the same words (``China sales`` and ``sales in
  China`` in "sales in China sales") count once. A cue may list alternatives separated by ``|``
  (``new-energy vehicles | NEVs``): any one of them is that cue. Cues must be chosen so that any
  two of them together point at the fact, so synonyms belong in one cue as alternatives: with
  ``["new-energy vehicles | NEVs", "for China"]`` both the NEV and the China cue are needed,
  while ``["new-energy vehicles", "NEVs", "for China"]`` would take "new-energy vehicles (NEVs)"
  alone. Every cue of the fact's ``requires`` must occur too, anywhere in the sentence (a plan's
  ``"plans | will launch | line-up"``, so "launched three" or "showed eight" reads nothing); these
  do not count as cues.
- A number is a *reading* of a fact when it fits the fact's kind:
  ``count``    a whole, plain number without a scale word (``eight``, ``10``), at most
  ``COUNT_RATIO`` (10) times smaller or larger than the baseline value; ``quantity`` a plain
  number, scale words understood (``2.8m``, ``794,000``), at most ``MAX_RATIO`` (100) times
  off ("five" models is not a reading of 2.8 million vehicles); ``share`` a percentage or a
  fraction (``15%``, ``a fifth``); ``year`` a four-digit year; ``date`` a year or a part of one
  (``H2 2024``). So a year is never a count and a count never a year.
  Money (``$3bn``, ``10 billion yuan``, ``Rs 16 lakh``) only reads facts whose unit names a
  currency (an amount is a ``quantity`` in a currency unit), and money is never read by other
  facts. For counts, quantities and shares: a change (``numbers.is_change``: ``fell 16 percent``,
  ``up 24%``, ``rose by a fifth``, ``a 16% increase``, ``two more``) is not a level and reads
  nothing, so a percent change is never a share; a number followed by a time word (``10 months``,
  ``three years``, ``16-year-old``) is a duration or an age, and one followed by a measure
  (``16-inch``, ``7-seat``, ``300 km``, ``3 times``) counts something else: neither reads
  anything. For counts and quantities, nor does a number of other things than the fact counts: one
  of its own words (at most four after it, up to a word that is no noun or a noun of vehicles or
  models) names them (``in 20 cities``, ``its two joint-venture partners``: partners, not models;
  not ``12 NEVs across market segments``), or its things come from or by them (``two from
  partners``), unless the fact counts those (its unit names them), the other thing only describes
  a word the fact's unit or cues name (``two partner brands``) or, for "from", a cue of the fact
  names them. A count followed by "of" and, in the words after it up to a pronoun, a preposition
  or a clause break, a cue of the fact that is no place (``two of its new-energy models``, ``two
  of the four Nissan-brand models``; not ``all 12 of its models``) names a part of the fact's
  things, not their number: that fact does not read it (another may: in ``just two of the
  new-energy models it plans for China`` with ``joint-venture partners`` before it, the
  partners'), but only through a cue before the number or when the part is what its clause is
  about (``Five of the NEVs Nissan plans for China will carry its own badge``, ``Nissan CEO Makoto
  Uchida said eight of the 12 NEVs ...``) and a verb that gives it to what the cue names ("carry",
  "wear", "come", "be") comes between: a part that is the object of a verb is not described by a
  cue after it (``will launch two of its models for China under its own brand in 2024`` tells of a
  launch), nor is one by a cue after a verb of what happened to it (``had reached showrooms under
  its own brand``). ``all but N`` is no level, nor is ``another N`` (more, not a level), nor is
  the N of ``the rest of the N-model plan`` (the size of the whole a part is taken from, and which
  fact holds it the words do not say), and a year
  right after a word of announcing (``announced in 2023``) is when something was said, not a date
  any fact holds. In ``from X to Y`` (``numbers.is_former``: ``cut from ten to eight``, ``from 2024
  to 2026``) X is a level left behind and reads no fact: Y is the news, and X, often nearer the cue,
  would otherwise take the fact and report no change at all; when X states a fact's known value and
  a cue of that fact's own is in the clause (no break between, not even a comma), Y is that fact's
  new value, whichever fact's cue is nearer ("cut the Nissan-brand NEVs it plans for China from four
  to three": the brand's). So is the X of ``instead of X`` (``seven instead of ten``) and of ``up
  from X`` (``12, up from ten``), but ``down from 30% in 2022``, with a year after it, may be that
  year's level: only a fact of a year reads it (``12, up from ten in 2023`` changes no other count).
  Nor does one end of a range or a choice (``numbers.is_ranged``: ``8-10``, ``8 to 10``, ``eight or
  ten``, ``between 8 and 12``): it states no single level. A number followed by a scope word, right
  away or after at most three words that are not prepositions and a clause such as "it plans (to
  launch)" (``27 electrified models it plans to launch worldwide``, ``2.5 million vehicles
  globally``, ``worldwide``, ``around the world``, ``in markets around the world``, ``for global
  markets``, ``overseas``, ``abroad``), is the world's or abroad's figure: it reads only facts whose
  cues speak of that scope themselves (``global sales``, ``worldwide``, ``export``), never a China
  fact. Nor is a place cue joined to more places that place alone (``for China and other
  markets``, ``and some export markets``, ``and its home market``, ``for China and Europe``, ``and
  the US``, ``& Europe``, ``, Europe and Japan``, ``plus exports``, ``, as well as for export``,
  ``and, later, Europe``): that occurrence is no cue (``fact_sentence._widens``); a name that
  starts a clause of its own, a verb among the words after it in its clause, is no place joined
  (``and Dongfeng will build them``, ``and Japan's automakers are worried``, ``, and Europe will
  get three``; not ``and Europe developed with Dongfeng``: a participle), nor is the subject's, nor
  anything after a verb or a count (``and will export some``, ``and two for export``). A
  count of a fact of no year (a plan's size) reads no number that counts one period's things: the
  first period after it in its clause, with no other number and nothing between that hands the
  period to another clause ("after", "including", "which", "first", "as" but not in "as soon as"
  or "as part of"...), is one period (``in 2025``, ``during 2025``, ``in the first half of
  2025``, ``in the spring of 2025``, ``in fiscal 2025``, ``this year``, ``next year``, ``in the
  coming year``, ``over the next 12 months``, ``each year``, ``annually``, ``in the year to March
  2026``), or none is and a clause of a period alone opens the sentence (``In 2025,``, ``Later
  this year,``), which sets every clause up to a semicolon, or a period opens its first clause
  (``In 2025 Nissan will launch four``). A plan's horizon there (``by 2027``, ``by the end of
  2026``; ``by the end of this year`` is this year alone) keeps it the plan's size; a start
  (``from 2025``, ``starting next year``, ``in 2025 and beyond``), a year of an event
  (``announced in 2023``, ``it launched in 2025``; not ``expected in 2025``), a year before the
  count (``Nissan in 2025 raised its plan to 12``) set nothing, and a level a verb moved to
  (``raised its plan to 12``) is the plan's whatever the opening says. A count no period sets is
  a part of an earlier count of one period when marked as one (``including two``, ``two of
  them``, after a colon), at most one clause break after the part before it, with no semicolon
  and no plan of its own between (``four NEVs for China in 2025, including two plug-in hybrids``;
  not ``...: it now plans 12 in total``). A fact of a year reads no
  number nearer to a year named only relative to now (``last year``, ``a year earlier``, ``in the
  previous year``, ``in the past 12 months``) than to a year written out, as if that were another
  year (not when it tells when something was said: ``said earlier this year that ... in 2023``), nor a
  number in the clause after an opening ``Last year,``: the words do not say which year that is.
  A fact with a ``year`` reads no number whose nearest year or part of a year in the sentence
  (in words, clause breaks counted as below; at most ``MAX_CUE_GAP`` away; on a tie either) is
  another year ("600,000 in the first ten months of
  2024" is not the 2023 figure). Labels, ranks and list markers (``Model 3``, ``Episode 16``,
  ``#16``, ``No. 2``, ``1.`` - see ``numbers``), ordinals (``second-largest``, ``16th``),
  percentage points and numbers that are part of a cue (``first ten months``, ``2022``) read
  nothing.
- The subject must be the nearest name to the number: when a capitalised word or acronym that is
  not a subject term, not part of a found cue, not a month or weekday, not a common abbreviation
  (``EV``, ``NEV``, ``SUV``...) and not a title or role (``CEO``, ``Chief Executive``,
  ``President``, ``spokesman``...) is nearer to the number (in words, clause breaks counted as
  below) than every mention of the subject, the figure is that name's ("Nissan's rival BYD plans 20
  new-energy models for China" says nothing about Nissan's plan). Capitalised words written after a
  mention or next to a cue belong to it ("Nissan Motor", "Tsinghua University"), but a name with
  "'s" ends there ("Toyota's China sales" are Toyota's); name words right after a title or role are
  a person (``CEO Makoto Uchida``), and a name in a clause of its own before a word of reporting
  (``..., the Nikkei reported``) or after "according to" is a source when the subject (or the
  word referring back to it) comes before it: neither is a name a figure could belong to. A sentence
  that carries the subject over from the title counts its first word as the mention. ``it`` or
  ``its`` right after ``said`` or ``says`` stands for the name written last before it: a mention of
  the subject when that is the subject ("Nissan CEO Makoto Uchida said it plans eight..."), another
  name's otherwise.
- The fact's place must be the nearest place to the number: when a cue alternative names a place
  after a preposition (``for China``, ``in China``) and a place preposition ("for", "in", "to")
  stands before another name (``for Europe``, ``in the US``; not one the cue itself names)
  nearer to the number than every occurrence of that cue, the figure is that other place's
  ("Nissan plans eight models for Europe and ten for China" says eight for Europe, not eight for
  China; so does "eight models in Europe ... its plans for China").
- Numbers and facts are paired closest first: every (number, fact) pair within ``MAX_CUE_GAP``
  words of one of the fact's cues (a clause break, i.e. a comma, semicolon, colon, dash, bracket
  or a joining "and", "but", "while", "whereas", counts as ``CLAUSE_PENALTY`` words (see
  ``fact_sentence``, which finds these positions); a cue before the number counts
  ``BEFORE_PENALTY`` more, since a figure usually comes before what it counts) is ranked by that
  gap (ties: the fact with more cues in the sentence), and pairs are taken in that order, each
  number and each fact at most once. A number whose nearest fact another number of the sentence
  restates is that fact's, and reads no other: in "cancelled two of the four Nissan-brand models,
  leaving two own-badge models" the last two is the brand's, whose four came first, never the
  total's (while in "12 NEVs for China, including eight NEVs with joint-venture partners" the
  eight, nearest the total that 12 has changed, is the partners'). When a number still ranks
  equally for two facts not yet taken, it goes to the one whose value it restates (a restatement
  of one fact is no change of another: "worked with Tsinghua since 2016 on research centre
  projects" restates when the collaboration began and says nothing about when the centre opens);
  if it restates neither, it is ambiguous and read by none. So in "four under its brand and the
  rest with joint-venture partners" the four is the brand's, not the partners'; in "12 NEVs for
  China, five under the Nissan brand" 12 is the NEV total's and five the brand's; in "... carry
  the Nissan brand, six come from joint-venture partners" the six is the partners', and in "four
  under its own brand and six with its joint-venture partners" the six is still the partners'. A
  number that restates a fact whose own cue (one the nearer fact lacks) its words go on to name,
  at most ``MAX_CUE_GAP`` words on with nothing between but words that link a number to what it
  counts (determiners, "it", "that", "which", "under", "with", "from", "by", "for", "to be", words
  that give a model its maker or badge such as "sold", "built", "carrying", an origin such as
  "Chinese" or "local", the subject, the fact's required words and the nearer fact's cues),
  changes no other fact: in "the first of four
  NEVs Nissan plans under its own brand" the four is the brand's four, not a new total, while
  "just four NEVs for China, all under its own brand", "only four NEVs for China as its own brand
  struggles", "four NEVs for China to revive its own brand" and "four NEVs for China including two
  under its own brand" still say the total is four. A new number that both facts could hold, the
  nearer fact's cue first and the other's attached by "under", "with", "from" or "by", is read by
  neither ("just three NEVs for China with joint-venture partners"), unless it is the whole of a
  part ("eight of the 12 NEVs it plans for China will come from joint-venture partners": the total
  is 12). Of two numbers equally near a fact, the one nearest a cue of the fact's own (a cue no
  other fact of the baseline has) goes first; a year or date whose nearest cue is one other facts
  share is read only when one of the fact's own cues is in its clause, an aside between commas
  included ("Nissan first partnered with Tsinghua in 2016 and plans a research centre with
  partners in 2025": the centre's year is 2025, not 2016).
- Same value: within the fact's relative tolerance (``Fact.effective_tolerance``); for ``date``
  facts, the two periods overlap (``2024`` overlaps ``H2 2024``, ``H1 2025`` does not). A reading
  with the same value is a restatement and yields nothing; a different one yields a
  ``FactChange``. The same (fact, new value) is reported once, from its first sentence, and of two
  readings of a date fact one of whose periods lies inside the other's (a title's "late 2025" read
  as the year, its text's "second half of 2025"), only the finer.

Cost: a sentence is tokenised once, its cues, mentions and other names are found once per fact,
and each number is located and looked around once (a bounded look-behind, see ``numbers``); a
(number, fact) pair then costs a few binary searches over sorted positions. A sentence of n
words and m numbers costs O(n + m log n) per fact, so hostile text (20,000 characters of one
sentence full of numbers) is read in linear time.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate, pairwise
from typing import NamedTuple

from service.baselines.change import FactChange
from service.baselines.fact_sentence import (
    CLAUSE_PENALTY,
    FactCues,
    FactSpans,
    Phrases,
    SentenceWords,
    another_place_is_nearer,
    counts_a_part,
    cue_first_stems,
    cue_gap,
    cues_following,
    fact_spans,
    may_be_about,
    nearest_cue_is_its_own,
    own_cue_in_clause,
    part_is_described,
    part_is_subject,
    place_lead_stems,
    read_sentence,
    subject_is_nearest,
    token_range,
)
from service.baselines.model import Fact, cue_alternatives
from service.baselines.numbers import (
    Behind,
    Number,
    find_numbers,
    following_word,
    format_amount,
    format_percent,
    is_change,
    is_dated,
    is_from_to,
    is_left_behind,
    is_moved_from,
    is_ranged,
)
from service.baselines.text import (
    Token,
    find_phrase,
    split_sentences,
    stem,
    stem_positions,
    stems_of,
    tokenize,
    word_set,
)

MAX_CUE_GAP = 12
MAX_RATIO = 100.0
COUNT_RATIO = 10.0
_READ_NOTHING = frozenset({"label", "points", "ratio"})  # kinds of number no fact reads
_TIME_WORDS = word_set("day days week weeks month months quarter quarters year years decade decades")
# Words after a number that say it measures or multiplies something rather than counts the
# fact's things ("16-inch screen", "a 7-seat SUV", "3 times").
_MEASURE_WORDS = word_set(
    """inch inches cm mm metre metres meter meters km kilometre kilometres kilometer kilometers mile
    miles kwh kw mw gw hp bhp ps nm mph kph kmh kg tonne tonnes ton tons litre litres liter liters
    seat seats seater door doors speed cylinder cylinders gb tb mp megapixel megapixels times fold
    volt volts star stars storey storeys floor floors lane lanes"""
)
# Words that name other things than what a fact counts ("in 20 cities", "with 6 partners", "1,000
# jobs", "its two joint-venture partners"): a number whose own words name them reads nothing,
# unless the fact counts them (see ``_counts_other_things``).
_OTHER_THINGS = word_set(
    """city cities town towns province provinces country countries market markets region regions
    partner partners partnership partnerships supplier suppliers plant plants factory factories site
    sites dealer dealers dealership dealerships store stores showroom showrooms outlet outlets office
    offices employee employees worker workers staff engineer engineers job jobs people customer
    customers user users station stations charger chargers centre centres center centers"""
)
# Words that end the words a number may count: "two from partners" counts something from them.
_NOT_A_NOUN = word_set(
    """in of for to and or but from at with by under over into on as than that which who whose will
    would could can may might is are was were be been has have had do does did its their his her the a
    an this these those each all some more most fewer less via across through throughout using
    spanning covering sharing including per among between within without after before during against
    like near toward towards upon out"""
)
# Nouns of what a fact of vehicles or models counts: the number's words end with them ("12 NEVs
# across market segments" counts NEVs, "794,000 vehicles via partner Dongfeng" vehicles).
_THING_NOUNS = word_set(
    """vehicle vehicles car cars model models unit units ev evs nev nevs suv suvs truck trucks van vans
    bev bevs phev phevs hybrid hybrids sedan sedans"""
)
# Look-behinds that must end where a number starts (``numbers.Behind``: a bounded window).
# A year right after a word of announcing tells when something was said, not when it happens
# ("the research centre, announced in 2023, will open next year").
_ANNOUNCED = Behind(
    r"\b(?:announced|unveiled|agreed|signed|discussed|revealed|proposed|reported)\s+(?:in\s+|on\s+)?$"
)
# Periods (``_period_phrases``): the word that governs a year or "this/next year", found past the
# words a period may hold ("in the second half of", "in fiscal", "by the end of"), says what it
# is: one period ("in 2025", "during 2025", "next year"), a plan's horizon ("by 2027", "until
# 2026"; "by the end of this year" is this year alone), or a start ("from 2025"), which sets nothing.
_ONE_PERIOD_LEADS = frozenset({"in", "during"})
_HORIZONS = frozenset({"by", "until", "till", "through", "before"})
_STARTS = frozenset(stem(word) for word in word_set("from since starting beginning"))
_PERIOD_INNER = frozenset(
    stem(word)
    for word in word_set(
        """the fiscal financial calendar early late mid first second third fourth half quarter end
        middle of year spring summer autumn fall winter"""
    )
)
_THIS_OR_NEXT = frozenset({"this", "next"})
# Periods named without their year (``_unnamed_period``): their nouns, the words that order them,
# and the prepositions that may govern them.
_PERIOD_NOUNS = frozenset({"year", "half", "quarter"})
_PAST_ORDERS = frozenset(stem(word) for word in word_set("last past previous prior preceding"))
_COMING_ORDERS = frozenset(stem(word) for word in word_set("next coming following"))
_PERIOD_ORDERS = _PAST_ORDERS | _COMING_ORDERS | frozenset({"this", "current", "12"})  # "twelve" stems to 12
_AGO = frozenset(stem(word) for word in word_set("earlier ago before"))
_EACH = frozenset({"each", "every", "per"})
# Verbs of change (as stems' starts) before "to N" (``_moved_to``), looked for this many words back.
_MOVES = (
    "rais",
    "lift",
    "increas",
    "cut",
    "trim",
    "reduc",
    "lower",
    "expand",
    "scal",
    "boost",
    "slash",
    "revis",
    "pare",
)
_MOVE_REACH = 10
_SPANS = frozenset({"within", "over"})
_PART_BREAKS = 1
_AS_PERIOD = frozenset({"early", "soon", "late", "part"})
# What makes a count a part of the count before it: "including two", "two of them", "of which two",
# "with two", a colon; a clause with a plan of its own ("it now plans 12") is no part.
_PART_MARK = re.compile(r"\b(?:including|of which|with)\b|:", re.IGNORECASE)
_OF_THEM = re.compile(r"\s+of\s+(?:them|those|these)\b", re.IGNORECASE)
_A_PLAN = re.compile(r"\bplan", re.IGNORECASE)
_PERIOD_REACH = 8
"""Words a period's phrase may hold before its noun or year ("in the second half of the fiscal")."""
_PREPOSITIONS = frozenset({"in", "during", "within", "over", "by", "until", "till", "through", "before"})
_RELATIVE_YEARS = frozenset({"last", "this", "next", "past"})
_ONWARDS = frozenset(stem(word) for word in word_set("beyond onwards onward"))
# A year right after a verb of a past event is that event's, not the count's ("it launched in
# 2025", "sales fell in 2024"): such a verb before "in" ends in -ed, or is one of these.
_PAST_EVENTS = frozenset(stem(word) for word in word_set("fell rose began grew sold made built took saw"))
_DUE = word_set("expected scheduled slated planned timed targeted")  # "expected in 2025": still to come
_SAID_REACH = 4
# Words between a count and a later period that hand the period to another clause: "12 NEVs for
# China after its sales fell in 2024", "including the N7 it launched in 2025".
_NOT_THE_COUNTS_PERIOD = frozenset(
    stem(word)
    for word in word_set(
        """after before since when while including which who whom whose because although though
        where than first"""
    )
)
# A year told as when something was said is no period of what was said: "said last year that...".
_SAID = frozenset(stem(word) for word in word_set("said says say told reported announced"))
# An opening clause of a period alone ("In 2025,", "Last year,", "Later this year,") sets the
# whole sentence: the words it may hold besides the year's own. "Earlier this year, Nissan raised
# its plan to 12" tells when the plan changed, so "earlier" sets no one period.
_PERIOD_WORDS = (
    _ONE_PERIOD_LEADS
    | _PERIOD_INNER
    | _RELATIVE_YEARS
    | word_set("over for later sometime also too alone so far coming earlier")
)
_WHOLE_OF_A_PART = Behind(r"\bof\s+(?:the\s+|its\s+|their\s+)?$")  # "eight of the 12"
# No level of any fact: "all but four of them" (the rest), "another eight" (more), and "the rest of
# the eight-model plan"
# (the size of the whole some part is taken from; which fact holds that whole the words do not
# say). One look-behind for both: it is asked of every number.
_NO_LEVEL_BEFORE = Behind(
    r"(?:(?:\ball\s+but|\banother|\b(?:rest|remainder|balance)\s+of(?:\s+(?:the|its|their|this|that))?)\s+"
    r"|\b(?:19|20)\d\d/)$"  # and the end of a fiscal year: the 26 of "2025/26"
)
_WORDS_AFTER = re.compile(r"(?:[\s-]+[^\W\d_]+){1,4}")
_OTHER_THING_STEMS = frozenset(stem(word) for word in _OTHER_THINGS)
# "two from partners", "four by its joint-venture partners": the things counted come from other
# things; only a fact whose cues name those may read the number. ("With" is left out: in "raised
# to 12 with its partners" it goes with the verb, not the number.)
_ATTRIBUTED_TO = re.compile(
    r"[\s-]+(?:from|by)\s+(?:(?:its|their|the|his|her|our|local|chinese|japanese)\s+)?"
    r"((?:[^\W\d_]+[\s-]+){0,2}[^\W\d_]+)",
    re.IGNORECASE,
)
_MONEY_WORDS = word_set(
    "$ € £ ¥ ₹ usd us$ dollar dollars euro euros yen yuan rmb cny renminbi pound pounds rupee rupees rs inr"
)
# A scope right after a number (and at most three words naming what it counts): the figure is
# the world's or abroad's, never one place's ("sold 2.5 million vehicles globally").
_SCOPE_AFTER = re.compile(
    r"(?:[\s-]+(?!(?:in|of|for|to|and|or|but|from|at|with|by)\b)[^\W\d_]+){0,3}?"
    # a clause about the plan may come between: "27 electrified models it plans to launch worldwide"
    r"(?:[\s-]+(?:the\s+company|\w+)\s+plans(?:\s+to\s+(?:launch|sell|build|offer))?)?[\s-]+"
    r"(?:globally|worldwide|world-wide|internationally|overseas|abroad|around\s+the\s+(?:world|globe)|"
    r"across\s+the\s+(?:world|globe)|(?:in|for|across)\s+(?:global|world|international|overseas|foreign)"
    r"\s+markets|(?:in|across)\s+markets\s+around\s+the\s+world)\b",
    re.IGNORECASE,
)
# Cue stems that make a fact the world's or abroad's itself: a scope word does not contradict it.
_WIDE_SCOPE_STEMS = word_set(
    "global globally worldwide world international internationally overseas abroad export"
)


@dataclass(frozen=True, slots=True)
class _Seen:
    """A number of the sentence and what its neighbours say, looked at once for every fact: the
    tokens it covers, whether it is a change, the word after it, a scope word after it."""

    number: Number
    tokens: tuple[int, int]
    change: bool
    next_word: str
    scoped: bool
    words_after: tuple[str, ...]  # its own words: up to four, lower-cased, before a word that is no noun
    attributed: str  # the other things it comes from or with ("two from partners": "partners"); or ""
    former: bool
    from_to: bool  # the X of "from X to Y": the next number is its Y
    ranged: bool
    dated_level: bool  # "down from 30% in 2022": another period's level, for a fact of a year


class _Years(NamedTuple):
    """The years and parts of years of a sentence, in order: token ranges and the year."""

    firsts: list[int]
    lasts: list[int]
    values: list[int]


@dataclass(frozen=True, slots=True)
class _Claim:
    found: FactSpans  # what the sentence says of the fact claiming the number
    number: Number
    tokens: tuple[int, int]  # the number's
    gap: int
    restates: bool
    specific: bool  # its nearest cue is the fact's own, shared with no other fact: first on a tie
    continues: bool  # the Y of "from X to Y" whose X states the fact's known value

    @property
    def cues(self) -> FactCues:
        return self.found.cues

    @property
    def rank(self) -> tuple[int, int]:
        return self.gap, -self.found.matched


def find_fact_changes(text: str, facts: Sequence[Fact], *, title: str = "") -> list[FactChange]:
    """Every fact whose figure in ``text`` differs from the baseline (see the module rules);
    ``title`` is the item's title, which may name the subject for sentences that refer back."""
    return fact_changes(text, compile_facts(facts), title=title)


def compile_facts(facts: Sequence[Fact]) -> tuple[FactCues, ...]:
    """Each fact's cues, required words and subject as stems, ready to read items with: done
    once per baseline version (``novelty.compile_baseline``), it was a third of reading an
    item's figures when done per item (~180 of ~515 µs per matched item of the corpus)."""
    compiled = []
    for order, fact in enumerate(facts):
        subject = tuple(stems_of(term) for term in fact.subject)
        phrases = _phrases(fact.cues)
        wide = any(stem in _WIDE_SCOPE_STEMS for cue in phrases for phrase in cue for stem in phrase)
        requires = _phrases(fact.requires)
        firsts, leads = cue_first_stems(phrases), place_lead_stems(phrases)
        compiled.append(FactCues(fact, order, phrases, requires, subject, False, wide, firsts, leads))
    return tuple(
        replace(
            cues,
            shared=_shared_cues(cues, compiled),
            required_words=frozenset(word for cue in cues.requires for phrase in cue for word in phrase),
        )
        for cues in compiled
    )


def _shared_cues(cues: FactCues, compiled: Sequence[FactCues]) -> frozenset[int]:
    """The cues of ``cues`` that another of the facts has too (any alternative in common)."""
    others = {
        alternative
        for other in compiled
        if other.order != cues.order
        for cue in other.phrases
        for alternative in cue
    }
    return frozenset(index for index, cue in enumerate(cues.phrases) if not others.isdisjoint(cue))


def fact_changes(text: str, compiled: Sequence[FactCues], *, title: str = "") -> list[FactChange]:
    """:func:`find_fact_changes` with the facts compiled beforehand (:func:`compile_facts`)."""
    # A sentence that holds no first word of any fact's cues is about none of them: one set test
    # turns away most sentences, where a test per fact was ~5 % of judging a short item.
    cue_firsts = frozenset().union(*(firsts for fact in compiled for firsts in fact.cue_firsts))
    in_title = _TitleSubjects(title)
    changes: list[tuple[FactChange, float]] = []  # with the period a date's reading covers
    seen: set[tuple[str, float]] = set()
    for sentence in split_sentences(text):
        for claim in _claims(sentence, compiled, cue_firsts, in_title):
            new = claim.number.reading
            fact = claim.cues.fact
            if claim.restates or (fact.id, new) in seen:
                continue
            seen.add((fact.id, new))
            changes.append((_change(fact, new, claim.number, sentence), claim.number.period_years))
    return [change for change, years in changes if not _a_finer_date_within(change, years, changes)]


def _a_finer_date_within(
    change: FactChange, years: float, changes: Sequence[tuple[FactChange, float]]
) -> bool:
    """Whether another reading of the same date fact lies inside this one's period: a title's "late
    2025" read as the year 2025 beside its text's "second half of 2025" is one change, the finer."""
    end = change.new + years
    return any(
        other.fact_id == change.fact_id
        and other_years < years
        and change.new <= other.new
        and other.new + other_years <= end
        for other, other_years in changes
    )


@dataclass(slots=True)
class _TitleSubjects:
    """The facts marked when an item's title names their subject: worked out only for the facts
    a sentence may be about, and once per item (a sentence at a time, a long title naming the
    subject was read again for every such sentence)."""

    title: str
    marked: dict[int, FactCues] = field(default_factory=dict)  # by the fact's order

    def mark(self, candidates: Sequence[FactCues]) -> list[FactCues]:
        unread = [cues for cues in candidates if cues.order not in self.marked]
        if unread:
            read = _named_in(self.title, unread)
            self.marked.update((cues.order, done) for cues, done in zip(unread, read, strict=True))
        return [self.marked[cues.order] for cues in candidates]


def _named_in(title: str, compiled: Sequence[FactCues]) -> Sequence[FactCues]:
    """The facts, each marked when ``title`` names its subject (a sentence may then refer back)."""
    if not title:
        return compiled
    title_tokens = tokenize(title)
    title_stems = stem_positions(title_tokens)
    return [
        replace(cues, named_in_title=True)
        if any(find_phrase(title_tokens, term, starts_of=title_stems) for term in cues.subject)
        else cues
        for cues in compiled
    ]


def _phrases(cues: Sequence[str]) -> Phrases:
    return tuple(tuple(stems_of(phrase) for phrase in cue_alternatives(cue)) for cue in cues)


def _claims(
    sentence: str, compiled: Sequence[FactCues], cue_firsts: frozenset[str], in_title: _TitleSubjects
) -> list[_Claim]:
    """The number each fact takes from ``sentence``: closest pairs first, one number per fact;
    ``cue_firsts``: every first word of the facts' cues."""
    words = tokenize(sentence)
    stems = {token.stem for token in words}
    if cue_firsts.isdisjoint(stems):
        return []
    candidates = [cues for cues in compiled if may_be_about(stems, cues)]
    if not candidates:
        return []
    read = read_sentence(sentence, words)
    # Asked only of the few facts a sentence may be about: marking every fact of every item cost
    # a copy of each when the title names their subject (the seed's nine facts share one).
    about = [found for cues in in_title.mark(candidates) if (found := fact_spans(read, cues)) is not None]
    if not about:
        return []
    numbers = [
        _look_at(read, number) for number in find_numbers(sentence) if number.kind not in _READ_NOTHING
    ]
    years = _years(read, numbers)
    dated = _dated_by_periods(read, numbers)
    continued = _continued(read, numbers, about)
    claims = [
        claim
        for seen in numbers
        for claim in _candidate_claims(read, seen, about, years, dated, continued.get(seen.number.start))
    ]
    return _take_closest(claims, read)


class _Dated(NamedTuple):
    """What the sentence's periods say of its numbers, by their starts (``_dated_by_periods``)."""

    one_period: frozenset[int]  # counts of one period's things, not of a plan
    unknown_year: frozenset[int]  # numbers of a year named only as "last year" and the like


def _dated_by_periods(read: SentenceWords, numbers: Sequence[_Seen]) -> _Dated:
    """The counts of one period's things (``_Periods.period_of``), a level a verb moved to aside
    ("raised its plan to 12"): a count that nothing sets, after one set in one period, is a part of
    it ("four NEVs for China in 2025, including two plug-in hybrids", "... in 2025: two under its
    own brand"). And the numbers after an opening "Last year,"."""
    periods = _periods(read, numbers)
    one_period: set[int] = set()
    unknown_year: set[int] = set()
    whole: _Seen | None = None  # the last count of one period, whose parts may follow
    last: _Seen | None = None  # it, or its last part
    for seen in numbers:
        if periods.opens_with_a_relative_year(seen.tokens):
            unknown_year.add(seen.number.start)
        if seen.number.kind in ("year", "period"):
            continue
        period = periods.period_of(seen.tokens)
        if (
            period is None
            and whole is not None
            and last is not None
            and _part_of(read, periods, whole, last, seen)
        ):
            period = "part"
        # a level a verb moved to is the plan's, whatever the sentence opens with or counts before
        if period == "one period" or (period in ("opening", "part") and not _moved_to(read, seen)):
            one_period.add(seen.number.start)
            if period != "part" and seen.number.kind == "plain" and not seen.change:
                whole = seen
            last = seen
    return _Dated(frozenset(one_period), frozenset(unknown_year))


def _part_of(read: SentenceWords, periods: _Periods, whole: _Seen, last: _Seen, seen: _Seen) -> bool:
    """Whether a count no period sets is a part of an earlier count of one period: marked as one
    (``_PART_MARK``, "two of them"), at most ``_PART_BREAKS`` clause breaks after the part before
    it (``last``), no semicolon and no plan of its own between ("four NEVs for China in 2025,
    including two plug-in hybrids"; not "...: it now plans 12 in total")."""
    breaks = periods.clause_of[seen.tokens[0]] - periods.clause_of[last.tokens[1]]  # from the part before
    between = read.text[whole.number.end : seen.number.start]
    marked = _PART_MARK.search(between) is not None or _OF_THEM.match(read.text, seen.number.end) is not None
    return (
        breaks <= _PART_BREAKS * CLAUSE_PENALTY
        and ";" not in between
        and marked
        and _A_PLAN.search(between) is None
    )


def _continued(
    read: SentenceWords, numbers: Sequence[_Seen], about: Sequence[FactSpans]
) -> dict[int, frozenset[int]]:
    """For the Y of each "from X to Y" whose X states the known value of facts the sentence is
    about, each with a cue of its own in the clause (no break between, not even a comma), those
    facts (by order): Y is their new value, whichever fact's cue is nearer ("cut the
    Nissan-brand NEVs it plans for China from four to three" changes the brand's four; in
    "raised the models it plans for China from six to ten, working with its joint-venture
    partners" the six is no partners' figure)."""
    continued = {}
    for before, seen in pairwise(numbers):
        if not before.from_to:
            continue
        first, last = before.tokens[0], seen.tokens[1]
        facts = frozenset(
            found.cues.order
            for found in about
            if _fits(found.cues.fact, before)
            and _same(found.cues.fact, before.number.reading, before.number)
            and own_cue_in_clause(read, found, first, last, across_commas=False)
        )
        if facts:
            continued[seen.number.start] = facts
    return continued


def _look_at(read: SentenceWords, number: Number) -> _Seen:
    scoped = _SCOPE_AFTER.match(read.text, number.end) is not None
    next_word = following_word(read.text, number)
    words_after = _words_after(read.text, number)
    attributed = _attributed_to(read.text, number)
    text = read.text
    change, ranged = is_change(text, number), is_ranged(text, number)
    moved = is_moved_from(text, number)  # asked once: it decides both below
    from_to = is_from_to(text, number)
    former = moved or from_to or is_left_behind(text, number)
    dated_level = moved and is_dated(text, number)
    return _Seen(
        number,
        token_range(read, number),
        change,
        next_word,
        scoped,
        words_after,
        attributed,
        former,
        from_to,
        ranged,
        dated_level,
    )


def _words_after(text: str, number: Number) -> tuple[str, ...]:
    """The words right after the number that may name what it counts: at most four, joined by
    spaces or hyphens only, up to the first word that is no noun ("two joint-venture partners";
    of "two from partners", none)."""
    found = _WORDS_AFTER.match(text, number.end)
    words = []
    for word in _nouns_leading(found.group() if found else ""):
        words.append(word)
        if word in _THING_NOUNS:
            break
    return tuple(words)


def _attributed_to(text: str, number: Number) -> str:
    """The word of ``_OTHER_THINGS`` that the number's things come from or with, right after it
    ("two from partners", "four with its joint-venture partners"), or ``""``."""
    found = _ATTRIBUTED_TO.match(text, number.end)
    return next(
        (word for word in _nouns_leading(found.group(1) if found else "") if word in _OTHER_THINGS), ""
    )


def _nouns_leading(phrase: str) -> Iterator[str]:
    """The words of ``phrase``, lower-cased, up to the first that is no noun (``_NOT_A_NOUN``)."""
    for word in re.split(r"[\s-]+", phrase.strip(" -").lower()):
        if not word or word in _NOT_A_NOUN:
            return
        yield word


def _years(read: SentenceWords, numbers: Sequence[_Seen]) -> _Years:
    """The years written out, and "last/this/next/past year" as a year no fact holds (0): which
    year that is, the words do not say ("15% last year" is no figure of 2023's share). Not after a
    word of saying: "said last year that ... in 2023" tells when it was said."""
    tokens = read.tokens
    spans = [
        (seen.tokens[0], seen.tokens[1], int(seen.number.value))
        for seen in numbers
        if seen.number.kind in ("year", "period")
    ]
    for index in range(len(tokens)):
        unnamed = _unnamed_period(tokens, index)
        if unnamed is not None and unnamed.kind != "each":
            said = any(t.stem in _SAID for t in tokens[max(0, unnamed.starts - _SAID_REACH) : unnamed.starts])
            if not said:  # "said earlier this year that ...", "said in a filing this year"
                spans.append((unnamed.starts, index, 0))
    spans.sort()
    return _Years(
        [first for first, _, _ in spans], [last for _, last, _ in spans], [year for _, _, year in spans]
    )


def _take_closest(candidates: list[_Claim], read: SentenceWords) -> list[_Claim]:
    """Pairs in rank order, each number and each fact once; on a tie a restatement goes first,
    a number tied between facts that it restates none of is ambiguous and read by none, a
    number whose nearest fact another number restates falls to no other fact, and a number
    that restates a fact naming a cue of its own in the number's clause changes no other."""
    candidates.sort(key=lambda c: (c.rank, not c.restates, not c.specific, c.cues.order, c.number.start))
    on_number: dict[int, list[_Claim]] = {}  # number -> its claims, so a claim looks at its own
    for claim in candidates:
        on_number.setdefault(claim.number.start, []).append(claim)
    nearest: dict[int, _Claim] = {}  # number -> its best-ranked claim (candidates are sorted)
    for claim in candidates:
        nearest.setdefault(claim.number.start, claim)
    restated: set[int] = set()  # facts taken by a restatement
    tied: dict[tuple[int, tuple[int, int]], set[int]] = {}
    for claim in candidates:
        tied.setdefault((claim.number.start, claim.rank), set()).add(claim.cues.order)
    taken_facts: set[int] = set()
    taken_numbers: set[int] = set()
    claims = []
    for claim in candidates:
        if claim.cues.order in taken_facts or claim.number.start in taken_numbers:
            continue
        best = nearest[claim.number.start]
        if claim.rank > best.rank and best.cues.order in restated:
            continue  # "cancelled two of the four Nissan-brand models, leaving two own-badge models"
        settled = claim.restates or claim.continues
        named = None if settled else _named_after(claim, on_number[claim.number.start], read)
        if named is not None:
            if not named.restates:
                taken_numbers.add(claim.number.start)  # "three NEVs for China with its partners"
            continue  # "the first of four NEVs it plans under its own brand": the brand's four
        taken_numbers.add(claim.number.start)
        rivals = tied[(claim.number.start, claim.rank)] - taken_facts - {claim.cues.order}
        if rivals and not settled:
            continue
        taken_facts.add(claim.cues.order)
        if claim.restates:
            restated.add(claim.cues.order)
        claims.append(claim)
    return sorted(claims, key=lambda c: c.cues.order)


def _named_after(change: _Claim, candidates: Sequence[_Claim], read: SentenceWords) -> _Claim | None:
    """Another fact's claim on the number of ``change`` whose own cue (one the changed fact lacks)
    the number's words go on to name (``fact_sentence.cues_following``), restating claims first.
    If it restates, the number is that fact's ("four NEVs the company plans under its own brand"
    restates the brand's four and says nothing of the total); if it changes it too and its cue is
    attached by a preposition, the number is either fact's and read by neither ("just three NEVs
    for China with joint-venture partners"; not "five Nissan-branded NEVs", the brand's five, nor
    the whole of a part, "eight of the 12 NEVs it plans for China will come from joint-venture
    partners"). "just four NEVs for China, all under its own brand" (a clause break), "four NEVs
    for China as its own brand struggles" and "four NEVs, including two under its own brand" (the
    brand's cue is the two's) name none: the total is four."""
    last = change.tokens[1]
    whole_of_a_part = _WHOLE_OF_A_PART.ends_at(read.text, change.number.start) is not None
    own = set(change.cues.phrases)
    linking = change.found.cue_tokens
    others = sorted(
        (c for c in candidates if c.cues.order != change.cues.order),
        key=lambda c: not c.restates,
    )
    for other in others:
        if whole_of_a_part and not other.restates:
            continue
        following = cues_following(
            read, other.found, last, within=MAX_CUE_GAP, linking=linking, attaching=not other.restates
        )
        if any(other.cues.phrases[index] not in own for index in following):
            return other
    return None


def _candidate_claims(
    read: SentenceWords,
    seen: _Seen,
    about: Sequence[FactSpans],
    years: _Years,
    dated: _Dated,
    continued: frozenset[int] | None,
) -> list[_Claim]:
    first, last = seen.tokens
    claims = []
    if (seen.former and not seen.dated_level) or seen.ranged:
        return []  # the ten of "from ten to eight" (left behind), or one end of "8-10": no level
    if _NO_LEVEL_BEFORE.ends_at(read.text, seen.number.start) is not None:
        return []  # "all but four of them", "the rest of the eight-model plan": no level
    announced = (
        seen.number.kind in ("year", "period")
        and _ANNOUNCED.ends_at(read.text, seen.number.start) is not None
    )
    # the facts the number names a part of the things of ("two of its new-energy models")
    parts_of = {
        found.cues.order
        for found in about
        if found.cues.fact.kind == "count" and counts_a_part(read, found, first, last)
    }
    for found in about:
        fact = found.cues.fact
        if continued is not None and found.cues.order not in continued:
            continue  # "from four to three" of the brand's four: the three is the brand's alone
        if seen.dated_level and fact.year is None:
            continue  # "12, up from ten in 2023": the ten is left behind for a fact of no year
        if not _fits(fact, seen) or (seen.scoped and not found.cues.wide_scope):
            continue  # the wrong kind of number, or the world's figure for one place's fact
        counted = fact.kind in ("count", "quantity")
        if counted and _counts_other_things(found.cues, seen.words_after):
            continue  # "in 20 cities", "its two joint-venture partners": a count of something else
        if counted and seen.attributed and not _cues_name(found.cues, seen.attributed):
            continue  # "two from partners": the partners' things, not the brand's
        if announced and fact.kind in ("year", "date"):
            continue  # "announced in 2023": when it was said
        if found.cues.order in parts_of:
            continue  # "two of its new-energy models": some of the fact's things, not their number
        if fact.kind == "count" and parts_of and not _may_take_a_part(read, found, first, last, about):
            continue  # "will launch two of its models for China under its own brand in 2024"
        gap = cue_gap(found, first, last)
        if gap is None or gap > MAX_CUE_GAP or _other_year(fact, seen.tokens, years):
            continue  # part of a cue ("first ten months"), too far, or another year's figure
        if fact.kind == "count" and fact.year is None and seen.number.start in dated.one_period:
            continue  # "four NEVs for China in 2025", "next year": one year's launches, not the plan
        if fact.year is not None and seen.number.start in dated.unknown_year:
            continue  # "Last year, China made up a quarter of ...": which year, the words do not say
        if not subject_is_nearest(found, first, last) or another_place_is_nearer(found, first, last):
            continue  # another name's figure, or another place's ("eight for Europe")
        restates = _same(fact, seen.number.reading, seen.number)
        specific = nearest_cue_is_its_own(found, first, last)
        if fact.kind in ("year", "date") and not specific and not own_cue_in_clause(read, found, first, last):
            continue  # "partnered with Tsinghua in 2016 and plans a research centre": not the centre's
        claims.append(_Claim(found, seen.number, seen.tokens, gap, restates, specific, continued is not None))
    return claims


def _may_take_a_part(
    read: SentenceWords, found: FactSpans, first: int, last: int, about: Sequence[FactSpans]
) -> bool:
    """Whether a fact may read a number that is a part of another fact's things: when one of its
    own cues (no place) comes before the number ("its joint-venture partners will deliver just
    two of the models it plans"), or when the part is what its clause is about, so that a cue
    after it describes it ("Five of the NEVs Nissan plans for China will carry its own badge").
    A part that is the object of a verb is not described by a cue after it: "Nissan will launch
    two of its models for China under its own brand in 2024" tells of a launch, not of how many
    models the brand has."""
    own = found.thing_starts
    if own and own[0] < first:
        return True
    if not own or not part_is_subject(read, found, first):
        return False
    # the words of every fact's cues and the subject may stand in the part's noun phrase and its
    # clause ("of the new-energy models that Nissan plans for China"), with the required words
    allowed = frozenset(found.mentions).union(*(other.cue_tokens for other in about))
    after = next((start for start in own if start > last), last + 1)
    return part_is_described(read, last, after, allowed, found.cues.required_words)


class _Phrase(NamedTuple):
    """A period of a sentence: where its governing word stands, and what it is."""

    at: int
    kind: str  # "one period" | "horizon"


@dataclass(frozen=True, slots=True)
class _Periods:
    """Where a sentence sets a count in one period: worked out once per sentence, so asking it of
    every number costs a binary search, whatever the sentence holds."""

    clause_of: list[int]
    """Per token, the clause slots before it: two words with no break between have one value."""
    phrases: list[_Phrase]
    """Its periods ("in 2025", "next year", "by 2027"), in order."""
    not_the_counts: list[int]
    """Per token, how many words of ``_NOT_THE_COUNTS_PERIOD`` come before it."""
    opening: frozenset[str]
    """What a clause of a period alone that opens the sentence sets in the clause after it: "one
    period", "relative", both or neither; "first clause" when a period opens the sentence's first
    clause ("In 2025 Nissan will launch four..."), which it sets alone."""
    opened_until: int
    """Where an opening's reach ends: at the first semicolon after it (a later clause there is news
    of its own: "In 2023, Nissan said it would launch ten; it now plans 12"), else the end."""
    counts: list[int]
    """Where the sentence's other numbers start: a period after a later number is that number's."""

    def period_of(self, number_range: tuple[int, int]) -> str | None:
        """What sets the count: "one period" when the first period after it in its clause, with
        no other number and nothing between that hands it to another clause, is one ("four NEVs
        for China in 2025", "next year"): it counts that period's launches, not the size of a plan;
        "horizon" when that period is a plan's horizon ("by 2027"): the plan's size; "opening"
        when none is and a period opens the sentence ("In 2025,"); None when nothing sets it (a
        year before it sets nothing: "Nissan in 2025 raised its plan to 12")."""
        first, last = number_range
        after = bisect_right(self.phrases, (last, ""))
        if after < len(self.phrases):
            phrase = self.phrases[after]
            if (
                self.clause_of[phrase.at] == self.clause_of[last]
                and self.not_the_counts[phrase.at] == self.not_the_counts[last + 1]
                and bisect_left(self.counts, phrase.at) == bisect_right(self.counts, last)
            ):
                return phrase.kind
        clause = self.clause_of[last]
        if "one period" in self.opening and clause > 0 and first < self.opened_until:
            return "opening"
        return "opening" if "first clause" in self.opening and clause == 0 else None

    def opens_with_a_relative_year(self, number_range: tuple[int, int]) -> bool:
        """Whether the number's clause follows an opening "Last year," or the like: no year it
        names is known."""
        return (
            "relative" in self.opening
            and self.clause_of[number_range[0]] > 0
            and number_range[0] < self.opened_until
        )


def _periods(read: SentenceWords, numbers: Sequence[_Seen]) -> _Periods:
    tokens = read.tokens
    clause_of = list(accumulate(0 if token.stem else 1 for token in tokens))
    not_the_counts = [0, *accumulate(int(_hands_off(tokens, index)) for index in range(len(tokens)))]
    dated = [seen for seen in numbers if seen.number.kind in ("year", "period")]
    phrases = _period_phrases(read, dated)
    opening = _opening_sets(tokens, dated)
    if phrases and phrases[0].at == 0 and phrases[0].kind == "one period":
        opening |= {"first clause"}
    semicolon = read.text.find(";")
    opened_until = (
        bisect_left(read.token_starts, semicolon) if semicolon >= 0 else len(tokens)
    )  # the first token after it
    counts = sorted(seen.tokens[0] for seen in numbers if seen.number.kind not in ("year", "period"))
    return _Periods(clause_of, phrases, not_the_counts, opening, opened_until, counts)


def _hands_off(tokens: Sequence[Token], index: int) -> bool:
    """Whether the word at ``index``, between a count and a later period, hands the period to
    another clause (``_NOT_THE_COUNTS_PERIOD``; "as" too, "12 NEVs for China as it seeks to double
    sales next year", but not in "as early as", "as soon as", "as part of")."""
    word = tokens[index].stem
    if word != "as":
        return word in _NOT_THE_COUNTS_PERIOD
    after = tokens[index + 1].stem if index + 1 < len(tokens) else ""
    return after not in _AS_PERIOD and (not index or tokens[index - 1].stem not in _AS_PERIOD)


def _period_phrases(read: SentenceWords, dated: Sequence[_Seen]) -> list[_Phrase]:
    """The sentence's periods that set or keep a count: years and "this/next year", each named by
    the word that governs it (``_ONE_PERIOD_LEADS``, ``_HORIZONS``; one of ``_STARTS`` sets
    nothing, nor does a year with no preposition, "its 2025 models"; a bare "next year" is one
    period: "will launch four next year")."""
    tokens = read.tokens
    found = []
    for seen in dated:
        at = _governing(tokens, seen.tokens[0] - 1)
        if at is None or _onwards(tokens, seen.tokens[1] + 1):
            continue  # "in 2025 and beyond": a start
        if tokens[at].stem in _HORIZONS:
            found.append(_Phrase(at, "horizon"))
        elif (
            tokens[at].stem in _ONE_PERIOD_LEADS
            and not _event_year(read, at, seen)
            and not (at and tokens[at - 1].stem in _STARTS)  # "starting in 2025": a start
        ):
            found.append(_Phrase(at, "one period"))
    for index in range(len(tokens)):
        unnamed = _unnamed_period(tokens, index)
        if unnamed is None or unnamed.kind == "past":
            continue
        lead = tokens[unnamed.governs].stem if unnamed.governs is not None else ""
        before = tokens[unnamed.starts - 1].stem if unnamed.starts else ""
        if lead in _STARTS or before in _STARTS or _onwards(tokens, index + 1):
            continue  # "from next year", "next year and beyond": a start
        if unnamed.governs is not None and lead in _HORIZONS:
            # "by the end of this year" counts this year alone; "by next year" is a plan's horizon
            found.append(_Phrase(unnamed.governs, "one period" if unnamed.kind == "this" else "horizon"))
        else:
            found.append(_Phrase(unnamed.starts, "one period"))
    return sorted(found)


def _governing(tokens: Sequence[Token], index: int) -> int | None:
    """Where the word before a period stands, looking back from ``index`` past the words a period
    may hold ("in the second half of"); None at the start of the sentence."""
    stop = max(-1, index - _PERIOD_REACH)  # bounded: "year year year ..." stays linear
    while index > stop and tokens[index].stem in _PERIOD_INNER:
        index -= 1
    return index if index >= 0 else None


class _Unnamed(NamedTuple):
    """A period a sentence names without its year: "next year", "in the coming year", "during the
    second half", "over the next 12 months", "each year", "annually", "a year earlier"."""

    starts: int
    governs: int | None  # its preposition ("in", "by"), if any
    kind: str  # "this" (the current one), "coming", "past", or "each"


def _unnamed_period(tokens: Sequence[Token], index: int) -> _Unnamed | None:
    """The period whose noun ("year", "half", "quarter", "12 months") or adverb ("annually") is at
    ``index``, if it is one; a plural ("three years") is a span, not one period."""
    word = tokens[index].text.lower()
    if word == "annually":
        return _Unnamed(index, None, "each")
    twelve_months = word == "months" and index and tokens[index - 1].stem == "12"  # "twelve" too
    if word not in _PERIOD_NOUNS and not twelve_months:
        return None
    after = tokens[index + 1].stem if index + 1 < len(tokens) else ""
    if after == "of" or after.isdigit():
        return None  # "the first half of 2025", "the year 2025": named by its year
    start = index - 1
    stop = max(-1, start - _PERIOD_REACH)
    while start > stop and tokens[start].stem in _PERIOD_INNER | _PERIOD_ORDERS:
        start -= 1
    words = {token.stem for token in tokens[start + 1 : index]}
    if after in _AGO and not words & (_COMING_ORDERS | {"this", "current"}):
        return _Unnamed(index, None, "past")  # "a year earlier", "a year ago"; not "next year before"
    governs = start if start >= 0 and tokens[start].stem in _PREPOSITIONS else None
    if start >= 0 and tokens[start].stem in _EACH:
        return _Unnamed(start, None, "each")
    if words & _PAST_ORDERS:
        return _Unnamed(start + 1, governs, "past")
    if after in ("to", "ending", "ended"):  # "in the year to March": one period, its year unnamed
        return _Unnamed(start + 1, governs, "coming")
    if words & {"this", "current"}:
        return _Unnamed(start + 1, governs, "this")
    if words & _COMING_ORDERS or (governs is not None and tokens[governs].stem in _ONE_PERIOD_LEADS | _SPANS):
        return _Unnamed(start + 1, governs, "coming")
    return None


def _event_year(read: SentenceWords, lead: int, seen: _Seen) -> bool:
    """Whether "in <year>" tells when a past event happened: "announced in 2023", "it launched in
    2025", "sales fell in 2024"."""
    if _ANNOUNCED.ends_at(read.text, seen.number.start) is not None:
        return True
    before = read.tokens[lead - 1].text.lower() if lead else ""
    return (before.endswith("ed") and before not in _DUE) or stem(before) in _PAST_EVENTS


def _moved_to(read: SentenceWords, seen: _Seen) -> bool:
    """Whether the number is where a verb of change moved a level to ("raised its plan to 12",
    "cut the models it plans to eight"): the new level, whatever period the sentence opens with."""
    tokens, first = read.tokens, seen.tokens[0]
    if first == 0 or tokens[first - 1].stem != "to":
        return False
    for token in reversed(tokens[max(0, first - 1 - _MOVE_REACH) : first - 1]):
        if not token.stem:
            return False
        if token.stem.startswith(_MOVES):
            return True
    return False


def _onwards(tokens: Sequence[Token], index: int) -> bool:
    """Whether "and beyond" or "onwards" follows at ``index`` (clause slots skipped)."""
    words = []
    for token in tokens[index:]:
        if token.stem:
            words.append(token.stem)
            if len(words) == 2:
                break
    return bool(words) and (words[0] in _ONWARDS or words == ["and", "beyond"])


def _opening_sets(tokens: Sequence[Token], dated: Sequence[_Seen]) -> frozenset[str]:
    """What an opening clause of a period alone ("In 2025,", "Last year,") sets in every clause."""
    opening = next((index for index, token in enumerate(tokens) if not token.stem), None)
    if not opening:
        return frozenset()  # no break, or one at the start: no clause of its own
    in_a_year = {
        n for seen in dated if seen.tokens[1] < opening for n in range(seen.tokens[0], seen.tokens[1] + 1)
    }
    words = [token.stem for index, token in enumerate(tokens[:opening]) if index not in in_a_year]
    if (not in_a_year and "year" not in words) or any(word not in _PERIOD_WORDS for word in words):
        return frozenset()
    if in_a_year and _onwards(tokens, max(in_a_year) + 1):
        return frozenset()  # "In 2025 and beyond, ...": a start
    told = set()
    if in_a_year and any(word in _ONE_PERIOD_LEADS | {"for"} for word in words):
        told.add("one period")
    if "year" in words:
        told.add("relative")
        if (
            any(word in _THIS_OR_NEXT | _COMING_ORDERS | {"current"} for word in words)
            and "earlier" not in words
        ):
            told.add("one period")
    return frozenset(told)


def _other_year(fact: Fact, number_range: tuple[int, int], years: _Years) -> bool:
    """Whether the year nearest to the number (within ``MAX_CUE_GAP`` words) is not the fact's."""
    if fact.year is None:
        return False
    first, last = number_range
    nearest = []
    after = bisect_right(years.firsts, last)
    if after < len(years.firsts):
        nearest.append((years.firsts[after] - last, years.values[after]))
    before = bisect_left(years.firsts, first)
    if before:
        nearest.append((first - years.lasts[before - 1], years.values[before - 1]))
    if not nearest:
        return False
    closest = min(distance for distance, _ in nearest)
    return closest <= MAX_CUE_GAP and any(
        year != fact.year for distance, year in nearest if distance == closest
    )


def _fits(fact: Fact, seen: _Seen) -> bool:
    number = seen.number
    if fact.kind == "year":
        return number.kind == "year"
    if fact.kind == "date":
        return number.kind in ("year", "period")
    if _is_money(fact) != (number.currency is not None) or seen.change or seen.next_word in _TIME_WORDS:
        return False
    if fact.kind == "share":
        return number.kind in ("percent", "fraction")
    if number.kind != "plain" or seen.next_word in _MEASURE_WORDS:
        return False
    if fact.kind == "count":
        whole = number.value == int(number.value) and not number.scaled
        return whole and _same_magnitude(fact.value, number.value, COUNT_RATIO)
    return _same_magnitude(fact.value, number.value, MAX_RATIO)


def _counts_other_things(cues: FactCues, words: Sequence[str]) -> bool:
    """Whether the number whose own words are ``words`` counts other things than the fact does:
    one of them is in ``_OTHER_THINGS`` and the fact does not count those (its unit names them,
    or its unit names things of that kind and a cue names them: ``plants | factories``), nor
    names a word after it, which the other thing then only describes ("15% market share" for a
    fact of market share, "two partner brands", "six joint-venture partner models"). So a fact of
    models whose cue is "joint-venture partners" does not read "its two joint-venture partners"."""
    unit = stems_of(cues.fact.unit)
    for at, word in enumerate(words):
        if stem(word) in unit:
            return False  # "794,000 vehicles via partner Dongfeng": the fact's own things
        if word not in _OTHER_THINGS:
            continue
        if not _OTHER_THING_STEMS.isdisjoint(unit) and _cues_name(cues, word):
            return False  # a fact of plants whose cue is "plants | factories" counts factories
        return not any(stem(later) in unit or _cues_name(cues, later) for later in words[at + 1 :])
    return False


def _cues_name(cues: FactCues, word: str) -> bool:
    """Whether a cue of the fact names ``word`` ("joint-venture partners" names partners)."""
    wanted = stem(word)
    return any(wanted in phrase for cue in cues.phrases for phrase in cue)


def _same_magnitude(baseline: float, new: float, ratio: float) -> bool:
    if baseline == 0:
        return new <= ratio
    return 1 / ratio <= new / baseline <= ratio


def _is_money(fact: Fact) -> bool:
    return any(word in _MONEY_WORDS for word in fact.unit.lower().replace("$", " $ ").split())


def _same(fact: Fact, new: float, number: Number) -> bool:
    if fact.kind == "date":
        return new < fact.value + fact.period_years and fact.value < new + number.period_years
    return abs(new - fact.value) <= fact.effective_tolerance * abs(fact.value) + 1e-9


def _change(fact: Fact, new: float, number: Number, sentence: str) -> FactChange:
    old_text = format_value(fact, fact.value, fact.period_years)
    new_text = format_value(fact, new, number.period_years)
    display = f"{fact.metric}: {old_text} → {new_text}"
    return FactChange(fact.id, fact.metric, fact.value, new, fact.unit, sentence, display)


def format_value(fact: Fact, value: float, period_years: float = 1.0) -> str:
    """A value of ``fact`` as a reader would write it: ``2.8 million``, ``20%``, ``H2 2024``."""
    if fact.kind == "share":
        return format_percent(value)
    if fact.kind == "year":
        return str(int(value))
    if fact.kind == "date":
        return _format_period(value, period_years)
    return format_amount(value)


def _format_period(value: float, period_years: float) -> str:
    year = int(value)
    part = value - year
    if period_years >= 1 or period_years <= 0:
        return str(year)
    if period_years == 0.5:
        return f"H{round(part / 0.5) + 1} {year}"
    if period_years == 0.25:
        return f"Q{round(part / 0.25) + 1} {year}"
    return f"{year}-{round(part * 12) + 1:02d}"
