"""Drafting a baseline from an article the analyst chose, for the analyst to review and finish.

Rules:

- Input is the article already fetched: HTML (anything with an ``<html>``, ``<body>``, ``<p>``,
  ``<div>`` or ``<article>`` tag) or plain text. HTML goes through trafilatura (main text
  without comments, navigation or footer; metadata for the date and the publisher); plain text
  is used as it is, with its first line dropped when it looks like a headline (short, no final
  full stop). No main text (less than ``MIN_TEXT_CHARS`` characters) is a ``BaselineError``.
- Nothing the article wrote as a sentence is copied into the draft, not even into comments:
  the baseline must be in our own words, and a draft file is easily committed as it is. So the
  ``title`` is ``DRAFT:`` and the main names, the ``summary`` a TODO listing the key terms, and
  each draft fact carries a comment naming only the sentence number and the figure as written
  (``# sentence 6: "2.8 million"``) so the analyst can find it in the article.
- ``source``: the URL given (else the page's own, when http/https), the publisher from the
  page's site name (else its host, else ``unknown``), the page date (else ``fetched_on``).
- ``terms``: the salient names (``text.salient_names``) and the content bigrams used at least
  twice, at most ``MAX_TERMS``, weighted by their count relative to the heaviest (one decimal,
  at least 0.1).
- A draft fact for every number in every sentence, except labels (``Model 3``), percentage
  points and durations (``10 months``). Kind guess: percentages and fractions are ``share``
  (value as a fraction), years ``year``, parts of years ``date``; other numbers ``quantity``
  when they carry a scale word, a currency or are 1,000 or more, else ``count``. Unit guess:
  the last of the content words right after the number (``3 million new-energy vehicles``:
  ``vehicles``; else ``TODO``). Cues: the ``MAX_CUES`` content words nearest to
  the number. Metric: those words in sentence order, prefixed ``review me:``. Subject: the
  draft's subject terms (its terms of weight 1.0, the most mentioned names), for the analyst to
  narrow to the entity each figure is about.
- ``BaselineDraft.to_yaml()`` writes a file in the ``rules/baselines`` format that loads as it
  is (``load_baselines``), with a header saying that everything in it is a draft to review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import trafilatura
import yaml

from service.baselines.facts import MAX_CUE_GAP
from service.baselines.model import Baseline, Fact, Source, subject_terms, term_key
from service.baselines.numbers import Number, find_numbers, following_word
from service.baselines.text import Name, Token, salient_names, split_sentences, tokenize, word_set
from service.errors import BaselineError

MIN_TEXT_CHARS = 80
MAX_TERMS = 20
MAX_CUES = 4
_HTML = re.compile(r"<\s*(?:html|body|p|div|article)\b", re.IGNORECASE)
_TIME_WORDS = word_set("day days week weeks month months quarter quarters year years decade decades")
_HEADER = """\
# DRAFT baseline, made by rivalwatch from {url} (fetched {fetched_on}).
# Everything below is a machine guess to review before committing:
#   - write the title and the summary in our own words (never paste the article);
#   - check each fact's subject, metric, value, unit, kind and cues against the article, and
#     delete the facts that do not matter; each comment names the sentence and the figure as written;
#   - adjust the term weights (1.0 = what the story is about, 0.3 = mentioned in passing).
"""


@dataclass(frozen=True)
class DraftFact:
    """A fact guessed from one number of the article, and where it was found."""

    fact: Fact
    sentence_no: int
    raw: str


@dataclass(frozen=True)
class BaselineDraft:
    """A baseline drafted from an article: valid as it is, meant to be reviewed."""

    baseline: Baseline
    facts: tuple[DraftFact, ...]
    text: str
    fetched_on: date

    def to_yaml(self, *, baseline_id: str | None = None) -> str:
        """The draft as a baseline file, with a review header and a locating comment per fact;
        ``baseline_id`` replaces the drafted id (ValueError when it is not a valid id)."""
        baseline = self.baseline
        if baseline_id is not None:
            baseline = Baseline.model_validate(baseline.model_dump() | {"id": baseline_id})
        document = baseline.to_json()
        document.pop("facts")
        document["source"]["published"] = baseline.source.published
        header = _HEADER.format(url=baseline.source.url or "text", fetched_on=self.fetched_on)
        body = _dump(document)
        if not self.facts:
            return f"{header}{body}facts: []\n"
        lines = [f"{header}{body}facts:"]
        for draft in self.facts:
            lines.append(f'  # sentence {draft.sentence_no}: "{draft.raw}"')
            lines.append(_indent(_dump([_fact_document(draft.fact)]), "  "))
        return "\n".join(lines) + "\n"


def draft_baseline(html_or_text: str, *, url: str | None, fetched_on: date) -> BaselineDraft:
    """A reviewable baseline from an article's HTML or text (see the module rules)."""
    text, meta = _main_text(html_or_text, url)
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise BaselineError("no main text could be extracted from the article")
    published = _date(meta.get("date")) or fetched_on
    names = salient_names("", text)
    terms = _terms(text, names)
    lead = [name.text for name in names[:3]] or ["article"]
    drafts = tuple(_draft_facts(text, fetched_on, tuple(subject_terms(terms))))
    baseline = Baseline(
        id=_slug(f"{' '.join(lead)} {published.isoformat()}"),
        title=f"DRAFT: {', '.join(lead)}",
        source=Source(publisher=meta.get("publisher") or "unknown", published=published, url=meta.get("url")),
        summary=f"TODO: summary in our own words. Key terms: {', '.join(list(terms)[:10])}.",
        terms=terms,
        facts=tuple(draft.fact for draft in drafts),
    )
    return BaselineDraft(baseline, drafts, text, fetched_on)


def _main_text(html_or_text: str, url: str | None) -> tuple[str, dict[str, str | None]]:
    if not _HTML.search(html_or_text):
        lines = html_or_text.strip().splitlines()
        headline = len(lines) > 1 and len(lines[0]) < 150 and not lines[0].rstrip().endswith(".")
        return "\n".join(lines[1:] if headline else lines), {"url": _http(url)}
    text = trafilatura.extract(html_or_text, url=url, include_comments=False, include_tables=False) or ""
    meta = trafilatura.extract_metadata(html_or_text, default_url=url)
    return text, {
        "url": _http(url) or _http(meta.url),
        "publisher": meta.sitename or meta.hostname,
        "date": meta.date,
    }


def _http(url: str | None) -> str | None:
    return url if url and re.match(r"https?://\S+$", url, re.IGNORECASE) else None


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _terms(text: str, names: list[Name]) -> dict[str, float]:
    weighted: dict[str, tuple[str, float]] = {}
    for name in names:
        weighted.setdefault(term_key(name.text), (name.text, name.weight))
    for phrase, count in _repeated_bigrams(text):
        weighted.setdefault(term_key(phrase), (phrase, float(count)))
    ranked = sorted(weighted.values(), key=lambda item: -item[1])[:MAX_TERMS]
    heaviest = ranked[0][1] if ranked else 1.0
    return {term: max(0.1, round(weight / heaviest, 1)) for term, weight in ranked}


def _repeated_bigrams(text: str) -> list[tuple[str, int]]:
    counts: dict[tuple[str, str], tuple[str, int]] = {}
    for sentence in split_sentences(text):
        tokens = tokenize(sentence)
        for a, b in pairwise(tokens):
            if a.is_content and b.is_content and a.text.islower() and b.text.islower():
                written, count = counts.get((a.stem, b.stem), (f"{a.text} {b.text}", 0))
                counts[(a.stem, b.stem)] = (written, count + 1)
    return [(written, count) for written, count in counts.values() if count >= 2]


def _draft_facts(text: str, fetched_on: date, subject: tuple[str, ...]) -> list[DraftFact]:
    drafts: list[DraftFact] = []
    for sentence_no, sentence in enumerate(split_sentences(text), 1):
        tokens = tokenize(sentence)
        for number in find_numbers(sentence):
            fact = _guess_fact(sentence, tokens, number, len(drafts) + 1, fetched_on, subject)
            if fact is not None:
                drafts.append(DraftFact(fact, sentence_no, number.raw))
    return drafts


def _guess_fact(
    sentence: str, tokens: list[Token], number: Number, n: int, fetched_on: date, subject: tuple[str, ...]
) -> Fact | None:
    if number.kind in ("label", "points") or (
        number.kind == "plain" and following_word(sentence, number) in _TIME_WORDS
    ):
        return None
    kind, value, unit = _guess_kind(number, _unit_after(tokens, number))
    nearby = _nearby(tokens, number)
    if not nearby:
        return None
    cues = tuple(dict.fromkeys(token.text for _, token in sorted(nearby, key=lambda pair: pair[0])))
    metric = " ".join(token.text for _, token in sorted(nearby, key=lambda pair: pair[1].start))
    return Fact(
        id=f"fact-{n}-{_slug(unit if unit != 'TODO' else kind)}",
        metric=f"review me: {metric}",
        value=value,
        unit=unit,
        period=f"as of {fetched_on.isoformat()}",
        subject=subject,
        cues=cues[:MAX_CUES],
        kind=kind,
    )


def _guess_kind(number: Number, unit_word: str) -> tuple[Any, float, str]:
    if number.fraction is not None:
        return "share", round(number.fraction, 4), "share"
    if number.kind == "year":
        return "year", number.value, "year"
    if number.kind == "period":
        return "date", number.value, "half-year" if number.period_years == 0.5 else "quarter"
    unit = number.currency or unit_word or "TODO"
    if number.scaled or number.currency or number.value >= 1000 or number.value != int(number.value):
        return "quantity", number.value, unit
    return "count", number.value, unit


def _unit_after(tokens: list[Token], number: Number) -> str:
    """The noun a number counts, guessed as the last of the (up to 3) content words right after it:
    ``3 million new-energy vehicles`` -> ``vehicles``."""
    unit = ""
    for token in [t for t in tokens if t.start >= number.end][:3]:
        if not token.is_content:
            break
        unit = token.text.lower()
    return unit


def _nearby(tokens: list[Token], number: Number) -> list[tuple[int, Token]]:
    """The ``MAX_CUES`` content words nearest to the number (within ``MAX_CUE_GAP`` words),
    each with its distance in words."""
    inside = [n for n, t in enumerate(tokens) if t.start < number.end and number.start < t.end]
    first = inside[0] if inside else sum(1 for t in tokens if t.end <= number.start)
    last = inside[-1] if inside else first
    near = [
        (max(n - last, first - n), token)
        for n, token in enumerate(tokens)
        if token.is_content and not first <= n <= last and max(n - last, first - n) <= MAX_CUE_GAP
    ]
    return sorted(near, key=lambda pair: pair[0])[:MAX_CUES]


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:100].strip("-") or "draft"


def _fact_document(fact: Fact) -> dict[str, Any]:
    document = fact.model_dump(exclude_none=True)
    document["subject"] = list(fact.subject)
    document["cues"] = list(fact.cues)
    document["value"] = int(fact.value) if fact.value == int(fact.value) else fact.value
    return document


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _indent(block: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in block.rstrip("\n").splitlines())
