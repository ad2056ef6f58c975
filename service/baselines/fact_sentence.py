"""One sentence as changed-figure reading sees it: its words with clause breaks counted as
words, where each fact's cues and subject stand, the other names, and distances between them.

The rules these implement (what is a mention, a competing name, a person, a cue's distance) are
written once, in the docstring of ``service.baselines.facts``. Everything here is found once per
sentence and fact, as sorted positions, so that each (number, fact) pair costs a few binary
searches.
"""

from __future__ import annotations

import re
from bisect import bisect, bisect_left, bisect_right, insort
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import accumulate

from service.baselines.model import Fact
from service.baselines.numbers import Number
from service.baselines.text import (
    CALENDAR,
    COMMON_LOWER_PERCENT,
    STOPWORDS,
    Token,
    find_phrase,
    stem,
    stem_positions,
    word_set,
)
from service.baselines.wordstats import mostly_lower_case

CLAUSE_PENALTY = 4
BEFORE_PENALTY = 1
# Punctuation, and the conjunctions that join two figures ("four under its brand and six
# with partners"): a figure rarely reaches across them to its cue.
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|[()—–]|\s(?:and|but|while|whereas)\s", re.IGNORECASE)
# Stems of the words that let a sentence carry the title's subject over: "It", "The company"...
_BACK_REFERENCES = (
    ("it",),
    ("its",),
    ("the", "company"),
    ("the", "carmaker"),
    ("the", "automaker"),
    ("the", "japanese", "carmaker"),
    ("the", "japanese", "automaker"),
)
# Titles and roles: never a name a figure could belong to, and the name words right after one
# are a person's ("CEO Makoto Uchida").
_ROLES = word_set(
    """ceo cfo cto coo chief executive officer president chairman chairwoman chair director head
    spokesman spokeswoman spokesperson founder minister analyst manager boss vice"""
)
# Capitalised words that are not names of anyone a figure could belong to.
_NOT_NAMES = STOPWORDS | _ROLES | CALENDAR | word_set("ev nev bev phev hev suv mpv ai ipo gdp yoy ytd fy")
# A cue alternative that starts with one of these and goes on names a place ("for China", "in
# China"); one of them before another name ("for Europe", "in Europe") is that place's, a rival
# of the cue.
_PLACE_PREPOSITIONS = frozenset({"for", "in", "to"})
# A place joined to more places is not that place alone: "for China and other markets", "in
# China and Europe", "for China as well as export" give a wider scope's figure (as stems).
_JOINERS = (("and",), ("or",), ("plus",), ("as", "well", "as"))
_BEFORE_A_PLACE = frozenset({"for", "in", "to", "across", "the", "its", "their"})
_MARKS_BEFORE_A_JOINER = frozenset({"", ",", "(", "-", "–", "—"})
# Verbs after a joined name that make it a clause's subject ("and Dongfeng will build them"); a
# word ending in -ed counts too ("and Beijing welcomed it").
_VERBS = frozenset(
    stem(word)
    for word in word_set(
        """will would shall should can could may might must is are was were be been has have had does
        do did said says say told tells reported reports plans planned expects expect wants aims needs
        gets got makes builds sells supplies"""
    )
)
_VERB_REACH = 3
_NAME_WORDS = 4
_LIST_ITEMS = 8
_AFTER_A_PARTICIPLE = frozenset({"by", "with", "in", "on", "for", "at", "from", "to"})
_WIDER_PLACES = frozenset(
    stem(word)
    for word in word_set(
        """overseas international global globally foreign export exports world worldwide abroad
        beyond elsewhere rest market markets countries regions"""
    )
)
# Words that may stand between a joiner and what it joins: "and, later, Europe", "and possibly
# other markets"; and before the joiner, "for China first and later for export".
_ASIDES = frozenset(
    stem(word)
    for word in word_set("later eventually possibly potentially then also perhaps maybe ultimately first")
)
_WIDER_REACH = 3
"""Words after a joiner looked through for a wider scope: "and some export markets"."""
# Words after a joined name that end its phrase whatever follows: "and Mexico, where it builds
# cars", "and Mexico that it will also sell abroad".
_PHRASE_ENDS = frozenset({"that", "which", "where", "who", "whose"})
_NOT_VERBS = frozenset({"combined"})  # "for China and Europe combined": a figure of both
# "said it plans...", "says its ...": "it" stands for the name last written before it.
_REPORTING = frozenset({"said", "say"})
# A clause of a name and one of these after the news tells who reported it (", the Nikkei
# reported"), as "according to" before a name does: a source, never a figure's owner (as stems).
_SOURCE_VERBS = frozenset({"said", "say", "report", "told", "wrote", "write"})
_PRONOUNS = frozenset({"it", "its"})
# Words that link a number to the cue naming what it counts ("four NEVs it plans under its own
# brand"); see ``cues_following``.
_LINKS = frozenset(  # as stems ("carrying" is "carry")
    stem(word)
    for word in word_set(
        """the its their his her our a an it that which who under with from by for will would be sold
        built made developed jointly carry carrying bear bearing wear wearing badged come chinese
        japanese local domestic"""
    )
)
_ATTACHING = word_set("under with from by")
# The only "to" that links: "four NEVs to be sold under its own brand" (not "to revive its brand").
_TO_BE = ("to", "be")
# Words a part may follow and still be what its clause is about ("Only five of the NEVs...");
# and the reporting words before which a speaker may stand ("Nissan CEO Makoto Uchida said on
# Tuesday that eight of the 12 NEVs..."); see ``part_is_subject``.
_BEFORE_A_SUBJECT = word_set("only just about some around nearly roughly that on")
_REPORTED = frozenset(stem(word) for word in word_set("said says say told added noted according"))
# Verbs by which a part is given to what a later cue names ("will carry its own badge", "will
# come from partners", "will be built with partners"); see ``part_is_described``.
_BELONGS = frozenset(
    stem(word) for word in word_set("carry carries bear bears wear wears come comes be is are")
)
_PART_WORDS = word_set("of the its their these those all")  # "of the 12", "of its"
_PART_REACH = 5  # "of" + at most four words ("the four Nissan-brand") + the cue
_ENDS_A_PART = word_set("them it they which who that under with for from by in to at on as and or but while")

Phrases = tuple[tuple[tuple[str, ...], ...], ...]  # cue -> its alternatives -> stems
Spans = list[tuple[int, int]]  # token ranges (first, last)
PlaceRivals = tuple[tuple[Spans, Spans], ...]  # per place cue: its own spans, its rivals' spans


@dataclass(frozen=True, slots=True)
class FactCues:
    """A fact compiled for reading: its cues and required words as stems, its subject terms,
    whether the item's title names the subject, and whether its cues speak of the whole world."""

    fact: Fact
    order: int
    phrases: Phrases
    requires: Phrases
    subject: tuple[tuple[str, ...], ...]
    named_in_title: bool
    wide_scope: bool
    cue_firsts: tuple[frozenset[str], ...]  # per cue, the first stems of its alternatives
    place_leads: tuple[frozenset[str], ...]  # per cue, the prepositions its place alternatives start with
    shared: frozenset[int] = frozenset()  # the cues (indexes) another fact of the baseline has too
    required_words: frozenset[str] = frozenset()  # the stems of every alternative of ``requires``

    @property
    def needed(self) -> int:
        return min(2, len(self.phrases))


@dataclass(frozen=True, slots=True)
class SentenceWords:
    """One sentence, read once: its clause-gapped tokens and what every fact shares about them."""

    text: str
    tokens: Sequence[Token]
    starts_of: dict[str, list[int]]
    token_starts: list[int]
    token_ends: list[int]
    persons: frozenset[int]
    """Name words of people: never a figure's owner."""
    sources: frozenset[int]
    """Name words of a source told after the news ("..., the Nikkei reported"): no owner of a
    figure the subject, named before them, is the actor of (see ``fact_spans``)."""
    said_it: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FactSpans:
    """What one sentence says about one fact, found once per sentence: where its cues are (sorted
    by start, with the furthest end reached so far), its subject mentions and the other names."""

    cues: FactCues
    matched: int
    cue_starts: list[int]
    cue_reach: list[int]
    mentions: list[int]
    others: list[int]
    rival_places: PlaceRivals
    """Per place cue with rivals in the sentence: its own spans, and the rivals' ("for Europe")."""
    spans_of_cue: dict[int, Spans]
    """Per cue found (its index in ``cues.phrases``), where it is."""
    cue_of_start: list[int]
    """The cue (index) of each span in ``cue_starts`` order."""
    cue_tokens: frozenset[int]
    """Every token inside a cue span."""
    thing_starts: list[int]
    """Where the spans of its cues that name no place start, in order ("NEVs", not "for China")."""


def read_sentence(sentence: str, words: Sequence[Token]) -> SentenceWords:
    """``sentence`` read for its facts, from its ``words`` (``tokenize(sentence)``)."""
    tokens = _clause_gapped(sentence, words)
    persons = _persons(tokens)
    said_it = tuple(
        index
        for index in range(1, len(tokens))
        if tokens[index].stem in _PRONOUNS and tokens[index - 1].stem in _REPORTING
    )
    starts = [token.start for token in tokens]
    ends = [token.end for token in tokens]
    sources = _sources(tokens)
    return SentenceWords(sentence, tokens, stem_positions(tokens), starts, ends, persons, sources, said_it)


def _clause_gapped(sentence: str, tokens: Sequence[Token]) -> Sequence[Token]:
    """The tokens with ``CLAUSE_PENALTY`` empty slots inserted at every clause break (a comma,
    semicolon, colon, dash or bracket), so that distances in tokens count a break as words."""
    breaks = [match.start() for match in _CLAUSE_BREAK.finditer(sentence)]
    if not breaks:
        return tokens
    gapped: list[Token] = []
    clause = 0
    for token in tokens:
        reached = bisect(breaks, token.start)
        if reached > clause:
            at = breaks[reached - 1]
            gapped += [Token("", "", at, at, False)] * (CLAUSE_PENALTY * (reached - clause))
        clause = reached
        gapped.append(token)
    return gapped


def _persons(tokens: Sequence[Token]) -> frozenset[int]:
    """The name words written right after a title or role: people, never a figure's owner."""
    persons: set[int] = set()
    after_role = False
    for index, token in enumerate(tokens):
        if token.stem in _ROLES:
            after_role = True
        elif after_role and _is_name(token):
            persons.add(index)
        else:
            after_role = False
    return frozenset(persons)


def _sources(tokens: Sequence[Token]) -> frozenset[int]:
    """The name words of a source: a clause after a break that is a name (after "the" or not) and
    a word of reporting ("..., the Nikkei reported"), or a name after "according to"."""
    sources: set[int] = set()
    index = 0
    while index < len(tokens):
        if not _is_name(tokens[index]):
            index += 1
            continue
        end = index
        while end + 1 < len(tokens) and _is_name(tokens[end + 1]):
            end += 1
        before = index - 1 if index and tokens[index - 1].stem == "the" else index
        opens_a_clause = before > 0 and tokens[before - 1].text == ""  # a clause break's empty slot
        reported = end + 1 < len(tokens) and tokens[end + 1].stem in _SOURCE_VERBS
        cited = before >= 2 and (tokens[before - 2].stem, tokens[before - 1].stem) == ("accord", "to")
        if (opens_a_clause and reported) or cited:
            sources.update(range(index, end + 1))
        index = end + 1
    return frozenset(sources)


def place_lead_stems(phrases: Phrases) -> tuple[frozenset[str], ...]:
    """For each cue, the prepositions its place alternatives start with (``FactCues.place_leads``)."""
    return tuple(
        frozenset(phrase[0] for phrase in cue if len(phrase) > 1 and phrase[0] in _PLACE_PREPOSITIONS)
        for cue in phrases
    )


def cue_first_stems(phrases: Phrases) -> tuple[frozenset[str], ...]:
    """For each cue, the stems its alternatives start with (see ``FactCues.cue_firsts``)."""
    return tuple(frozenset(phrase[0] for phrase in cue if phrase) for cue in phrases)


def may_be_about(stems: AbstractSet[str], cues: FactCues) -> bool:
    """Whether a sentence with these word stems holds enough of the fact's cues, judged by their
    first words alone: a set test per cue. Most sentences fail it for every fact and are never
    read further; :func:`fact_spans` is worth calling only for the facts it lets through."""
    return sum(1 for firsts in cues.cue_firsts if not firsts.isdisjoint(stems)) >= cues.needed


def fact_spans(read: SentenceWords, cues: FactCues) -> FactSpans | None:
    """What the sentence says about the fact, or None when it is not about its subject and metric."""
    spans = _without_widened_places(read, cues, _cue_ranges(read, cues.phrases))
    if not _enough_cues(spans, cues.needed) or len(_cue_ranges(read, cues.requires)) < len(cues.requires):
        return None
    in_cues = {n for cue_spans in spans.values() for start, end in cue_spans for n in range(start, end + 1)}
    mentions = _subject_mentions(read, cues, in_cues)
    if not mentions:
        return None
    # a source is no owner when the subject (or "It", "The company" for it) comes before it: in
    # "It plans 20 models for China, BYD said, piling pressure on Nissan" the speaker is the owner
    told = {index for index in read.sources if index > mentions[0]}
    others = _other_names(read, in_cues | set(mentions) | told)
    _resolve_said_it(read, mentions, others)
    ranges = sorted((span, index) for index, cue_spans in spans.items() for span in cue_spans)
    reach = list(accumulate((end for (_, end), _ in ranges), max))
    rivals = _rival_places(read, cues, spans, others)
    starts, owners = [start for (start, _), _ in ranges], [index for _, index in ranges]
    things = [start for start, owner in zip(starts, owners, strict=True) if not cues.place_leads[owner]]
    return FactSpans(
        cues, len(spans), starts, reach, mentions, others, rivals, spans, owners, frozenset(in_cues), things
    )


def nearest_cue_is_its_own(found: FactSpans, first: int, last: int) -> bool:
    """Whether the cue nearest the number at tokens ``first..last`` (the first after it, or the
    last before it with ``BEFORE_PENALTY`` more, as ``cue_gap`` measures) is one no other fact of
    the baseline has: "open a research centre in 2025" is the centre's year by its own cue, while
    "partnered with Tsinghua in 2016" is near only a cue the centre shares with the
    collaboration. Two binary searches, like ``cue_gap``."""
    after = bisect_right(found.cue_starts, last)
    nearest: list[tuple[int, int]] = []  # (gap, position in cue_starts)
    if after < len(found.cue_starts):
        nearest.append((found.cue_starts[after] - last, after))
    before = bisect_right(found.cue_starts, first) - 1
    if before >= 0:
        nearest.append((max(0, first - found.cue_reach[before]) + BEFORE_PENALTY, before))
    if not nearest:
        return False
    return found.cue_of_start[min(nearest)[1]] not in found.cues.shared


def own_cue_in_clause(
    read: SentenceWords, found: FactSpans, first: int, last: int, *, across_commas: bool = True
) -> bool:
    """Whether a cue of the fact that no other fact has lies in the clause of the number at tokens
    ``first..last`` (no clause break between): asked of a year whose nearest cue is shared, so
    that "Nissan first partnered with Tsinghua in 2016 and plans a research centre" does not
    give the centre's year as 2016 by the Tsinghua both facts name. Commas do not end the clause
    unless ``across_commas`` is False: an aside sits between them. (Not of counts and shares:
    "15% of Nissan's global sales" is near only cues the two years' shares have in common.)"""
    tokens, text = read.tokens, read.text
    for index, spans in found.spans_of_cue.items():
        if index in found.cues.shared:
            continue
        for start, end in spans:
            between = range(last + 1, start) if start > last else range(end + 1, first)
            # a comma pair around an aside does not end the clause ("Nissan's research centre,
            # set up with Tsinghua University, will open in 2025"); other breaks do
            if all(tokens[i].stem or (across_commas and text[tokens[i].start] == ",") for i in between):
                return True
    return False


def counts_a_part(read: SentenceWords, found: FactSpans, first: int, last: int) -> bool:
    """Whether the number ending at token ``last`` is followed by "of" and, within the words that
    describe what it is a part of, one of the fact's cues ("two of its new-energy models", "four
    of the ten NEVs", "two of the four Nissan-brand new-energy models"): it counts some of the
    fact's things, not how many there are. A pronoun or a preposition ends those words ("five of
    them under the brand" names no part of the brand's models), as does a clause break; a place
    cue ("for China") says where, not what; "all 12 of its models" names them all."""
    tokens = read.tokens
    at = last + 1
    if at >= len(tokens) or tokens[at].stem != "of" or (first and tokens[first - 1].stem == "all"):
        return False
    starts = [start for start in found.thing_starts if at < start <= at + _PART_REACH]
    return bool(starts) and all(
        token.stem and token.stem not in _ENDS_A_PART for token in tokens[at + 1 : min(starts)]
    )


def part_is_subject(read: SentenceWords, found: FactSpans, first: int) -> bool:
    """Whether the number starting at token ``first`` opens its clause, but for words such as
    "only" and who said it ("Five of the NEVs Nissan plans for China will carry its own badge",
    "Nissan CEO Makoto Uchida said on Tuesday that eight of the 12 NEVs ..."): a part that is
    what the clause is about, which a later cue may then describe; not the object of a verb
    ("will launch two of its models for China under its own brand in 2024")."""
    tokens, mentions = read.tokens, set(found.mentions)
    index = first - 1
    while index >= 0 and tokens[index].stem:
        token = tokens[index]
        if token.stem in _REPORTED:
            return True  # who said it, before this, does not matter
        if index not in mentions and token.stem not in _BEFORE_A_SUBJECT and token.stem not in CALENDAR:
            return False
        index -= 1
    return True


def part_is_described(
    read: SentenceWords, last: int, cue_start: int, allowed: frozenset[int], required: frozenset[str]
) -> bool:
    """Whether a cue starting at token ``cue_start`` describes the part ending at token ``last``:
    between them only the words of the part's noun phrase and of a clause about it (``allowed``
    tokens, ``required`` words such as "plans", link words) and a verb that gives the part to
    what the cue names ("Five of the NEVs Nissan plans for China will carry its own badge"); not
    a verb of what happened to it ("two of the NEVs it plans for China had reached showrooms
    under its own brand")."""
    tokens = read.tokens
    between = range(last + 1, cue_start)
    gives = any(tokens[index].stem in _BELONGS for index in between)
    return gives and all(
        index in allowed
        or tokens[index].stem in required
        or tokens[index].stem in _LINKS
        or tokens[index].stem in _BELONGS
        or tokens[index].stem.isdigit()
        or tokens[index].stem in _PART_WORDS
        for index in between
    )


def cues_following(
    read: SentenceWords,
    found: FactSpans,
    last: int,
    *,
    within: int,
    linking: frozenset[int],
    attaching: bool = False,
) -> list[int]:
    """The fact's cues (indexes in ``cues.phrases``) that follow the number ending at token
    ``last``, at most ``within`` words on, with nothing between but words that link a number to
    what it counts: determiners, "it", "that", "which", prepositions that attach a thing ("under
    its own brand", "with partners"), the subject, the fact's required words (a plan's "plans")
    and the tokens in ``linking`` (the words of the nearer fact's own cues). So "four NEVs the
    company plans under its own brand" goes on to name the brand; "four NEVs for China as its own
    brand struggles", "... to revive its own brand", "... under pressure from its joint-venture
    partners" and "four NEVs, including two under its own brand" do not. With ``attaching``, only
    cues reached through a preposition that attaches a thing to the number's ("three NEVs for
    China with joint-venture partners"), not a word that describes its noun ("five Nissan-branded
    NEVs")."""
    tokens = read.tokens
    mentions, required = set(found.mentions), found.cues.required_words

    def links(index: int) -> bool:
        word = tokens[index].stem
        if word == "to":
            return index + 1 < len(tokens) and (word, tokens[index + 1].stem) == _TO_BE
        return index in linking or index in mentions or word in _LINKS or word in required

    def attached(start: int) -> bool:
        between = range(last + 1, start)
        if len(between) > within:
            return False  # checked first: a sentence holds many spans, each further on
        if attaching and not any(tokens[i].stem in _ATTACHING and i not in linking for i in between):
            return False
        return all(links(index) for index in between)

    return [
        index
        for index, spans in found.spans_of_cue.items()
        if any(start > last and attached(start) for start, _ in spans)
    ]


def _rival_places(
    read: SentenceWords, cues: FactCues, spans: dict[int, Spans], others: list[int]
) -> PlaceRivals:
    """For each place cue found, with the places that rival it: another name right after a place
    preposition, or after one and "the" ("for Europe", "in the US", "to Mexico": whichever
    preposition the cue has), as token ranges from the preposition to the end of the name. A
    name the cue's own alternatives hold is the same place ("in China" beside "for China")."""
    if not others:
        return ()
    named = set(others)
    found = []
    for index, own in spans.items():
        if not cues.place_leads[index]:
            continue
        own_place = {word for phrase in cues.phrases[index] for word in phrase[1:]}
        rivals = []
        for name in others:
            if name == 0 or name - 1 in named:
                continue  # nothing before it, or inside a name already taken from its first word
            lead = name - 2 if read.tokens[name - 1].stem == "the" else name - 1
            if lead < 0 or read.tokens[lead].stem not in _PLACE_PREPOSITIONS:
                continue
            end = name
            while end + 1 in named:
                end += 1
            if all(read.tokens[word].stem not in own_place for word in range(name, end + 1)):
                rivals.append((lead, end))
        if rivals:
            found.append((own, rivals))
    return tuple(found)


def _subject_mentions(read: SentenceWords, cues: FactCues, in_cues: set[int]) -> list[int]:
    """Where the sentence names the fact's subject (token indexes), or ``[0]`` when it refers
    back to a subject the title names; empty when it is not about the subject. A mention right
    after another name word is part of a different name ("Dongfeng Nissan")."""
    matches = [
        (start, len(term))
        for term in cues.subject
        for start in find_phrase(read.tokens, term, starts_of=read.starts_of)
    ]
    covered = {start + offset for start, width in matches for offset in range(width)}
    found = sorted(
        start + offset
        for start, width in matches
        if not _extends_a_name(read, start - 1, covered | in_cues)
        for offset in range(width)
    )
    if found:
        return found
    return [0] if cues.named_in_title and _refers_back(read.tokens) else []


def _extends_a_name(read: SentenceWords, index: int, known: set[int]) -> bool:
    if index < 0 or index in known or index in read.persons:
        return False
    token = read.tokens[index]  # "Japan's Nissan" is Nissan
    return (
        _is_name(token)
        and not _is_possessive(token)
        and token.stem not in mostly_lower_case(COMMON_LOWER_PERCENT)
    )


def _refers_back(tokens: Sequence[Token]) -> bool:
    opening = tuple(token.stem for token in tokens[:3])
    return any(opening[: len(words)] == words for words in _BACK_REFERENCES)


def _resolve_said_it(read: SentenceWords, mentions: list[int], others: list[int]) -> None:
    """ "X said it plans...": the pronoun is whichever name, the subject or another, came last."""
    for index in read.said_it:
        last_mention = _last_before(mentions, index)
        last_other = _last_before(others, index)
        if last_mention is not None and (last_other is None or last_other < last_mention):
            insort(mentions, index)
        elif last_other is not None:
            insort(others, index)


def _last_before(indexes: list[int], index: int) -> int | None:
    at = bisect_left(indexes, index)
    return indexes[at - 1] if at else None


def _enough_cues(found: dict[int, list[tuple[int, int]]], needed: int) -> bool:
    """Whether ``needed`` (1 or 2) distinct cues occur, two only when over different words: two
    cues have spans over different words unless every span of one overlaps every span of the other."""
    if needed <= 1 or not found:
        return bool(found)
    bounds = [(max(start for start, _ in spans), min(end for _, end in spans)) for spans in found.values()]
    return any(
        a_last_start > b_first_end or b_last_start > a_first_end
        for n, (a_last_start, a_first_end) in enumerate(bounds)
        for b_last_start, b_first_end in bounds[n + 1 :]
    )


def _cue_ranges(read: SentenceWords, phrases: Phrases) -> dict[int, list[tuple[int, int]]]:
    """For each cue found in the sentence: the token ranges (first, last) where it occurs."""
    found = {}
    for index, alternatives in enumerate(phrases):
        spans = [
            (start, start + len(phrase) - 1)
            for phrase in alternatives
            for start in find_phrase(read.tokens, phrase, starts_of=read.starts_of)
        ]
        if spans:
            found[index] = spans
    return found


def _without_widened_places(
    read: SentenceWords, cues: FactCues, found: dict[int, list[tuple[int, int]]]
) -> dict[int, list[tuple[int, int]]]:
    """The cue spans less the place alternatives joined to more places (``_widens``): "30 NEVs for
    China and other markets" is no figure of China alone."""
    kept = {}
    for index, spans in found.items():
        leads = cues.place_leads[index]
        if leads:
            spans = [
                (start, end)
                for start, end in spans
                if read.tokens[start].stem not in leads or not _widens(read, end, cues.subject)
            ]
        if spans:
            kept[index] = spans
    return kept


def _widens(read: SentenceWords, end: int, subject: tuple[tuple[str, ...], ...]) -> bool:
    """Whether the place ending at token ``end`` is joined to more places: "and", "or", "plus",
    "as well as" (after a comma, bracket or dash too), "&" or "/", or a list ("China, Europe and
    Japan"), and then a wider scope ("other markets", "some export markets", "overseas", "the rest
    of the world", "its home market") or another place's name ("and Europe", "and the US", "and
    Japan's home market"). Not a name that starts a clause of its own, a verb among the words after
    it in its clause ("and Dongfeng will build them", "and Japan's automakers are worried", "and
    Uchida said"), not the subject's, and nothing after a verb ("and will export some")."""
    tokens, text = read.tokens, read.text
    at = _next_word(tokens, end + 1)
    if at is not None and tokens[at].stem in _ASIDES:  # "for China first and later for export"
        end, at = at, _next_word(tokens, at + 1)
    if at is None:
        return False
    between = text[tokens[end].end : tokens[at].start].strip()
    if between in ("&", "/"):
        return _joins_a_place(tokens, at, subject)
    if between not in _MARKS_BEFORE_A_JOINER:
        return False
    joiner = next((j for j in _JOINERS if tuple(t.stem for t in tokens[at : at + len(j)]) == j), None)
    if joiner is not None:
        return _joins_a_place(tokens, at + len(joiner), subject)
    return between == "," and _lists_places(tokens, at, subject)


def _joins_a_place(tokens: Sequence[Token], at: int, subject: tuple[tuple[str, ...], ...]) -> bool:
    """Whether the words from ``at`` (after a joiner) name a wider scope or a place of the figure."""
    stop = min(len(tokens), at + _WIDER_REACH + 3 * CLAUSE_PENALTY)  # "and, later, Europe"
    while at < stop and (not tokens[at].stem or tokens[at].stem in _BEFORE_A_PLACE | _ASIDES):
        at += 1
    if at == stop:
        return False
    if _is_place_name(tokens[at]) and tokens[at].stem not in _WIDER_PLACES:
        if any(tokens[at].stem == term[0] for term in subject):
            return False
        last, end = at, min(len(tokens) - 1, at + _NAME_WORDS)  # bounded: "FOR CHINA, FOR CHINA, ..."
        while last < end and _is_place_name(tokens[last + 1]) and not _is_possessive(tokens[last]):
            last += 1
        return not _a_verb_follows(tokens, last)
    for token in tokens[at : at + _WIDER_REACH]:  # "and some export markets", "and its home market"
        if not token.stem or _is_verb(token) or _is_count(token):
            return False  # "and two for export": another count's place
        if token.stem in _WIDER_PLACES:
            return True
    return False


def _lists_places(tokens: Sequence[Token], at: int, subject: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a comma after the place starts a list of places: names, each after a comma, then
    "and" or "or" and a last place ("for China, Europe and the US")."""
    for _ in range(_LIST_ITEMS):  # bounded: each cue's list is walked, and lists are short
        while at < len(tokens) and tokens[at].stem in _BEFORE_A_PLACE:  # "China, the US and Europe"
            at += 1
        if (
            at == len(tokens)
            or not _is_place_name(tokens[at])
            or any(tokens[at].stem == t[0] for t in subject)
        ):
            return False
        after = _next_word(tokens, at + 1)
        if after is None:
            return False
        if tokens[after].stem in ("and", "or"):
            return _joins_a_place(tokens, after + 1, subject)
        at = after  # the name's next word, or the next item after a comma
    return False


def _a_verb_follows(tokens: Sequence[Token], last: int) -> bool:
    """Whether a verb is among the words after a name ending at ``last``, up to a clause break, a
    relative pronoun or ``_VERB_REACH`` words: the name is then a clause's subject, not a place of
    the figure ("and Beijing has welcomed the move"; not "and Mexico, where it builds cars")."""
    reach = tokens[last + 1 : last + 2 + _VERB_REACH]
    for index, token in enumerate(reach[:_VERB_REACH]):
        if not token.stem or token.stem in _PHRASE_ENDS:
            return False
        if token.stem in _VERBS:
            return True
        # a word in -ed is a verb, not when a preposition follows it: "Europe developed with Dongfeng"
        if _is_verb(token) and not (index + 1 < len(reach) and reach[index + 1].stem in _AFTER_A_PARTICIPLE):
            return True
    return False


def _is_count(token: Token) -> bool:
    """A number: written in words too, which tokenising stems to digits ("two" is "2")."""
    return token.stem.isdigit()


def _is_verb(token: Token) -> bool:
    """A verb of ``_VERBS``, or a word ending in -ed ("welcomed"), bar ``_NOT_VERBS``."""
    word = token.text.lower()
    return token.stem in _VERBS or (word.endswith("ed") and word not in _NOT_VERBS)


def _next_word(tokens: Sequence[Token], index: int) -> int | None:
    """The first word at or after ``index``, clause slots skipped."""
    return next((at for at in range(index, len(tokens)) if tokens[at].stem), None)


def _is_place_name(token: Token) -> bool:
    """A name, or an acronym such as "US" or "UK" (which read as the words "us" and "uk")."""
    return _is_name(token) or (len(token.text) > 1 and token.text.isupper() and token.text.isalpha())


def _other_names(read: SentenceWords, known: set[int]) -> list[int]:
    """Indexes (in order) of the name words that are neither the subject nor part of a cue, nor
    written next to one that is ("University" in "Tsinghua University" belongs to the cue
    "Tsinghua"), nor a person's."""
    runs: list[list[int]] = []
    for index, token in enumerate(read.tokens):
        if index in read.persons:
            continue
        if not (_is_name(token) or (index in known and token.text[:1].isupper())):
            continue
        if runs and runs[-1][-1] == index - 1 and not _is_possessive(read.tokens[index - 1]):
            runs[-1].append(index)
        else:  # a possessive ends its name: in "Toyota's China sales" Toyota is no part of the cue
            runs.append([index])
    return [index for run in runs if not known.intersection(run) for index in run]


def _is_possessive(token: Token) -> bool:
    return token.text.endswith(("'s", "’s"))


def _is_name(token: Token) -> bool:
    return token.text[:1].isupper() and token.stem.isalpha() and token.stem not in _NOT_NAMES


def cue_gap(found: FactSpans, first: int, last: int) -> int | None:
    """Words from the number to its nearest cue (a cue before it counts ``BEFORE_PENALTY`` more);
    None when the number is part of a cue. Cue spans are sorted by start, so two lookups suffice."""
    up_to_first = bisect_right(found.cue_starts, first)
    if up_to_first and found.cue_reach[up_to_first - 1] >= last:
        return None
    up_to_last = bisect_right(found.cue_starts, last)
    gaps = []
    if up_to_last < len(found.cue_starts):
        gaps.append(found.cue_starts[up_to_last] - last)
    if up_to_last:
        gaps.append(first - found.cue_reach[up_to_last - 1] + BEFORE_PENALTY)
    return min(gaps)


def another_place_is_nearer(found: FactSpans, first: int, last: int) -> bool:
    """Whether a rival of one of the fact's place cues is nearer to the number than every span
    of that cue: "eight for Europe and ten for China" gives eight to Europe, not to China."""
    for own, rivals in found.rival_places:
        nearest_own = min(_range_gap(span, first, last) for span in own)
        if any(_range_gap(rival, first, last) < nearest_own for rival in rivals):
            return True
    return False


def _range_gap(span: tuple[int, int], first: int, last: int) -> int:
    """Tokens between the span and the number's range ``first..last`` (0 when they touch)."""
    start, end = span
    if end < first:
        return first - end
    if start > last:
        return start - last
    return 0


def subject_is_nearest(found: FactSpans, first: int, last: int) -> bool:
    """Whether no other name is nearer to the number than the subject (see the module rules)."""
    nearest_subject = _distance(found.mentions, first, last, inside=True)
    nearest_other = _distance(found.others, first, last, inside=False)
    return nearest_other is None or nearest_subject is None or nearest_other >= nearest_subject


def _distance(indexes: list[int], first: int, last: int, *, inside: bool) -> int | None:
    """Tokens from the range ``first..last`` to the nearest of the sorted ``indexes``; an index
    inside the range is at distance ``first - index`` when ``inside``, else not counted."""
    distances = []
    after = bisect_right(indexes, last)
    if after < len(indexes):
        distances.append(indexes[after] - last)
    before = after if inside else bisect_left(indexes, first)
    if before:
        distances.append(first - indexes[before - 1])
    return min(distances) if distances else None


def token_range(read: SentenceWords, number: Number) -> tuple[int, int]:
    """The tokens a number covers (bisected: token starts and ends only grow), or the empty
    place where it stands."""
    first = bisect_right(read.token_ends, number.start)
    last = bisect_left(read.token_starts, number.end) - 1
    return (first, last) if first <= last else (first, first)
