"""Novelty: how much of an item the team does not already know from its baselines.

An item is new when it brings what the baseline lacks, above all names and figures, as
first-story detection (TDT) and the TREC novelty track judge it. Names every story on the
subject shares (China, EV) count for little because news uses them all the time, so a model
going on sale, its price, a new market, partner, plant or figure outweighs the subject's
common vocabulary.

Rules:

- A baseline's *knowledge* (``compile_baseline``, done once per baseline version), from 0 to 1:
  a key term of weight w is known at ``TERM_FLOOR + (1 - TERM_FLOOR) * w`` (a side mention such
  as ``Tesla`` at 0.3 is known, but less than the core ``Nissan`` at 1.0), and so is each
  content word of it; every other content word of the title, summary, fact metrics and cues at
  ``SUMMARY_WEIGHT``. A word known as part of a term keeps the term's knowledge.
- A *figure* is a number's whole value, compared to four significant digits, and its role: a
  level (where something stands) or a movement (how much it moved, ``numbers.is_change``:
  ``fell 20%``, ``a 5% increase``). Its scale word or percent sign is part of it: ``2.8
  million``, ``2,800,000`` and ``2.8m`` are one figure, ``34%`` is the share 0.34, and a 20%
  fall is not the 20% share, nor are ``1,000 jobs`` ten models times a hundred.
- A baseline's *figures*: every number its title, summary, metrics and cues write with digits
  (read as the item's are) or as a word (``ten``, a level), and every fact value (a level).
- *Rarity* (``wordstats.rarity``, in (0, 1], from how many news items use the word): a name
  counts as much as its rarest word is rare (``China`` 0.43, ``Nissan`` 0.91, ``Middle East``
  0.64, a model code such as ``N7`` or an unusual name 1.0). Other words are not weighted by
  rarity: a restatement in other words than the baseline's uses rare words too (the seed
  article's "mimicking", "contemplating"), and they are style, not news.
- The item (title counted twice, then the text) is read three ways:

  ``names``   salient names (``text.salient_names``), each weighing its mentions times its
              rarity. A name is as known as its exact term in the baseline; else, for a
              multi-word name, as its least-known word (``Dongfeng Nissan`` is unknown because
              Dongfeng is); a model name (``Model 3``, ``N7``) only exactly. With them the
              *figures*: every number written with digits (not inside a date, time or range
              such as 2023-12-19, 18:01 or 10-15, nor glued to letters such as 10th or 4WD),
              with its scale word or percent sign, and every number written in words as the
              baseline's are read (``five``, ``a quarter``, ``one in three``; not ``one`` or
              ``zero`` alone, nor a ``half-`` word), weighing its mentions, known only when the
              baseline's figures hold it (same value, same role): a price or a sales figure the
              team has not seen is news, however it is spelled. A fraction written in words is
              an approximation: it is known too when it is within ``FRACTION_SLACK`` (relative)
              of a share the baseline knows ("more than a third" restates 34 %); digits are not.
              With them the *turns*: words telling that a plan or an activity stops, is
              delayed or reversed, or (said to happen, not hedged) starts (``turns``), each
              weighing its mentions as a name of rarity 1 does (and unknown among the
              ``words`` too), counted only when the baseline's title and summary do not tell of
              the same turn (then it is no evidence either way).
  ``words``   content words, each weighing 1 + log(occurrences), as known as the baseline
              knows them.
  ``overlap`` cosine similarity of content unigrams + bigrams with the baseline's text,
              reaching full credit at ``FULL_COSINE``.

- ``score = 1 - (W_NAMES * names + W_WORDS * words + W_OVERLAP * overlap)``, clipped to
  [0, 1]; 1 means entirely new.
- Off subject: a baseline's terms of weight 1.0 are its subject (``Nissan`` for the seed).
  An item that mentions none of them is not a restatement of that baseline, however many of
  its side terms it shares (a Tesla price cut in China against a Nissan export story): its
  score is at least ``OFF_SUBJECT_FLOOR``. Baselines without such terms skip this rule.
- A turn in the title or the lead: an item whose title tells of a turn the baseline does not
  scores at least ``TITLE_TURN_FLOOR``, however much of its body restates the baseline (a
  headline "Nissan kicks off exports" over a paragraph of the plan's background is the news);
  so does one whose first body sentence tells of it and names the baseline's subject (under a
  plain title, "Nissan said on Tuesday it has suspended exports of China-made EVs").
- With neither names, figures nor turns, their share goes to words. Against several baselines the
  item takes the lowest score (it is as old as the baseline that knows it best);
  ``new_terms`` are then the names (never figures) no baseline knows at all (at most
  ``MAX_TERMS``, heaviest first) and ``known_terms`` the best baseline's key terms the item
  mentions.
- Pure and deterministic: no state besides the inputs and the shipped word table; ties broken
  by first position.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeAlias

from service.baselines.fact_sentence import FactCues
from service.baselines.facts import compile_facts
from service.baselines.model import Baseline
from service.baselines.numbers import (
    FRACTION_WORDS,
    POINT,
    SCALE_OR_PERCENT_AFTER,
    SEPARATOR,
    Number,
    find_numbers,
    is_change,
    number_at,
)
from service.baselines.text import (
    NUMBER_WORDS,
    Name,
    Sentence,
    Token,
    names_in,
    stem,
    stems_of,
    tokenize,
    weighted_sentences,
    without_publisher,
)
from service.baselines.turns import tells_of_a_turn, turn_family, turns_in
from service.baselines.wordstats import rarity_table

SUMMARY_WEIGHT = 0.8
TERM_FLOOR = 0.6
W_NAMES = 0.45
W_WORDS = 0.35
W_OVERLAP = 0.20
FULL_COSINE = 0.5
MAX_TERMS = 8
OFF_SUBJECT_FLOOR = 0.6
SUBJECT_KNOWLEDGE = 1.0  # a term of weight 1.0 is known at exactly 1.0
# A number written with digits, with thousands separators and decimals and the scale word or
# percent sign that belongs to it, standing alone: not part of a date, time or range (2023-12-19,
# 18:01, 10-15) and not glued to letters (10th, 4WD, N7). It starts with a digit (checking what
# precedes it after) so that searching it is fast.
_FIGURE = re.compile(
    rf"\d(?<![\w\-/:]\d)(?<!{POINT}\d)(?<!{SEPARATOR}\d)(?:\d{{0,2}}(?:{SEPARATOR}\d{{3}})+|\d*)(?:{POINT}\d+)?"
    + SCALE_OR_PERCENT_AFTER
    + rf"(?![^\W_]|(?:{POINT}|{SEPARATOR}|[\-/:])\d)"
)
Figure: TypeAlias = tuple[float, bool]
"""A figure's value to four significant digits, and whether it is a movement (see the rules)."""

_STEMS_OF_FIGURE_WORDS = frozenset(
    [str(value) for value in NUMBER_WORDS.values() if value > 1]  # "five" is stemmed "5"
    + [stem(word) for word in (*FRACTION_WORDS, "dozen", "hundred", "thousand", "million", "billion")]
)
"""Stems of the words that may write a figure without a digit ("five", "a tenth", "two-thirds",
"a dozen"; "one" and "zero" alone write none): a sentence with none of them is not read for such
figures. One set test per sentence. Median judging per matched item (bench ``matcher``, runs
taking turns with the code before figures in words, 176-194 µs): 187-200 µs so; 205-222 µs with a
regular expression of the words (searching every sentence cost more than it saved); 225 µs asking
each word in a call of its own, with "one" letting most sentences in."""
TURN_WEIGHT = 1.0  # a turn weighs as a name of rarity 1 mentioned as often
TITLE_TURN_FLOOR = 0.5
Positions: TypeAlias = Mapping[str, set[int]]
_SENTENCE_STRIDE = 1 << 20  # a position is sentence index * stride + token index


@dataclass(frozen=True)
class BaselineProfile:
    """What one baseline knows, ready to judge items against (build with ``compile_baseline``)."""

    baseline_id: str
    words: Mapping[str, float]
    terms: Mapping[tuple[str, ...], tuple[str, float]]
    vector: Mapping[str, float]
    norm: float
    figures: frozenset[Figure]
    facts: tuple[FactCues, ...]  # its facts compiled for reading figures (``facts.compile_facts``)
    turns: frozenset[str]  # the turns it tells of itself (``turns.turns_in``)
    year: int  # of its source: a turn the item dates to it or before is history
    # Its terms indexed for reading items: every stem of them (where an item has them is all
    # novelty asks of its words), the terms by their first stem, and its subject terms.
    term_stems: frozenset[str]
    terms_by_first: Mapping[str, tuple[tuple[str, ...], ...]]
    subject: tuple[tuple[str, ...], ...]
    subject_stems: frozenset[str]  # every stem of them (whose turn an "as" clause tells)
    near_shares: frozenset[float] = frozenset()
    """Simple fractions within ``FRACTION_SLACK`` of a share it knows: a share an item writes as
    a fraction word ("more than a third") is known when it is one of them."""


@dataclass(frozen=True)
class Novelty:
    """How new an item is: ``score`` 1 = entirely new, 0 = nothing the team does not know."""

    score: float
    new_terms: tuple[str, ...]
    known_terms: tuple[str, ...]
    reason: str
    baseline_id: str | None = None


@dataclass(frozen=True, slots=True)
class _ItemTurns:
    mentions: Counter[str]  # by turn family (``turns.turns_in``), the title's counted twice
    in_title: frozenset[str]
    in_lead: frozenset[str]  # the first body sentence's
    lead: list[Sentence]  # the first body sentence (does it name the subject?)


@dataclass(frozen=True)
class _Judgement:
    profile: BaselineProfile
    score: float
    names: list[tuple[Name, float]]
    known_terms: tuple[str, ...]
    words_known: float


def compile_baseline(baseline: Baseline) -> BaselineProfile:
    """The knowledge of ``baseline`` (see the module rules); compile once, judge many items."""
    term_words: dict[str, float] = {}
    terms: dict[tuple[str, ...], tuple[str, float]] = {}
    for term, weight in baseline.terms.items():
        known = TERM_FLOOR + (1 - TERM_FLOOR) * weight
        terms[stems_of(term)] = (term, known)
        for token in tokenize(term):
            if token.is_content:
                term_words[token.stem] = max(known, term_words.get(token.stem, 0.0))
    prose = [baseline.title, baseline.summary, *(f.metric for f in baseline.facts)]
    prose += [cue for fact in baseline.facts for cue in fact.cues]
    words = {token.stem: SUMMARY_WEIGHT for text in prose for token in tokenize(text) if token.is_content}
    words.update(term_words)
    vector = _vector(tokenize(text) for text in [*prose, *baseline.terms])
    figures = _known_figures(prose, [fact.value for fact in baseline.facts])
    facts = compile_facts(baseline.facts)
    subject = tuple(stems for stems, (_, known) in terms.items() if known >= SUBJECT_KNOWLEDGE)
    subject_stems = frozenset(stem for stems in subject for stem in stems)
    # Turns from the title and summary, not from fact labels ("... with Tsinghua began").
    told = [Sentence(0, tokenize(text), 1.0, text) for text in (baseline.title, baseline.summary)]
    year = baseline.source.published.year
    turns = frozenset(turns_in(told, known_until=year, subject=subject_stems))
    by_first: dict[str, tuple[tuple[str, ...], ...]] = {}
    for stems in terms:
        by_first[stems[0]] = (*by_first.get(stems[0], ()), stems)
    return BaselineProfile(
        baseline.id,
        words,
        terms,
        vector,
        _norm(vector),
        figures,
        facts,
        turns,
        year,
        term_stems=frozenset(stem for stems in terms for stem in stems),
        terms_by_first=by_first,
        subject=subject,
        subject_stems=subject_stems,
        near_shares=frozenset(_fractions_near(value for value, change in figures if not change)),
    )


def _known_figures(prose: Sequence[str], values: Sequence[float]) -> frozenset[Figure]:
    """The baseline's figures (see the module rules)."""
    written = [figure for text in prose for figure in _read_figures(text)]
    # Numbers written in words ("ten", "two billion", "a fifth"): levels, as numbers.py reads
    # them. One with digits in it is read above, with its role.
    words = [number.reading for text in prose for number in _in_words(text)]
    levels = [(_figure_key(value), False) for value in [*words, *values]]
    return frozenset([*written, *levels])


_SIMPLE_FRACTIONS = tuple(top / bottom for bottom in (2, 3, 4, 5, 10) for top in range(1, bottom))
FRACTION_SLACK = 0.1
"""How far, relatively, a share written as a fraction word may be from one the baseline knows and
still be the same figure: a fraction word is an approximation ("more than a third" of sales is
34 %; a tenth is not 12 %)."""


def _fractions_near(values: Iterable[float]) -> Iterator[float]:
    """The simple fractions ("a third", "one in five") that restate one of the known levels
    ``values`` that is a share (see ``BaselineProfile.near_shares``)."""
    shares = [value for value in values if 0 < value < 1]
    for fraction in _SIMPLE_FRACTIONS:
        if any(abs(fraction - share) <= FRACTION_SLACK * share for share in shares):
            yield _figure_key(fraction)


def _read_figures(text: str) -> Iterator[Figure]:
    """Every figure of ``text``, in order (see the module rules)."""
    for match in _FIGURE.finditer(text):
        # The match is one number with what belongs to it; numbers.py reads its value and kind.
        number = number_at(text, match.start(), match.end())
        if number is None:
            continue
        yield _figure_key(number.reading), is_change(text, number)


def _figure_key(value: float) -> float:
    """A figure to four significant digits: 2.8 million and 2,800,000 meet, 2016 and 2022 do not."""
    return float(f"{value:.4g}")


ItemFigure: TypeAlias = tuple[float, Figure, bool]
"""(mentions, figure, whether it is a fraction written in words: an approximation)."""


def _figures(title: str, text: str, sentences: Sequence[Sentence]) -> list[ItemFigure]:
    """Every figure of the item (see ``ItemFigure``), the title's counted twice."""
    counts: dict[tuple[Figure, bool], float] = {}
    for source, weight in ((title, 2.0), (text, 1.0)):
        for figure in _read_figures(source):
            counts[figure, False] = counts.get((figure, False), 0.0) + weight
    for sentence in sentences:
        for found in _word_figures(sentence):
            counts[found] = counts.get(found, 0.0) + sentence.weight
    return [(mentions, figure, approximate) for (figure, approximate), mentions in counts.items()]


def _word_figures(sentence: Sentence) -> Iterator[tuple[Figure, bool]]:
    """The figures ``sentence`` writes in words ("five models", "a quarter of its sales"), read
    as the baseline's are, with their role, and whether each is a fraction (an approximation).
    "one" alone is no figure ("one of", "one company"), nor "zero" ("zero-emission")."""
    if _STEMS_OF_FIGURE_WORDS.isdisjoint([token.stem for token in sentence.tokens if token.text.isalpha()]):
        return
    for number in _in_words(sentence.text):
        if number.reading not in (0, 1):
            figure = _figure_key(number.reading), is_change(sentence.text, number)
            yield figure, number.kind in ("fraction", "ratio")


def _in_words(text: str) -> Iterator[Number]:
    """The numbers of ``text`` written without a digit (those with one are ``_read_figures``')."""
    return (number for number in find_numbers(text) if not any(ch.isdigit() for ch in number.raw))


def judge_novelty(*, title: str, text: str, baselines: Sequence[Baseline | BaselineProfile]) -> Novelty:
    """How new the item is against the baselines that know it best (see the module rules)."""
    profiles = [b if isinstance(b, BaselineProfile) else compile_baseline(b) for b in baselines]
    if not profiles:
        return Novelty(1.0, (), (), "no baseline to compare with")
    title = without_publisher(title, unless=tells_of_a_turn)  # "- Reuters" is no news of the item's
    sentences = weighted_sentences(title, text)
    names = names_in(sentences)
    figures = _figures(title, text, sentences)
    words, pairs = _counts([tokens for _, tokens, weight, _ in sentences for _ in range(int(weight))])
    vector = _weighted_features(words, pairs)
    positions = _positions(sentences, frozenset().union(*(profile.term_stems for profile in profiles)))
    turns = {key: _item_turns(sentences, *key) for key in {_turn_key(profile) for profile in profiles}}
    judgements = [
        _judge(profile, names, figures, turns[_turn_key(profile)], words, vector, positions)
        for profile in profiles
    ]
    best = min(judgements, key=lambda j: (j.score, j.profile.baseline_id))
    unknown_everywhere = [
        name for name, known in best.names if all(_name_known(j.profile, name) == 0 for j in judgements)
    ]
    new_terms = tuple(name.text for name in unknown_everywhere[:MAX_TERMS])
    reason = _reason(best, new_terms)
    return Novelty(round(best.score, 3), new_terms, best.known_terms, reason, best.profile.baseline_id)


def _turn_key(profile: BaselineProfile) -> tuple[int, frozenset[str]]:
    """What reading an item's turns depends on: the baseline's year and subject."""
    return profile.year, profile.subject_stems


def _item_turns(sentences: list[Sentence], year: int, subject: frozenset[str]) -> _ItemTurns:
    """The item's turns as news after ``year`` (see ``turns.turns_in``): all, the title's and the
    first body sentence's."""
    title = sentences[:1] if sentences and sentences[0].offset < 0 else []
    lead = [sentence for sentence in sentences if sentence.offset >= 0][:1]
    return _ItemTurns(
        turns_in(sentences, known_until=year, subject=subject),
        frozenset(turns_in(title, known_until=year, subject=subject)),
        frozenset(turns_in(lead, known_until=year, subject=subject)),
        lead,
    )


def _judge(
    profile: BaselineProfile,
    names: list[Name],
    figures: list[ItemFigure],
    turns: _ItemTurns,
    words: Counter[str],
    vector: Mapping[str, float],
    positions: Positions,
) -> _Judgement:
    known_names = [(name, _name_known(profile, name)) for name in names]
    known_figures = [
        (mentions, float(key in profile.figures or (approximate and key[0] in profile.near_shares)))
        for mentions, key, approximate in figures
    ]
    # A turn the baseline itself tells of is no evidence either way.
    new_turns = {family: n for family, n in turns.mentions.items() if family not in profile.turns}
    rarities = rarity_table()
    named = [(name.weight * _name_rarity(name, rarities), known) for name, known in known_names]
    names_known = _weighted_mean(
        [*named, *known_figures, *((TURN_WEIGHT * n, 0.0) for n in new_turns.values())]
    )
    # A new turn is also a word the baseline lacks, whatever its word table says of the word
    # ("launch" of a model): unknown where the content words hold it, added where they do not
    # (start words such as "begins" are no content words; a phrase such as "on hold" no word).
    # Most items tell of no new turn: their words are then not asked for a family at all (two
    # look-ups per word and baseline, ~6 % of judging a matched item).
    known_words = profile.words
    if new_turns:
        content = [
            (1 + math.log(n), 0.0 if turn_family(word) in new_turns else known_words.get(word, 0.0))
            for word, n in words.items()
        ]
        read = {turn_family(word) for word in words}
        content += [(1 + math.log(n), 0.0) for key, n in new_turns.items() if key not in read]
    else:
        content = [(1 + math.log(n), known_words.get(word, 0.0)) for word, n in words.items()]
    words_known = _weighted_mean(content)
    overlap = min(1.0, _cosine(vector, profile.vector, profile.norm) / FULL_COSINE)
    w_names = W_NAMES if names or figures or new_turns else 0.0
    known = w_names * names_known + (W_WORDS + W_NAMES - w_names) * words_known + W_OVERLAP * overlap
    score = min(1.0, max(0.0, 1.0 - known))
    if not _mentions_subject(profile, positions):
        score = max(score, OFF_SUBJECT_FLOOR)
    lead_news = not turns.in_lead <= profile.turns and _mentions_subject(
        profile, _positions(turns.lead, profile.term_stems)
    )
    if not turns.in_title <= profile.turns or lead_news:
        score = max(score, TITLE_TURN_FLOOR)
    return _Judgement(profile, score, known_names, _known_terms(profile, positions), words_known)


def _mentions_subject(profile: BaselineProfile, positions: Positions) -> bool:
    """True when the item names one of the baseline's subject terms, or the baseline has none."""
    return not profile.subject or any(_occurrences(stems, positions) for stems in profile.subject)


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float:
    """Mean of the second values weighted by the first (0 when there is nothing)."""
    total = weighted = 0.0
    for weight, value in pairs:
        total += weight
        weighted += weight * value
    return weighted / total if total else 0.0


def _name_rarity(name: Name, rarities: Mapping[str, float]) -> float:
    """A name is as rare as its rarest word."""
    return max(rarities.get(stem, 1.0) for stem in name.stems)


def _name_known(profile: BaselineProfile, name: Name) -> float:
    exact = profile.terms.get(name.stems)
    if exact is not None:
        return exact[1]
    if len(name.stems) == 1 or any(stem.isdigit() or len(stem) == 1 for stem in name.stems):
        return profile.words.get(name.stems[0], 0.0) if len(name.stems) == 1 else 0.0
    return min(profile.words.get(stem, 0.0) for stem in name.stems)


def _positions(sentences: list[Sentence], stems: frozenset[str]) -> Positions:
    """Where each of ``stems`` occurs: sentence index * ``_SENTENCE_STRIDE`` + token index.

    Only the stems of baselines' terms are ever looked up, so only they are placed (recording
    every stem of an item was ~4 % of judging it)."""
    positions: dict[str, set[int]] = {}
    for n, sentence in enumerate(sentences):
        base = n * _SENTENCE_STRIDE
        for index, token in enumerate(sentence.tokens, base):
            stem = token.stem
            if stem in stems:
                held = positions.get(stem)
                if held is None:
                    positions[stem] = {index}
                else:
                    held.add(index)
    return positions


def _known_terms(profile: BaselineProfile, positions: Positions) -> tuple[str, ...]:
    """The baseline's key terms the item mentions, heaviest (and most repeated) first."""
    found = []
    for first in positions:
        for stems in profile.terms_by_first.get(first, ()):
            hits = _occurrences(stems, positions)
            if hits:
                term, known = profile.terms[stems]
                found.append((-known * (1 + math.log(hits)), term))
    return tuple(term for _, term in sorted(found)[:MAX_TERMS])


def _occurrences(stems: tuple[str, ...], positions: Positions) -> int:
    """How often the term (a run of stems) occurs in the item."""
    starts = positions.get(stems[0])
    if not starts:
        return 0
    if len(stems) == 1:
        return len(starts)
    rest = [positions.get(stem) for stem in stems[1:]]
    if not all(rest):
        return 0
    return sum(1 for start in starts if all(start + k in held for k, held in enumerate(rest, 1) if held))


def _vector(texts: Iterable[Sequence[Token]]) -> dict[str, float]:
    """Content unigrams and bigrams (adjacent content words of one text), 1 + log(tf)."""
    return _weighted_features(*_counts(texts))


def _counts(texts: Iterable[Sequence[Token]]) -> tuple[Counter[str], Counter[str]]:
    """How often each content word, and each pair of adjacent content words, occurs."""
    words: list[str] = []
    pairs: list[str] = []
    for tokens in texts:
        content = [token.stem for token in tokens if token.is_content]
        words += content
        pairs += [f"{a} {b}" for a, b in pairwise(content)]
    return Counter(words), Counter(pairs)  # counted once: Counter.update is a Python call


def _weighted_features(words: Counter[str], pairs: Counter[str]) -> dict[str, float]:
    return {feature: 1 + math.log(count) for counts in (words, pairs) for feature, count in counts.items()}


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(value * value for value in vector.values()))


def _cosine(item: Mapping[str, float], baseline: Mapping[str, float], baseline_norm: float) -> float:
    item_norm = _norm(item)
    if not item_norm or not baseline_norm:
        return 0.0
    dot = sum(value * baseline.get(feature, 0.0) for feature, value in item.items())
    return dot / (item_norm * baseline_norm)


def _reason(best: _Judgement, new_terms: tuple[str, ...]) -> str:
    words = round(best.words_known * 100)
    reason = f"novelty {best.score:.2f} against {best.profile.baseline_id}: {words}% of its wording is known"
    if new_terms:
        reason += f"; new: {', '.join(new_terms[:4])}"
    return reason
