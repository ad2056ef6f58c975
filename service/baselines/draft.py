"""Drafting a baseline from an article the analyst chose, for the analyst to review and approve.

Rules:

- Input is the article already fetched: HTML (anything with an ``<html>``, ``<body>``, ``<p>``,
  ``<div>`` or ``<article>`` tag) or plain text. HTML goes through trafilatura (main text
  without comments, navigation or footer; metadata for the title, the date and the publisher).
  Plain text is read as it is, except its top (the first ``TOP_LINES`` non-empty lines):
  a *date line* starts, after an optional label (``date``, ``published``, ``updated``...) and
  weekday, with a date written ``2023-12-19``, ``December 19, 2023``, ``Dec. 19, 2023`` or
  ``19 December 2023``, maybe with a time; that date is the article's, and the line is cut
  from the text, unless what follows the date is a sentence (ends like one, or is as long as no
  headline is): then only the date is cut. The *headline* is the first other line when
  it is short (under ``MAX_HEADLINE_CHARS``), does not end with a full stop and text follows
  it; it is cut from the text too. No main text (less than ``MIN_TEXT_CHARS`` characters), and
  no name or repeated term in it, is a ``BaselineError``.
- The draft is marked ``draft: true``: the service ignores it until a person approves it
  (``model``; ``approved_text`` removes the mark and the review header). ``TODO`` marks every
  value the drafter could not know; ``rivalwatch rules validate`` lists the ones left.
- ``title``: the headline (HTML: the page title), for the reviewer to reword; without one, a
  TODO naming the subject. ``summary``: a TODO listing the key terms. Nothing the article wrote
  as a sentence is copied, not even into comments: each draft fact carries a comment naming
  only the sentence number and the figure as written (``# sentence 6: "2.8 million"``).
- ``source``: the URL given (else the page's own, when http/https), the publisher from the
  page's site name (else its host, else ``unknown``), ``published`` the article's date (page
  metadata, else the date line), else ``fetched_on``. Facts are ``as of`` the article's date;
  without one their period is a TODO naming ``fetched_on``.
- Subject: the organisation the article is mostly about: among its salient names
  (``text.salient_names``), leaving out places (countries, continents, regions, their
  adjectives: ``China``, ``European Union``, ``Chinese``) and generic acronyms (``EV``,
  ``SUV``), the one mentioned most, the mentions of longer names starting with it counted in
  (``Nissan Motor`` counts for ``Nissan``); the first mentioned on a tie. It is the only term
  of weight 1.0, and each fact's ``subject`` is it with those longer names as aliases. An
  article naming no such organisation gives facts the subject ``TODO: subject``.
- ``terms``: the subject, then the salient names and the content bigrams used at least twice,
  at most ``MAX_TERMS``, weighted by their count relative to the heaviest (one decimal, from
  0.1 to 0.9).
- A draft fact for every number in every sentence, except labels (``Model 3``), percentage
  points, durations (``10 months``) and bare years (``2023``: context, not a figure; a part of a
  year, ``second half of 2024``, is one). Kind guess: percentages and fractions are ``share``
  (value as a fraction), parts of years ``date``; other numbers ``quantity`` when they carry a
  scale word, a currency or are 1,000 or more, else ``count``. Unit guess: the last of the
  content words right after the number (``3 million new-energy vehicles``: ``vehicles``; else
  ``TODO``). Cues: the ``MAX_CUES`` content words nearest to the number. Metric: those words in
  sentence order, prefixed ``TODO: name it:`` (so it is listed until a person names it).
- A figure the drafter cannot type is still a fact, for the reviewer to type or delete: ``kind:
  quantity``, the value as written, a ``unit`` starting ``TODO``. That is a change (``up 24%``,
  ``rose 224% year on year``, ``down 3.5 percent``, ``two more``: ``numbers.is_change``),
  which no kind holds (``facts`` never reads a change as a level), and any figure whose
  guessed fact the model refuses (``a 224% share``). So drafting never fails on a figure.
- ``BaselineDraft.to_yaml()`` writes a file in the ``rules/baselines`` format that loads as it
  is (``load_baselines``, as a draft), with a header saying what to review.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice, pairwise
from typing import Any

import trafilatura
import yaml
from pydantic import ValidationError

from service.baselines.facts import MAX_CUE_GAP
from service.baselines.model import DRAFT_KEY, TODO, Baseline, Fact, Source, term_key
from service.baselines.numbers import Number, find_numbers, following_word, is_change
from service.baselines.text import (
    Name,
    Token,
    salient_names,
    split_sentences,
    stems_of,
    tokenize,
    word_set,
)
from service.errors import BaselineError
from service.slugs import slug

MIN_TEXT_CHARS = 80
ID_CHARS = 100
"""A drafted baseline's or fact's id is cut to this many characters."""
MAX_TERMS = 20
MAX_CUES = 4
TOP_LINES = 3
MAX_HEADLINE_CHARS = 150
MAX_TERM_WEIGHT = 0.9  # below 1.0: only the subject marks what the baseline is about
NO_SUBJECT = f"{TODO}: subject"
_URL = re.compile(r"https?://[^\s/$.?#]\S*$", re.IGNORECASE)
_HTML = re.compile(r"<\s*(?:html|body|p|div|article)\b", re.IGNORECASE)
_TIME_WORDS = word_set("day days week weeks month months quarter quarters year years decade decades")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_LINE = re.compile(
    rf"""\s*(?:(?:date[d]?|published(?:\s+on)?|posted(?:\s+on)?|(?:last\s+)?updated(?:\s+on)?)\s*:?\s*)?
    (?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?\.?,?\s+)?
    (?:(?P<iy>\d{{4}})(?P<sep>[-/])(?P<im>\d{{1,2}})(?P=sep)(?P<id>\d{{1,2}})
      |(?P<mm>{_MONTH})\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<my>\d{{4}})
      |(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dm>{_MONTH}),?\s+(?P<dy>\d{{4}}))\b
    (?:,?\s*(?:at\s+)?\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\s*[ap]\.?m\.?)?
      (?:\s*(?:UTC|GMT|E[SD]?T|C[SD]?T|M[SD]?T|P[SD]?T|CES?T|BST|JST|HKT|SGT|IST)\b)?)?
    [\s|·•,–—-]*""",
    re.IGNORECASE | re.VERBOSE,
)
_MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: n for n, name in enumerate(_MONTH_ABBREVIATIONS, 1)}
# Places and what is said of them: never the organisation an article is about.
_PLACES = """
Afghanistan, Albania, Algeria, Andorra, Angola, Argentina, Armenia, Australia, Austria, Azerbaijan,
Bahamas, Bahrain, Bangladesh, Barbados, Belarus, Belgium, Belize, Benin, Bhutan, Bolivia, Bosnia,
Botswana, Brazil, Brunei, Bulgaria, Burkina Faso, Burundi, Cambodia, Cameroon, Canada, Cape Verde,
Central African Republic, Chad, Chile, China, Mainland China, Colombia, Comoros, Congo, Costa Rica,
Croatia, Cuba, Cyprus, Czech Republic, Czechia, Denmark, Djibouti, Dominica, Dominican Republic,
Ecuador, Egypt, El Salvador, Equatorial Guinea, Eritrea, Estonia, Eswatini, Ethiopia, Fiji, Finland,
France, Gabon, Gambia, Georgia, Germany, Ghana, Greece, Grenada, Guatemala, Guinea, Guyana, Haiti,
Honduras, Hong Kong, Hungary, Iceland, India, Indonesia, Iran, Iraq, Ireland, Israel, Italy,
Ivory Coast, Jamaica, Japan, Jordan, Kazakhstan, Kenya, Kosovo, Kuwait, Kyrgyzstan, Laos, Latvia,
Lebanon, Lesotho, Liberia, Libya, Liechtenstein, Lithuania, Luxembourg, Macau, Macao, Madagascar,
Malawi, Malaysia, Maldives, Mali, Malta, Mauritania, Mauritius, Mexico, Moldova, Monaco, Mongolia,
Montenegro, Morocco, Mozambique, Myanmar, Namibia, Nepal, Netherlands, Holland, New Zealand,
Nicaragua, Niger, Nigeria, North Korea, North Macedonia, Norway, Oman, Pakistan, Palestine, Panama,
Papua New Guinea, Paraguay, Peru, Philippines, Poland, Portugal, Puerto Rico, Qatar, Romania,
Russia, Rwanda, Saudi Arabia, Senegal, Serbia, Singapore, Slovakia, Slovenia, Somalia,
South Africa, South Korea, Korea, South Sudan, Spain, Sri Lanka, Sudan, Suriname, Sweden,
Switzerland, Syria, Taiwan, Tajikistan, Tanzania, Thailand, Togo, Tunisia, Turkey, Türkiye,
Turkmenistan, Uganda, Ukraine, United Arab Emirates, UAE, United Kingdom, UK, U.K., Britain,
Great Britain, England, Scotland, Wales, United States, US, U.S., USA, America, Uruguay, Uzbekistan,
Venezuela, Vietnam, Yemen, Zambia, Zimbabwe,
Africa, Asia, Europe, Oceania, Americas, North America, South America, Latin America,
Central America, Middle East, Southeast Asia, South Asia, East Asia, Central Asia, Asia Pacific,
APAC, EMEA, Western Europe, Eastern Europe, Scandinavia, Nordics, Balkans, Caribbean, Gulf,
European Union, EU, Eurozone, ASEAN,
African, American, Asian, Australian, Brazilian, British, Canadian, Chinese, Dutch, European,
French, German, Indian, Indonesian, Italian, Japanese, Korean, South Korean, Malaysian, Mexican,
Polish, Russian, Spanish, Swedish, Thai, Turkish, Hungarian, Vietnamese,
EV, NEV, BEV, PHEV, HEV, SUV, MPV, AI, IPO, GDP, CEO
"""
_NOT_ORGANISATIONS = frozenset(stems_of(place) for place in _PLACES.split(","))
_CHANGE_UNITS = {"percent": f"{TODO}: percent change", "fraction": f"{TODO}: change as a fraction"}
_HEADER = """\
# DRAFT baseline, made by rivalwatch from {url} (fetched {fetched_on}).
# Everything below is a machine guess to review; the service ignores it until it is approved:
#   - reword the title (the article's headline) and write the summary in our own words (never
#     paste the article);
#   - resolve every TODO (`rivalwatch rules validate` lists those left);
#   - check each fact's subject, metric, value, unit, kind and cues against the article, and
#     delete the facts that do not matter; each comment names the sentence and the figure as written;
#   - adjust the term weights (1.0 = what the story is about, 0.3 = mentioned in passing);
#   - then approve it: `rivalwatch baselines approve {baseline_id}`
#     (or delete the `draft:` line).
"""
_HEADER_START = "# DRAFT baseline, made by rivalwatch"
_HEADER_LINES = _HEADER.count("\n")
_DRAFT_MARK = re.compile(rf"^{DRAFT_KEY}[ \t]*:[ \t]*(?i:true|yes|on)[ \t]*(?:#.*)?(?:\r?\n|$)", re.M)


@dataclass(frozen=True)
class DraftFact:
    """A fact guessed from one number of the article, and where it was found."""

    fact: Fact
    sentence_no: int
    raw: str


@dataclass(frozen=True)
class BaselineDraft:
    """A baseline drafted from an article: valid as it is, meant to be reviewed and approved."""

    baseline: Baseline
    facts: tuple[DraftFact, ...]
    text: str
    fetched_on: date

    def to_yaml(self, *, baseline_id: str | None = None) -> str:
        """The draft as a baseline file marked ``draft: true``, with a review header and a
        locating comment per fact; ``baseline_id`` replaces the drafted id (ValueError when it is
        not a valid id)."""
        baseline = self.baseline
        if baseline_id is not None:
            baseline = Baseline.model_validate(baseline.model_dump() | {"id": baseline_id})
        document = {DRAFT_KEY: True} | baseline.to_json()
        document.pop("facts")
        document["source"]["published"] = baseline.source.published
        url = baseline.source.url or "text"
        header = _HEADER.format(url=url, fetched_on=self.fetched_on, baseline_id=baseline.id)
        body = _dump(document)
        if not self.facts:
            return f"{header}{body}facts: []\n"
        lines = [f"{header}{body}facts:"]
        for draft in self.facts:
            lines.append(f'  # sentence {draft.sentence_no}: "{draft.raw}"')
            lines.append(_indent(_dump([_fact_document(draft.fact)]), "  "))
        return "\n".join(lines) + "\n"


def approved_text(text: str) -> str | None:
    """A draft file's text without its ``draft: true`` line and the drafter's review header;
    None when the text has no such line."""
    if not _DRAFT_MARK.search(text):
        return None
    text = _DRAFT_MARK.sub("", text, count=1)
    if not text.startswith(_HEADER_START):
        return text
    lines = text.splitlines(keepends=True)
    header = next((n for n, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join(lines[min(header, _HEADER_LINES) :])


@dataclass(frozen=True)
class _Article:
    text: str
    headline: str | None
    published: date | None
    url: str | None
    publisher: str | None = None


def draft_baseline(html_or_text: str, *, url: str | None, fetched_on: date) -> BaselineDraft:
    """A reviewable baseline from an article's HTML or text (see the module rules)."""
    article = _read_article(html_or_text, url)
    if len(article.text.strip()) < MIN_TEXT_CHARS:
        raise BaselineError("no main text could be extracted from the article")
    headline = article.headline or ""
    names = salient_names("" if headline in article.text else headline, article.text)
    subject = _subject(names)
    terms = _terms(article.text, names, subject)
    if not terms:
        raise BaselineError("the article names nothing and repeats no term: no baseline to draft from it")
    published = article.published or fetched_on
    as_of = (
        f"as of {published.isoformat()}"
        if article.published
        else f"{TODO}: as of when? (fetched {fetched_on.isoformat()}; the article's date was not found)"
    )
    drafts = tuple(_draft_facts(article.text, as_of, subject or (NO_SUBJECT,)))
    lead = list(dict.fromkeys([*subject[:1], *(name.text for name in names)]))[:3] or ["article"]
    title = article.headline or f"{TODO}: a title in our own words, about {', '.join(lead)}"
    try:
        baseline = Baseline(
            id=slug(f"{' '.join(lead)} {published.isoformat()}", default="draft", max_chars=ID_CHARS),
            title=title,
            source=Source(publisher=article.publisher or "unknown", published=published, url=article.url),
            summary=f"{TODO}: summary in our own words. Key terms: {', '.join(list(terms)[:10])}.",
            terms=terms,
            facts=tuple(draft.fact for draft in drafts),
        )
    except ValidationError as exc:  # every part is built valid: this is a bug, told in one line
        raise BaselineError(f"the draft is not a valid baseline: {exc.errors()[0]['msg']}") from None
    return BaselineDraft(baseline, drafts, article.text, fetched_on)


def _read_article(html_or_text: str, url: str | None) -> _Article:
    if not _HTML.search(html_or_text):
        text, headline, published = _read_top(html_or_text)
        return _Article(text, headline, published, _http(url))
    text = trafilatura.extract(html_or_text, url=url, include_comments=False, include_tables=False) or ""
    meta = trafilatura.extract_metadata(html_or_text, default_url=url)
    return _Article(
        text,
        _one_line(meta.title),
        _date(meta.date),
        _http(url) or _http(meta.url),
        _one_line(meta.sitename or meta.hostname),
    )


def _read_top(text: str) -> tuple[str, str | None, date | None]:
    """Plain text without its date line and headline, the headline and the date (module rules)."""
    lines = text.strip().splitlines()
    headline: str | None = None
    published: date | None = None
    for index in islice((n for n, line in enumerate(lines) if line.strip()), TOP_LINES):
        found = _date_line(lines[index])
        if found is not None:
            published = published or found[0]
            if _is_text(found[1]):  # the date was written in front of the article's first sentence
                lines[index] = found[1]
                break
            lines[index] = ""  # a date line, maybe with a byline or the agency: "| Reuters"
        elif headline is None and _is_headline(lines[index], lines[index + 1 :]):
            headline, lines[index] = lines[index].strip(), ""
        else:
            break
    return "\n".join(lines).strip(), headline, published


def _date_line(line: str) -> tuple[date, str] | None:
    """The date a line starts with, and the rest of the line; None when it starts with none."""
    match = _DATE_LINE.match(line)
    if match is None:
        return None
    year, month, day = (
        (match["iy"], match["im"], match["id"])
        if match["iy"]
        else (match["my"], match["mm"], match["md"])
        if match["my"]
        else (match["dy"], match["dm"], match["dd"])
    )
    number = int(month) if month.isdigit() else _MONTHS[month.lower()[:3]]
    try:
        return date(int(year), number, int(day)), line[match.end() :]
    except ValueError:
        return None


def _is_text(rest: str) -> bool:
    stripped = rest.strip()
    return len(stripped) >= MAX_HEADLINE_CHARS or stripped.endswith((".", "!", "?", '"', "”"))


def _is_headline(line: str, after: list[str]) -> bool:
    stripped = line.strip()
    return len(stripped) < MAX_HEADLINE_CHARS and not stripped.endswith(".") and any(map(str.strip, after))


def _one_line(text: str | None) -> str | None:
    line = " ".join((text or "").split())
    return line or None


def _http(url: str | None) -> str | None:
    return url if url and len(url) <= 2048 and _URL.match(url) else None


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _subject(names: list[Name]) -> tuple[str, ...]:
    """The most mentioned organisation and its longer names (module rules); () when none."""
    organisations = [name for name in names if name.stems not in _NOT_ORGANISATIONS]

    def longer(name: Name) -> list[Name]:
        width = len(name.stems)
        return [other for other in names if len(other.stems) > width and other.stems[:width] == name.stems]

    scored = [
        (name.weight + sum(other.weight for other in longer(name)), -name.first, name)
        for name in organisations
    ]
    if not scored:
        return ()
    best = max(scored, key=lambda item: item[:2])[2]
    return (best.text, *(other.text for other in longer(best)))


def _terms(text: str, names: list[Name], subject: tuple[str, ...]) -> dict[str, float]:
    weighted: dict[str, tuple[str, float]] = {}
    for name in names:
        weighted.setdefault(term_key(name.text), (name.text, name.weight))
    for phrase, count in _repeated_bigrams(text):
        weighted.setdefault(term_key(phrase), (phrase, float(count)))
    main = weighted.pop(term_key(subject[0])) if subject else None
    ranked = sorted(weighted.values(), key=lambda item: -item[1])[: MAX_TERMS - (main is not None)]
    heaviest = max([weight for _, weight in ranked] + [main[1] if main else 0.0] + [1.0])
    terms = {main[0]: 1.0} if main else {}
    for term, weight in ranked:
        terms[term] = min(MAX_TERM_WEIGHT, max(0.1, round(weight / heaviest, 1)))
    return terms


def _repeated_bigrams(text: str) -> list[tuple[str, int]]:
    counts: dict[tuple[str, str], tuple[str, int]] = {}
    for sentence in split_sentences(text):
        tokens = tokenize(sentence)
        for a, b in pairwise(tokens):
            if a.is_content and b.is_content and a.text.islower() and b.text.islower():
                written, count = counts.get((a.stem, b.stem), (f"{a.text} {b.text}", 0))
                counts[(a.stem, b.stem)] = (written, count + 1)
    return [(written, count) for written, count in counts.values() if count >= 2]


def _draft_facts(text: str, as_of: str, subject: tuple[str, ...]) -> list[DraftFact]:
    drafts: list[DraftFact] = []
    for sentence_no, sentence in enumerate(split_sentences(text), 1):
        tokens = tokenize(sentence)
        for number in find_numbers(sentence):
            fact = _guess_fact(sentence, tokens, number, len(drafts) + 1, as_of, subject)
            if fact is not None:
                drafts.append(DraftFact(fact, sentence_no, number.raw))
    return drafts


def _guess_fact(
    sentence: str, tokens: Sequence[Token], number: Number, n: int, as_of: str, subject: tuple[str, ...]
) -> Fact | None:
    if number.kind in ("label", "points", "ratio", "year") or (
        number.kind == "plain" and following_word(sentence, number) in _TIME_WORDS
    ):
        return None
    nearby = _nearby(tokens, number)
    if not nearby:
        return None
    cues = tuple(dict.fromkeys(token.text for _, token in sorted(nearby, key=lambda pair: pair[0])))
    metric = " ".join(token.text for _, token in sorted(nearby, key=lambda pair: pair[1].start))
    fields: dict[str, Any] = {
        "metric": f"{TODO}: name it: {metric}",
        "period": as_of,
        "subject": subject,
        "cues": cues[:MAX_CUES],
    }
    if is_change(sentence, number):
        unit = _CHANGE_UNITS.get(number.kind, f"{TODO}: change")
        return _fact(id=f"fact-{n}-change", kind="quantity", value=number.value, unit=unit, **fields)
    kind, value, unit = _guess_kind(number, _unit_after(tokens, number))
    named = slug(unit if unit != TODO else kind, default="draft", max_chars=ID_CHARS)
    return _fact(id=f"fact-{n}-{named}", kind=kind, value=value, unit=unit, **fields) or _fact(
        id=f"fact-{n}-todo", kind="quantity", value=number.value, unit=f"{TODO}: not a {kind}", **fields
    )


def _fact(**fields: Any) -> Fact | None:
    """The fact, or None when the model refuses it (a share above 1, a count of 2.5...)."""
    try:
        return Fact(**fields)
    except ValidationError:
        return None


def _guess_kind(number: Number, unit_word: str) -> tuple[Any, float, str]:
    if number.fraction is not None:
        return "share", round(number.fraction, 4), "share"
    if number.kind == "period":
        return "date", number.value, "half-year" if number.period_years == 0.5 else "quarter"
    unit = number.currency or unit_word or TODO
    if number.scaled or number.currency or number.value >= 1000 or number.value != int(number.value):
        return "quantity", number.value, unit
    return "count", number.value, unit


def _unit_after(tokens: Sequence[Token], number: Number) -> str:
    """The noun a number counts, guessed as the last of the (up to 3) content words right after it:
    ``3 million new-energy vehicles`` -> ``vehicles``."""
    unit = ""
    for token in [t for t in tokens if t.start >= number.end][:3]:
        if not token.is_content:
            break
        unit = token.text.lower()
    return unit


def _nearby(tokens: Sequence[Token], number: Number) -> list[tuple[int, Token]]:
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
