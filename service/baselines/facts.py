"""Changed figures: numbers near a fact's cue words that differ from the value the team knows.

Rules:

- The text is split into sentences (``text.split_sentences``); each sentence is judged alone and
  is the evidence of any change found in it.
- Cues match whole words, case-insensitively, hyphen = space, with light stemming (``vehicles``
  finds ``vehicle``, ``ten`` finds ``10``). A sentence is *about* a fact when at least two of its
  distinct cues occur (every cue when the fact has only one), so cues must be chosen so that
  any two of them together point at the fact.
- A number is a *reading* of a fact when it fits the fact's kind:
  ``count``    a whole, plain number (``eight``, ``10``); ``quantity`` a plain number, scale words
  understood (``2.8m``, ``794,000``); ``share`` a percentage or a fraction (``15%``, ``a
  fifth``); ``year`` a four-digit year; ``date`` a year or a part of one (``H2 2024``).
  Money (``$3bn``, ``10 billion yuan``) only reads facts whose unit names a currency, and money
  is never read by other facts. For counts, quantities and shares, a number followed by a time
  word (``10 months``, ``three years``) is a duration and reads nothing. A count or quantity
  more than ``MAX_RATIO`` (100) times smaller or larger than the baseline value is another
  figure ("five" models is not a reading of 2.8 million vehicles). Labels (``Model 3``),
  percentage points and numbers that are part of a cue (``first ten months``, ``2022``) read
  nothing.
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

from service.baselines.model import Fact
from service.baselines.numbers import Number, find_numbers, following_word, format_amount, format_percent
from service.baselines.text import (
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
_TIME_WORDS = word_set("day days week weeks month months quarter quarters year years decade decades")
_MONEY_WORDS = word_set("$ € £ ¥ usd us$ dollar dollars euro euros yen yuan rmb cny renminbi pound pounds")


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
    phrases: tuple[tuple[str, ...], ...]

    @property
    def needed(self) -> int:
        return min(2, len(self.phrases))


@dataclass(frozen=True, slots=True)
class _Claim:
    cues: _Cues
    number: Number
    gap: int
    matched: int


def find_fact_changes(text: str, facts: Sequence[Fact]) -> list[FactChange]:
    """Every fact whose figure in ``text`` differs from the baseline (see the module rules)."""
    compiled = [_Cues(fact, n, tuple(stems_of(cue) for cue in fact.cues)) for n, fact in enumerate(facts)]
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


def _claims(sentence: str, compiled: Sequence[_Cues]) -> list[_Claim]:
    """The number each fact takes from ``sentence``: closest pairs first, one number per fact."""
    tokens = _clause_gapped(sentence, tokenize(sentence))
    starts_of = stem_positions(tokens)
    spans = {cues.order: _cue_ranges(tokens, cues, starts_of) for cues in compiled}
    about = [cues for cues in compiled if len(spans[cues.order]) >= cues.needed]
    if not about:
        return []
    candidates = [
        claim
        for number in find_numbers(sentence)
        for claim in _candidate_claims(sentence, _token_range(tokens, number), number, about, spans)
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


def _cue_ranges(
    tokens: list[Token], cues: _Cues, starts_of: dict[str, list[int]]
) -> dict[int, list[tuple[int, int]]]:
    """For each cue found in the sentence: the token ranges (first, last) where it occurs."""
    found = {}
    for index, phrase in enumerate(cues.phrases):
        starts = find_phrase(tokens, phrase, starts_of=starts_of)
        if starts:
            found[index] = [(start, start + len(phrase) - 1) for start in starts]
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
    if (number.currency is not None) != _is_money(fact) or following_word(sentence, number) in _TIME_WORDS:
        return False
    if fact.kind == "share":
        return number.kind in ("percent", "fraction")
    if number.kind != "plain" or not _same_magnitude(fact.value, number.value):
        return False
    return fact.kind == "quantity" or number.value == int(number.value)


def _same_magnitude(baseline: float, new: float) -> bool:
    if baseline == 0:
        return new <= MAX_RATIO
    return 1 / MAX_RATIO <= new / baseline <= MAX_RATIO


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
