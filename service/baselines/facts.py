"""Changed figures: numbers near a fact's cue words that differ from the value the team knows.

Precision comes first: a changed figure always alerts, so a figure is compared only when its
sentence is plainly about the fact's subject and metric and the number is of the fact's kind.

Rules:

- The text is split into sentences (``text.split_sentences``); each sentence is judged alone and
  is the evidence of any change found in it.
- Cues and subject terms match whole words, case-insensitively, hyphen = space, with light
  stemming (``vehicles`` finds ``vehicle``, ``ten`` finds ``10``).
- A sentence is about a fact's *subject* when it names one of the fact's ``subject`` terms
  (``Nissan``). One that names none is still about it when it starts by referring back (``It``,
  ``Its``, ``The company``, ``The carmaker``, ``The automaker``, ``The Japanese carmaker`` /
  ``automaker``) and the item's ``title`` names the subject. Nothing else (no pronoun further in,
  no earlier sentence) carries the subject over.
- A sentence is about a fact's *metric* when at least two of its distinct cues occur (every cue
  when the fact has only one); two cues found over the same words (``China sales`` and ``sales in
  China`` in "sales in China sales") count once. A cue may list alternatives separated by ``|``
  (``new-energy vehicles | NEVs``): any one of them is that cue. Cues must be chosen so that any
  two of them together point at the fact, so synonyms belong in one cue as alternatives: with
  ``["new-energy vehicles | NEVs", "for China"]`` both the NEV and the China cue are needed,
  while ``["new-energy vehicles", "NEVs", "for China"]`` would take "new-energy vehicles (NEVs)"
  alone.
- A number is a *reading* of a fact when it fits the fact's kind:
  ``count``    a whole, plain number without a scale word (``eight``, ``10``), at most
  ``COUNT_RATIO`` (10) times smaller or larger than the baseline value; ``quantity`` a plain
  number, scale words understood (``2.8m``, ``794,000``), at most ``MAX_RATIO`` (100) times
  off ("five" models is not a reading of 2.8 million vehicles); ``share`` a percentage or a
  fraction (``15%``, ``a fifth``); ``year`` a four-digit year; ``date`` a year or a part of one
  (``H2 2024``). So a year is never a count and a count never a year.
  Money (``$3bn``, ``10 billion yuan``, ``Rs 16 lakh``) only reads facts whose unit names a
  currency (an amount is a ``quantity`` in a currency unit), and money is never read by other
  facts. For counts, quantities and shares: a change (``numbers.is_change``: ``fell 16
  percent``, ``up 24%``, ``rose by a fifth``, ``a 16% increase``, ``two more``) is not a level
  and reads nothing, so a percent change is never a share; a number followed by a time word
  (``10 months``, ``three years``, ``16-year-old``) is a duration or an age, and one followed by
  a measure (``16-inch``, ``7-seat``, ``300 km``, ``3 times``) counts something else: neither
  reads anything. Labels, ranks and list markers (``Model 3``, ``Episode 16``, ``#16``, ``No.
  2``, ``1.`` - see ``numbers``), ordinals (``second-largest``, ``16th``), percentage points and
  numbers that are part of a cue (``first ten months``, ``2022``) read nothing.
- The subject must be the nearest name to the number: when a capitalised word or acronym that
  is not a subject term, not part of a found cue, not a month or weekday and not a common
  abbreviation (``EV``, ``NEV``, ``SUV``, ``CEO``...) is nearer to the number (in words, clause
  breaks counted as below) than every mention of the subject, the figure is that name's ("Nissan's
  rival BYD plans 20 new-energy models for China" says nothing about Nissan's plan). Capitalised
  words written next to a mention or a cue belong to it ("Tsinghua University"). A sentence that
  carries the subject over from the title counts its first word as the mention.
- Numbers and facts are paired closest first: every (number, fact) pair within ``MAX_CUE_GAP``
  words of one of the fact's cues (a clause break, i.e. a comma, semicolon, colon, dash,
  bracket or a joining "and", "but", "while", "whereas", counts as ``CLAUSE_PENALTY`` words;
  a cue before the number counts ``BEFORE_PENALTY`` more, since a figure usually comes before
  what it counts) is ranked by that gap (ties: the fact with more cues in the sentence, then
  file order), and pairs are taken in that order, each number and each fact at most once. So in
  "four under its brand and the rest with joint-venture partners" the four is the brand's, not
  the partners'; in "12 NEVs for China, five under the Nissan brand" 12 is the NEV total's and
  five the brand's; in "... carry the Nissan brand, six come from joint-venture partners" the
  six is the partners', and in "four under its own brand and six with its joint-venture
  partners" the six is still the partners'.
- Same value: within the fact's relative tolerance (``Fact.effective_tolerance``); for ``date``
  facts, the two periods overlap (``2024`` overlaps ``H2 2024``, ``H1 2025`` does not). A reading
  with the same value is a restatement and yields nothing; a different one yields a
  ``FactChange``. The same (fact, new value) is reported once, from its first sentence.
"""

from __future__ import annotations

import re
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.baselines.model import Fact, cue_alternatives
from service.baselines.numbers import (
    Number,
    find_numbers,
    following_word,
    format_amount,
    format_percent,
    is_change,
)
from service.baselines.text import (
    STOPWORDS,
    Token,
    find_phrase,
    split_sentences,
    stem_positions,
    stems_of,
    tokenize,
    word_set,
)

MAX_CUE_GAP = 12
CLAUSE_PENALTY = 4
BEFORE_PENALTY = 1
# Punctuation, and the conjunctions that join two figures ("four under its brand and six
# with partners"): a figure rarely reaches across them to its cue.
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|[()—–]|\s(?:and|but|while|whereas)\s", re.IGNORECASE)
MAX_RATIO = 100.0
COUNT_RATIO = 10.0
_TIME_WORDS = word_set("day days week weeks month months quarter quarters year years decade decades")
# Words after a number that say it measures or multiplies something rather than counts the
# fact's things ("16-inch screen", "a 7-seat SUV", "3 times").
_MEASURE_WORDS = word_set(
    """inch inches cm mm metre metres meter meters km kilometre kilometres kilometer kilometers mile
    miles kwh kw mw gw hp bhp ps nm mph kph kmh kg tonne tonnes ton tons litre litres liter liters
    seat seats seater door doors speed cylinder cylinders gb tb mp megapixel megapixels times fold
    volt volts star stars storey storeys floor floors lane lanes"""
)
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
# Capitalised words that are not names of anyone a figure could belong to.
_NOT_NAMES = STOPWORDS | word_set(
    """ev nev bev phev hev suv mpv ceo cfo cto coo ai ipo gdp yoy ytd fy
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday"""
)
_MONEY_WORDS = word_set(
    "$ € £ ¥ ₹ usd us$ dollar dollars euro euros yen yuan rmb cny renminbi pound pounds rupee rupees rs inr"
)


@dataclass(frozen=True, slots=True)
class FactChange:
    """A figure in an item that differs from a baseline fact, with the sentence that says so."""

    fact_id: str
    metric: str
    baseline: float
    new: float
    unit: str
    evidence: str
    display: str

    def to_json(self) -> dict[str, Any]:
        """The change as stored on an alert (``fact``, ``baseline``, ``new`` and the details)."""
        return {
            "fact": self.fact_id,
            "metric": self.metric,
            "baseline": self.baseline,
            "new": self.new,
            "unit": self.unit,
            "evidence": self.evidence,
            "display": self.display,
        }


@dataclass(frozen=True, slots=True)
class _Cues:
    fact: Fact
    order: int
    phrases: tuple[tuple[tuple[str, ...], ...], ...]  # cue -> its alternatives -> stems
    subject: tuple[tuple[str, ...], ...]
    named_in_title: bool

    @property
    def needed(self) -> int:
        return min(2, len(self.phrases))


@dataclass(frozen=True, slots=True)
class _Claim:
    cues: _Cues
    number: Number
    gap: int
    matched: int


def find_fact_changes(text: str, facts: Sequence[Fact], *, title: str = "") -> list[FactChange]:
    """Every fact whose figure in ``text`` differs from the baseline (see the module rules);
    ``title`` is the item's title, which may name the subject for sentences that refer back."""
    compiled = _compile(facts, title)
    changes: list[FactChange] = []
    seen: set[tuple[str, float]] = set()
    for sentence in split_sentences(text):
        for claim in _claims(sentence, compiled):
            new = _reading(claim.number)
            fact = claim.cues.fact
            if _same(fact, new, claim.number) or (fact.id, new) in seen:
                continue
            seen.add((fact.id, new))
            changes.append(_change(fact, new, claim.number, sentence))
    return changes


def _compile(facts: Sequence[Fact], title: str) -> list[_Cues]:
    title_tokens = tokenize(title)
    title_stems = stem_positions(title_tokens)
    compiled = []
    for order, fact in enumerate(facts):
        subject = tuple(stems_of(term) for term in fact.subject)
        in_title = any(find_phrase(title_tokens, term, starts_of=title_stems) for term in subject)
        phrases = tuple(tuple(stems_of(phrase) for phrase in cue_alternatives(cue)) for cue in fact.cues)
        compiled.append(_Cues(fact, order, phrases, subject, in_title))
    return compiled


def _claims(sentence: str, compiled: Sequence[_Cues]) -> list[_Claim]:
    """The number each fact takes from ``sentence``: closest pairs first, one number per fact."""
    tokens = _clause_gapped(sentence, tokenize(sentence))
    starts_of = stem_positions(tokens)
    spans = {cues.order: _cue_ranges(tokens, cues, starts_of) for cues in compiled}
    mentions = {cues.order: _subject_mentions(tokens, cues, starts_of) for cues in compiled}
    about = [
        cues for cues in compiled if mentions[cues.order] and _enough_cues(spans[cues.order], cues.needed)
    ]
    if not about:
        return []
    numbers = find_numbers(sentence)
    number_ranges = [_token_range(tokens, number) for number in numbers]
    candidates = [
        claim
        for number, number_range in zip(numbers, number_ranges, strict=True)
        for claim in _candidate_claims(sentence, number_range, number, about, spans)
        if _subject_is_nearest(tokens, number_range, mentions[claim.cues.order], spans[claim.cues.order])
    ]
    candidates.sort(key=lambda c: (c.gap, -c.matched, c.cues.order, c.number.start))
    taken_facts: set[int] = set()
    taken_numbers: set[int] = set()
    claims = []
    for claim in candidates:
        if claim.cues.order in taken_facts or claim.number.start in taken_numbers:
            continue
        taken_facts.add(claim.cues.order)
        taken_numbers.add(claim.number.start)
        claims.append(claim)
    return sorted(claims, key=lambda c: c.cues.order)


def _clause_gapped(sentence: str, tokens: list[Token]) -> list[Token]:
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


def _subject_mentions(tokens: list[Token], cues: _Cues, starts_of: dict[str, list[int]]) -> list[int]:
    """Where the sentence names the fact's subject (token indexes), or ``[0]`` when it refers
    back to a subject the title names; empty when it is not about the subject."""
    found = [
        start + offset
        for term in cues.subject
        for start in find_phrase(tokens, term, starts_of=starts_of)
        for offset in range(len(term))
    ]
    if found:
        return sorted(found)
    return [0] if cues.named_in_title and _refers_back(tokens) else []


def _refers_back(tokens: list[Token]) -> bool:
    opening = tuple(token.stem for token in tokens[:3])
    return any(opening[: len(words)] == words for words in _BACK_REFERENCES)


def _enough_cues(found: dict[int, list[tuple[int, int]]], needed: int) -> bool:
    """Whether ``needed`` (1 or 2) distinct cues occur, two only when over different words."""
    if needed <= 1 or not found:
        return bool(found)
    return any(
        a_end < b_start or b_end < a_start
        for first, a_spans in found.items()
        for second, b_spans in found.items()
        if first < second
        for a_start, a_end in a_spans
        for b_start, b_end in b_spans
    )


def _subject_is_nearest(
    tokens: list[Token],
    number_range: tuple[int, int],
    mentions: list[int],
    cue_spans: dict[int, list[tuple[int, int]]],
) -> bool:
    """Whether no other name is nearer to the number than the subject (see the module rules)."""
    first, last = number_range

    def distance(index: int) -> int:
        return index - last if index > last else first - index

    in_cues = {n for spans in cue_spans.values() for start, end in spans for n in range(start, end + 1)}
    nearest_subject = min(distance(index) for index in mentions)
    others = _other_names(tokens, in_cues | set(mentions))
    return not any(distance(index) < nearest_subject for index in others if not first <= index <= last)


def _other_names(tokens: list[Token], known: set[int]) -> list[int]:
    """Indexes of the name words that are neither the subject nor part of a cue, nor written next
    to one that is ("University" in "Tsinghua University" belongs to the cue "Tsinghua")."""
    runs: list[list[int]] = []
    for index, token in enumerate(tokens):
        if not (_is_name(token) or (index in known and token.text[:1].isupper())):
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return [index for run in runs if not known.intersection(run) for index in run]


def _is_name(token: Token) -> bool:
    return token.text[:1].isupper() and token.stem.isalpha() and token.stem not in _NOT_NAMES


def _cue_ranges(
    tokens: list[Token], cues: _Cues, starts_of: dict[str, list[int]]
) -> dict[int, list[tuple[int, int]]]:
    """For each cue found in the sentence: the token ranges (first, last) where it occurs."""
    found = {}
    for index, alternatives in enumerate(cues.phrases):
        spans = [
            (start, start + len(phrase) - 1)
            for phrase in alternatives
            for start in find_phrase(tokens, phrase, starts_of=starts_of)
        ]
        if spans:
            found[index] = spans
    return found


def _candidate_claims(
    sentence: str,
    number_range: tuple[int, int],
    number: Number,
    about: Sequence[_Cues],
    spans: dict[int, dict[int, list[tuple[int, int]]]],
) -> list[_Claim]:
    first, last = number_range
    claims = []
    for cues in about:
        ranges = [span for cue_spans in spans[cues.order].values() for span in cue_spans]
        if not _fits(cues.fact, number, sentence) or any(s <= first and last <= e for s, e in ranges):
            continue  # the wrong kind of number, or one that is part of a cue ("first ten months")
        gap = min(start - last if start > last else first - end + BEFORE_PENALTY for start, end in ranges)
        if gap <= MAX_CUE_GAP:
            claims.append(_Claim(cues, number, gap, len(spans[cues.order])))
    return claims


def _token_range(tokens: list[Token], number: Number) -> tuple[int, int]:
    inside = [n for n, token in enumerate(tokens) if token.start < number.end and number.start < token.end]
    if inside:
        return inside[0], inside[-1]
    before = sum(1 for token in tokens if token.end <= number.start)
    return before, before


def _fits(fact: Fact, number: Number, sentence: str) -> bool:
    if fact.kind == "year":
        return number.kind == "year"
    if fact.kind == "date":
        return number.kind in ("year", "period")
    if _is_money(fact) != (number.currency is not None) or is_change(sentence, number):
        return False
    if following_word(sentence, number) in _TIME_WORDS:
        return False
    if fact.kind == "share":
        return number.kind in ("percent", "fraction")
    if number.kind != "plain" or following_word(sentence, number) in _MEASURE_WORDS:
        return False
    if fact.kind == "count":
        whole = number.value == int(number.value) and not number.scaled
        return whole and _same_magnitude(fact.value, number.value, COUNT_RATIO)
    return _same_magnitude(fact.value, number.value, MAX_RATIO)


def _same_magnitude(baseline: float, new: float, ratio: float) -> bool:
    if baseline == 0:
        return new <= ratio
    return 1 / ratio <= new / baseline <= ratio


def _is_money(fact: Fact) -> bool:
    return any(word in _MONEY_WORDS for word in fact.unit.lower().replace("$", " $ ").split())


def _reading(number: Number) -> float:
    fraction = number.fraction
    return fraction if fraction is not None else number.value


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
