"""Novelty: how much of an item the team does not already know from its baselines.

Rules:

- A baseline's *knowledge* (``compile_baseline``, done once per baseline version), from 0 to 1:
  a key term of weight w is known at ``TERM_FLOOR + (1 - TERM_FLOOR) * w`` (a side mention such
  as ``Tesla`` at 0.3 is known, but less than the core ``Nissan`` at 1.0), and so is each
  content word of it; every other content word of the title, summary, fact metrics and cues at
  ``SUMMARY_WEIGHT``. A word known as part of a term keeps the term's knowledge.
- The item (title counted twice, then the text) is read three ways:

  ``names``   salient names (``text.salient_names``). A name is as known as its exact term in
              the baseline; else, for a multi-word name, as its least-known word (``Dongfeng
              Nissan`` is unknown because Dongfeng is); a model name (``Model 3``) only exactly.
  ``words``   content words, each counted 1 + log(occurrences), as known as the baseline
              knows them.
  ``overlap`` cosine similarity of content unigrams + bigrams with the baseline's text,
              reaching full credit at ``FULL_COSINE``.

- ``score = 1 - (W_NAMES * names + W_WORDS * words + W_OVERLAP * overlap)``, clipped to
  [0, 1]; 1 means entirely new.
- Off subject: a baseline's terms of weight 1.0 are its subject (``Nissan`` for the seed).
  An item that mentions none of them is not a restatement of that baseline, however many of
  its side terms it shares (a Tesla price cut in China against a Nissan export story): its
  score is at least ``OFF_SUBJECT_FLOOR``. Baselines without such terms skip this rule.
- With no names, their share goes to words. Against several baselines the item takes the
  lowest score (it is as old as the baseline that knows it best);
  ``new_terms`` are then the names no baseline knows at all (at most ``MAX_TERMS``, heaviest first)
  and ``known_terms`` the best baseline's key terms the item mentions.
- Pure and deterministic: no state besides the inputs; ties broken by first position.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeAlias

from service.baselines.model import Baseline
from service.baselines.text import (
    Name,
    Sentence,
    Token,
    names_in,
    stems_of,
    tokenize,
    weighted_sentences,
)

SUMMARY_WEIGHT = 0.8
TERM_FLOOR = 0.6
W_NAMES = 0.45
W_WORDS = 0.35
W_OVERLAP = 0.20
FULL_COSINE = 0.5
MAX_TERMS = 8
OFF_SUBJECT_FLOOR = 0.6
SUBJECT_KNOWLEDGE = 1.0  # a term of weight 1.0 is known at exactly 1.0

Positions: TypeAlias = Mapping[str, set[tuple[int, int]]]


@dataclass(frozen=True)
class BaselineProfile:
    """What one baseline knows, ready to judge items against (build with ``compile_baseline``)."""

    baseline_id: str
    words: Mapping[str, float]
    terms: Mapping[tuple[str, ...], tuple[str, float]]
    vector: Mapping[str, float]
    norm: float


@dataclass(frozen=True)
class Novelty:
    """How new an item is: ``score`` 1 = entirely new, 0 = nothing the team does not know."""

    score: float
    new_terms: tuple[str, ...]
    known_terms: tuple[str, ...]
    reason: str
    baseline_id: str | None = None


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
    return BaselineProfile(baseline.id, words, terms, vector, _norm(vector))


def judge_novelty(*, title: str, text: str, baselines: Sequence[Baseline | BaselineProfile]) -> Novelty:
    """How new the item is against the baselines that know it best (see the module rules)."""
    profiles = [b if isinstance(b, BaselineProfile) else compile_baseline(b) for b in baselines]
    if not profiles:
        return Novelty(1.0, (), (), "no baseline to compare with")
    sentences = weighted_sentences(title, text)
    names = names_in(sentences)
    words = _content_counts(sentences)
    vector = _vector([tokens for _, tokens, weight, _ in sentences for _ in range(int(weight))])
    positions = _positions(sentences)
    judgements = [_judge(profile, names, words, vector, positions) for profile in profiles]
    best = min(judgements, key=lambda j: (j.score, j.profile.baseline_id))
    unknown_everywhere = [
        name for name, known in best.names if all(_name_known(j.profile, name) == 0 for j in judgements)
    ]
    new_terms = tuple(name.text for name in unknown_everywhere[:MAX_TERMS])
    reason = _reason(best, new_terms)
    return Novelty(round(best.score, 3), new_terms, best.known_terms, reason, best.profile.baseline_id)


def _judge(
    profile: BaselineProfile,
    names: list[Name],
    words: Counter[str],
    vector: Mapping[str, float],
    positions: Positions,
) -> _Judgement:
    known_names = [(name, _name_known(profile, name)) for name in names]
    names_known = _weighted_mean((name.weight, known) for name, known in known_names)
    words_known = _weighted_mean((1 + math.log(n), profile.words.get(word, 0.0)) for word, n in words.items())
    overlap = min(1.0, _cosine(vector, profile.vector, profile.norm) / FULL_COSINE)
    w_names = W_NAMES if names else 0.0
    known = w_names * names_known + (W_WORDS + W_NAMES - w_names) * words_known + W_OVERLAP * overlap
    score = min(1.0, max(0.0, 1.0 - known))
    if not _mentions_subject(profile, positions):
        score = max(score, OFF_SUBJECT_FLOOR)
    return _Judgement(profile, score, known_names, _known_terms(profile, positions), words_known)


def _mentions_subject(profile: BaselineProfile, positions: Positions) -> bool:
    """True when the item names one of the baseline's subject terms, or the baseline has none."""
    subject = [stems for stems, (_, known) in profile.terms.items() if known >= SUBJECT_KNOWLEDGE]
    return not subject or any(_occurrences(stems, positions) for stems in subject)


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float:
    """Mean of the second values weighted by the first (0 when there is nothing)."""
    total = weighted = 0.0
    for weight, value in pairs:
        total += weight
        weighted += weight * value
    return weighted / total if total else 0.0


def _name_known(profile: BaselineProfile, name: Name) -> float:
    exact = profile.terms.get(name.stems)
    if exact is not None:
        return exact[1]
    if len(name.stems) == 1 or any(stem.isdigit() or len(stem) == 1 for stem in name.stems):
        return profile.words.get(name.stems[0], 0.0) if len(name.stems) == 1 else 0.0
    return min(profile.words.get(stem, 0.0) for stem in name.stems)


def _positions(sentences: list[Sentence]) -> Positions:
    """Where each stem occurs: (sentence index, token index)."""
    positions: dict[str, set[tuple[int, int]]] = {}
    for n, (_, tokens, _, _) in enumerate(sentences):
        for index, token in enumerate(tokens):
            positions.setdefault(token.stem, set()).add((n, index))
    return positions


def _known_terms(profile: BaselineProfile, positions: Positions) -> tuple[str, ...]:
    """The baseline's key terms the item mentions, heaviest (and most repeated) first."""
    found = []
    for stems, (term, known) in profile.terms.items():
        hits = _occurrences(stems, positions)
        if hits:
            found.append((-known * (1 + math.log(hits)), term))
    return tuple(term for _, term in sorted(found)[:MAX_TERMS])


def _occurrences(stems: tuple[str, ...], positions: Positions) -> int:
    """How often the term (a run of stems) occurs in the item."""
    empty: set[tuple[int, int]] = set()
    return sum(
        1
        for n, index in positions.get(stems[0], empty)
        if all((n, index + k) in positions.get(stem, empty) for k, stem in enumerate(stems[1:], 1))
    )


def _content_counts(sentences: list[Sentence]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _, tokens, weight, _ in sentences:
        for token in tokens:
            if token.is_content:
                counts[token.stem] += int(weight)
    return counts


def _vector(texts: Iterable[list[Token]]) -> dict[str, float]:
    """Content unigrams and bigrams (adjacent content words of one text), 1 + log(tf)."""
    counts: Counter[str] = Counter()
    for tokens in texts:
        content = [token.stem for token in tokens if token.is_content]
        counts.update(content)
        counts.update(f"{a} {b}" for a, b in pairwise(content))
    return {feature: 1 + math.log(count) for feature, count in counts.items()}


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
