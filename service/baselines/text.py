"""Words and sentences as the baseline stages see them: one tokeniser, one stemmer, one stopword list.

Rules:

- A token is a run of letters and digits (apostrophes inside a word are kept, so ``Nissan's``
  is one token). Hyphens, slashes and dots separate tokens: ``new-energy`` is ``new energy``,
  which is how "hyphen ≈ space" holds everywhere.
- ``stem`` is deliberately light: lower case, number words as digits (``ten`` = ``10``, so a cue
  "first ten months" finds "first 10 months"), possessive ``'s`` dropped, British ``-isation``
  / ``centre`` spellings mapped to the American ones, simple plurals (``vehicles``,
  ``batteries``, ``NEVs``) and ``-ing`` / ``-ed`` endings removed when at least four letters
  remain. It only has to make the same word meet itself, not to be linguistically right.
- Stopwords are function words plus reporting filler ("said", "according"); with the generic
  words of business news (``GENERIC_WORDS``: "company", "million", "announced") they are never
  content words or terms (a fact cue may still be one: ``since`` next to a year).
- ``split_sentences`` breaks on ``. ! ?`` followed by a space and an upper-case letter, digit or
  quote, and on line breaks; a dot after a known abbreviation (``Co.``, ``Mr.``, ``Jan.``) or
  inside a number (``2.8``) does not end a sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from service.baselines.wordstats import mostly_lower_case, unknown_case

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A line break is matched from the break on, not from the white space before it: ``\s*\n`` would
# scan a whole run of spaces from each of its positions (quadratic in the run's length).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“'‘(]?[A-Z0-9])|\n\s*")


def word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


_ABBREVIATIONS = word_set(
    "mr mrs ms dr prof st co corp inc ltd jr sr vs etc no jan feb mar apr jun jul aug sep sept oct nov dec"
    " u.s e.g i.e approx est"
)
_PLURAL_EXCEPTIONS = word_set(
    "news series species analysis basis crisis gas lexus mercedes chassis bus plus thus has was is its"
    " this us yes less loss boss class process business congress"
)
_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen"
)
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
NUMBER_WORDS = {word: value for value, word in enumerate(_UNIT_WORDS.split())} | {
    word: 20 + 10 * n for n, word in enumerate(_TEN_WORDS.split())
}
_SPELLING = {"centre": "center", "centres": "centers", "programme": "program", "programmes": "programs"}

STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either else even ever few
    for from further had has have having he her here hers herself him himself his how however i if in
    into is it its itself just least less let like made make makes many may me might more most much
    must my myself near neither nor not now of off on once one only or other others our ours ourselves
    out over own per perhaps quite rather same several she should since so some such than that the
    their theirs them themselves then there these they this those though through thus to too under
    until up upon us very via was we were what when where whether which while who whom whose why will
    with within without would yet you your yours yourself
    said says say saying told according reported reports added adding stated noted still already
    """
)
# Words any business story uses whatever its topic: never content, so they neither make an item
# look known nor new.
GENERIC_WORDS = word_set(
    """
    aim aims announce announced announcement around based begin began company companies continue
    country date day effort expect expected firm focus include includes including know last late
    latest look looking main mainly million billion month months name next number option part
    percent place put recent recently remain remaining report set show start started take
    thing time today week year years yesterday
    """
)


class Token(NamedTuple):
    """One word of a text: as written, its stem, where it sits (character offsets), and whether
    it carries meaning (not a stopword, not a generic word, not a bare number).

    A named tuple, not a dataclass: texts are tokenised per item and this is the hot path."""

    text: str
    stem: str
    start: int
    end: int
    is_content: bool


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Lower-cased, possessive-free, lightly de-suffixed form of ``word`` (see module rules)."""
    low = word.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    low = low.replace("'", "")
    if low in NUMBER_WORDS:
        return str(NUMBER_WORDS[low])
    low = _SPELLING.get(low, low)
    if "isation" in low:
        low = low.replace("isation", "ization")
    if low in _PLURAL_EXCEPTIONS or not low.isalpha():
        return low
    return _strip_verb_ending(_strip_plural(low))


def _strip_plural(low: str) -> str:
    if len(low) > 4 and low.endswith("ies"):
        return low[:-3] + "y"
    if len(low) > 4 and low.endswith(("sses", "xes", "ches", "shes", "zes")):
        return low[:-2]
    if len(low) >= 3 and low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return low[:-1]
    return low


def _strip_verb_ending(low: str) -> str:
    for suffix in ("ing", "ed"):
        root = low[: -len(suffix)]
        if low.endswith(suffix) and len(root) >= 4:
            if len(root) > 4 and root[-1] == root[-2] and root[-1] not in "lsz":
                root = root[:-1]
            return root
    return low


_GENERIC_STEMS = frozenset(stem(word) for word in GENERIC_WORDS)


@lru_cache(maxsize=65536)
def _analyse(word: str) -> tuple[str, bool]:
    root = stem(word)
    content = root not in STOPWORDS and root not in _GENERIC_STEMS and not root.isdigit() and len(root) > 1
    return root, content


_new_tuple = tuple.__new__
REMEMBERED_TEXTS = 128
REMEMBERED_CHARS = 1_000
"""``tokenize`` remembers the tokens of the last ``REMEMBERED_TEXTS`` texts of at most this many
characters (a sentence of news has ~150; an item's title and sentences are read again within
one judgement, which is what the memory is for): whatever the items hold, at most ~21 MB
(measured with every text at the limit and each word one CJK character, 500 tokens a text)."""


def tokenize(text: str) -> tuple[Token, ...]:
    """Every word of ``text`` in order, with its stem and character span.

    Judging an item reads its title and sentences for novelty, then again for the figures of
    each baseline's facts: short texts are remembered, so the readings after the first are
    look-ups (about 7 % of judging a matched item). Hence a tuple: callers share the one they
    get. See :func:`forget_tokens`.
    """
    if len(text) > REMEMBERED_CHARS:
        return _tokens(text)
    # A final "." is part of no word, so "Title." and "Title" share one memory: the figures of
    # an item read its title as the sentence "Title.", novelty reads it as it is (~4 % of
    # judging a short item went to reading the title twice).
    return _remembered_tokens(text[:-1] if text.endswith(".") else text)


def forget_tokens() -> None:
    """Drop the remembered tokens (a benchmark timing a first reading starts with this)."""
    _remembered_tokens.cache_clear()


def _tokens(text: str) -> tuple[Token, ...]:
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match[0]
        root, content = _analyse(word)
        # tuple.__new__ skips the named tuple's own __new__ (a Python function re-packing its
        # arguments): a token in 0.8 µs rather than 1.3 (the corpus's texts, 160 000 tokens).
        tokens.append(_new_tuple(Token, (word, root, match.start(), match.end(), content)))
    return tuple(tokens)


_remembered_tokens = lru_cache(maxsize=REMEMBERED_TEXTS)(_tokens)


def stems_of(phrase: str) -> tuple[str, ...]:
    """The stem sequence of a phrase, as it is looked for in tokenised text."""
    return tuple(token.stem for token in tokenize(phrase))


def find_phrase(
    tokens: Sequence[Token], phrase: tuple[str, ...], *, starts_of: Mapping[str, list[int]] | None = None
) -> list[int]:
    """Indexes into ``tokens`` where the stem sequence ``phrase`` starts (whole words only).

    ``starts_of`` (from :func:`stem_positions` of the same tokens) saves a scan of every token
    when many phrases are looked for in one text.
    """
    if not phrase:
        return []
    width = len(phrase)
    first = phrase[0]
    candidates = starts_of.get(first, ()) if starts_of is not None else range(len(tokens) - width + 1)
    return [
        index
        for index in candidates
        if index + width <= len(tokens)
        and tokens[index].stem == first
        and all(tokens[index + k].stem == phrase[k] for k in range(1, width))
    ]


def stem_positions(tokens: Sequence[Token]) -> dict[str, list[int]]:
    """Stem → the indexes of ``tokens`` with that stem, in order."""
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        positions.setdefault(token.stem, []).append(index)
    return positions


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped (see module rules)."""
    sentences: list[str] = []
    pieces: list[str] = []  # of the sentence being read; joined once, so "Mr. Mr. Mr. …" stays linear
    position = 0
    for match in _SENTENCE_END.finditer(text):
        # A break that is no line break comes right after . ! or ?, so the piece ends with it and
        # its last word is the sentence's last word: the abbreviation test needs the piece alone.
        piece = text[position : match.start()]
        position = match.end()
        pieces.append(piece)
        if "\n" not in match.group() and ends_with_abbreviation(piece):
            continue
        _append_sentence(sentences, pieces)
        pieces = []
    pieces.append(text[position:])
    _append_sentence(sentences, pieces)
    return sentences


def _append_sentence(sentences: list[str], pieces: list[str]) -> None:
    words = " ".join(pieces).split()
    if words:
        sentences.append(" ".join(words))


def ends_with_abbreviation(piece: str) -> bool:
    """Whether ``piece`` ends with a "." that closes an abbreviation ("Jan.", "U.S.", "Mr.")."""
    words = piece.rstrip().rsplit(None, 1)
    if not words or not piece.rstrip().endswith("."):
        return False
    last = words[-1].rstrip(".").lower().lstrip("(\"'“")
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


@dataclass(frozen=True, slots=True)
class Name:
    """A salient name in an item: how it was first written, its stems, and how much it counts.

    ``first`` orders names of equal weight: the offset of its first mention within its sentence
    plus that sentence's ``offset`` (see ``Sentence``), so not a position in the item's text."""

    text: str
    stems: tuple[str, ...]
    weight: float
    first: int


class Sentence(NamedTuple):
    """One piece of an item as the baseline stages read it: the title (``offset`` -1, ``weight``
    2) or a body sentence (``weight`` 1), its words and its text.

    A body sentence's ``offset`` is where it starts in the body as ``split_sentences`` returns
    it (white space collapsed, sentences joined by one space), not in the original text, and
    its tokens' spans are within its own ``text``. Callers use the offset only to tell the title
    (negative) from the body and to order names; none maps it back into the item's text."""

    offset: int
    tokens: tuple[Token, ...]
    weight: float
    text: str


TITLE_CASE_SHARE = 0.8
HEADLINE_LOWER_PERCENT = 25
COMMON_LOWER_PERCENT = 50
SHOUTING_MIN_LETTERS = 4
MAX_CODE_CHARS = 6
MAX_MODEL_NUMBER_DIGITS = 3

_CORPORATE_SUFFIXES = word_set("co corp corporation inc ltd llc plc ag sa se nv")
CALENDAR = word_set(  # days and months, in full and abbreviated
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july"
    " august september october november december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_NOT_NAMES = STOPWORDS | CALENDAR | word_set("among per mr mrs ms dr")
_PERCENT_WORDS = word_set("percent pct per")
_NAME_JOINERS = frozenset(" -.")  # Rolls-Royce, U.S., Model 3
_POSSESSIVE = ("'s", "’s")
_CONTRACTION = re.compile(r"['’](?:ll|m|ve|d|re|t)$", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+\d[A-Za-z\d]*")
_PART_OF_YEAR = re.compile(r"(?:[QH]\d|FY\d*)")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def salient_names(title: str, text: str) -> list[Name]:
    """Names in an item, ranked by weight: one per mention, two per mention in the title.

    - A name is a run of name words joined by a space, hyphen or dot (``Tsinghua University``,
      ``Rolls-Royce``, ``U.S.``), shown as the item wrote it. A possessive ends a run
      (``China's Chery`` is ``China`` and ``Chery``); corporate suffixes (``Co``, ``Ltd``) are
      dropped.
    - Name words: capitalised words, acronyms (``BYD``, ``NEVs``) and model codes (letters then
      digits, at most ``MAX_CODE_CHARS``: ``N7``, ``EX30``, ``bZ3``; not parts of years such as
      ``Q3``, ``H2``, ``FY2024``). Never stopwords, month or day names, contractions (``I'll``), or
      words with Chinese, Japanese or Korean characters: without a segmenter a run of such text
      is a clause, not a name, so those scripts give no names at all.
    - A word that starts a sentence (or the title) counts only when the item never writes it in
      lower case and capitalises it at least twice, or when it is an acronym or a model code.
      An all-capitals word of ``SHOUTING_MIN_LETTERS`` letters or more that news usually writes
      in lower case (``EXCLUSIVE``, ``UPDATE``) is shouting, not an acronym.
    - A word news uses but has only seen where every word is capitalised, first in a sentence or
      in a title (its lower-case share is unknown: ``Additionally``, ``Permalink``), has a case
      that tells nothing there: it is a name only where the item capitalises it elsewhere, never
      as a sentence's first word (unless an acronym or model code) nor in a headline.
    - A number joins the name just before it as a model number (``Model 3``, ``Atto 3``) when it
      has at most ``MAX_MODEL_NUMBER_DIGITS`` digits and is not a figure: not followed by ``%`` or
      a percent word, not part of ``2.0`` or ``119,900``.
    - Headlines (a title or body sentence in Title Case, as aggregators list them; see
      ``_case_of``) capitalise every word: there a word counts only when news writes it in lower
      case less than ``HEADLINE_LOWER_PERCENT`` percent of the time (``wordstats``), so ``Tesla
      Car Sales Fell 9%`` gives ``Tesla`` alone, and no model number joins. A Title Case title's
      word must also be capitalised in the body, when there is one.
    - A name of one word that news writes in lower case at least ``COMMON_LOWER_PERCENT`` percent
      of the time is a common word (``Exclusive``, ``Shows``), and a lone letter is no name.
    """
    return names_in(weighted_sentences(title, text))


def names_in(sentences: list[Sentence]) -> list[Name]:
    """``salient_names`` over an item already split by ``weighted_sentences``."""
    case = _case_of(sentences)
    unknown = unknown_case()
    starters = {
        stem
        for stem, count in case.capitals.items()
        if count >= 2 and stem not in case.lower_words and stem not in unknown
    }
    has_body = any(sentence.offset >= 0 and sentence.tokens for sentence in sentences)
    found: dict[tuple[str, ...], Name] = {}
    for sentence, headline in zip(sentences, case.headlines, strict=True):
        allowed = case.body_capitals if headline and sentence.offset < 0 and has_body else None
        for run in _name_runs(sentence, starters, allowed, headline=headline):
            key = tuple(token.stem for token in run)
            held = found.get(key)
            if held is None:
                label = _label(sentence.text, run)
                found[key] = Name(label, key, sentence.weight, sentence.offset + run[0].start)
            else:
                found[key] = Name(held.text, key, held.weight + sentence.weight, held.first)
    return sorted(found.values(), key=lambda name: (-name.weight, name.first))


@dataclass(frozen=True, slots=True)
class _Case:
    """How an item capitalises its words: what name-finding needs, gathered in one pass."""

    lower_words: set[str]  # stems the body writes in lower case
    capitals: Counter[str]  # stem → times capitalised anywhere
    body_capitals: set[str]  # stems the body capitalises
    headlines: list[bool]  # per sentence: written in Title Case


def _case_of(sentences: list[Sentence]) -> _Case:
    """A sentence is a headline (Title Case) when it capitalises common words (``wordstats``: news
    writes them in lower case at least ``COMMON_LOWER_PERCENT`` percent of the time) and at least
    ``TITLE_CASE_SHARE`` of its common words and lower-case words (stopwords aside) are such
    capitals. Names do not count either way: a sentence listing makers and models is no headline."""
    case = _Case(set(), Counter(), set(), [])
    common = _common_content_words()
    every_capital: list[str] = []
    for sentence in sentences:
        capitals = [token.stem for token in sentence.tokens if token.text[0].isupper()]
        lowers = [token.stem for token in sentence.tokens if token.text.islower()]
        every_capital += capitals
        if sentence.offset >= 0:
            case.body_capitals.update(capitals)
            case.lower_words.update(lowers)
        capitalised = sum(1 for stem in capitals if stem in common)
        lowered = sum(1 for stem in lowers if stem not in STOPWORDS)
        case.headlines.append(capitalised > 0 and capitalised >= TITLE_CASE_SHARE * (capitalised + lowered))
    case.capitals.update(every_capital)  # once: Counter.update is a Python call
    return case


@cache
def _common_content_words() -> frozenset[str]:
    return mostly_lower_case(COMMON_LOWER_PERCENT) - STOPWORDS


_PUBLISHER = re.compile(r"\s+[-|\u2013\u2014]\s+((?:[^\W_]|\d)[^\s|,]*(?:\s+[^\s|,]+){0,4})\s*$")
_PUBLISHER_JOINERS = frozenset({"of", "and", "the", "for", "on", "&"})


def without_publisher(title: str, *, unless: Callable[[Sequence[str]], bool] = lambda words: False) -> str:
    """``title`` without the publisher's name an aggregator appends to it ("Nissan weighs
    exports - Reuters", "... | Autocar", "... - The New York Times"): a trailing dash or bar,
    spaced, then one to five capitalised words (joiners such as "of" after the first), no
    comma, after at least three words of headline. A subtitle stays: words ``unless`` holds
    to be news ("Export Plan - Shelved", "- Put On Hold": the caller's judgement), a list
    ("- N7, Frontier Pro To Lead"), a lower-case word ("- report"), a number ("- 2023")."""
    match = _PUBLISHER.search(title)
    if match is None or len(title[: match.start()].split()) < 3:
        return title
    first, *rest = match.group(1).split()
    named = all(_capitalised(word) or word in _PUBLISHER_JOINERS for word in rest)
    if not _capitalised(first) or not named or unless([first, *rest]):
        return title
    return title[: match.start()]


def _capitalised(word: str) -> bool:
    """A word of a name: it starts with a capital or a digit and holds a letter ("9to5Google")."""
    return (word[:1].isupper() or word[:1].isdigit()) and any(character.isalpha() for character in word)


def weighted_sentences(title: str, text: str) -> list[Sentence]:
    """The title (offset -1, weight 2) and each body sentence (weight 1) of an item; offsets are
    in the collapsed body (see ``Sentence``)."""
    items = [Sentence(-1, tokenize(title), 2.0, title)] if title.strip() else []
    position = 0
    for sentence in split_sentences(text):
        items.append(Sentence(position, tokenize(sentence), 1.0, sentence))
        position += len(sentence) + 1
    return items


def _name_runs(
    sentence: Sentence, starters: set[str], allowed: set[str] | None, *, headline: bool
) -> list[list[Token]]:
    tokens = sentence.tokens
    runs: list[list[Token]] = []
    run: list[Token] = []
    for index, token in enumerate(tokens):
        if token.text.islower():  # most words: no name word, no model number
            if run:
                runs.append(run)
                run = []
            continue
        joined = bool(run) and _joined(sentence.text, run[-1], token)
        if _is_name_word(token, index, starters, allowed, headline=headline):
            if run and not joined:
                runs.append(run)
                run = []
            run.append(token)
        elif joined and not headline and _is_model_number(sentence.text, tokens, index):
            run.append(token)
        elif run:
            runs.append(run)
            run = []
    runs.append(run)
    return [trimmed for trimmed in map(_trim, runs) if trimmed]


def _joined(text: str, previous: Token, token: Token) -> bool:
    """Two words of one name: one joining character between them, no possessive before it."""
    return (
        token.start - previous.end == 1
        and text[previous.end] in _NAME_JOINERS
        and not previous.text.endswith(_POSSESSIVE)
    )


def _is_name_word(
    token: Token, index: int, starters: set[str], allowed: set[str] | None, *, headline: bool
) -> bool:
    text = token.text
    if text.islower() or text.isdigit() or token.stem in _NOT_NAMES:
        return False
    if not text.isalpha():
        if _is_model_code(text):
            return True
        if not text.replace("'", "").replace("’", "").isalpha() or _CONTRACTION.search(text):
            return False
    if not text[0].isupper() or (not text.isascii() and _CJK.search(text)):
        return False
    if allowed is not None and token.stem not in allowed:
        return False
    if headline and token.stem in _not_names_in_headlines():
        return False
    if len(text) >= SHOUTING_MIN_LETTERS and text.isupper() and _is_common_word(token.stem):
        return False
    return index > 0 or token.stem in starters or sum(1 for ch in text if ch.isupper()) >= 2


@cache
def _not_names_in_headlines() -> frozenset[str]:
    return mostly_lower_case(HEADLINE_LOWER_PERCENT) | unknown_case()


def _is_model_code(text: str) -> bool:
    """``N7``, ``EX30``, ``bZ3``: letters then digits, short, with a capital; not ``Q3`` or ``FY2024``."""
    return (
        len(text) <= MAX_CODE_CHARS
        and _CODE.fullmatch(text) is not None
        and any(ch.isupper() for ch in text)
        and _PART_OF_YEAR.fullmatch(text) is None
    )


def _is_model_number(text: str, tokens: Sequence[Token], index: int) -> bool:
    """A short number naming a model (``Model 3``), not a figure (``9%``, ``2.0``, ``119,900``)."""
    token = tokens[index]
    if not token.text.isdigit() or len(token.text) > MAX_MODEL_NUMBER_DIGITS:
        return False
    after = text[token.end : token.end + 1]
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if after == "%" or (following is not None and following.stem in _PERCENT_WORDS):
        return False
    return not (
        following is not None
        and after in ".,"
        and following.start == token.end + 1
        and following.text[:1].isdigit()
    )


def _trim(run: list[Token]) -> list[Token]:
    while run and run[-1].stem in _CORPORATE_SUFFIXES:
        run = run[:-1]
    if len(run) == 1 and (len(run[0].text) == 1 or _is_common_word(run[0].stem)):
        return []
    return run


def _is_common_word(stem: str) -> bool:
    return stem in mostly_lower_case(COMMON_LOWER_PERCENT)


def _label(text: str, run: list[Token]) -> str:
    """The name as the item wrote it: ``U.S.`` keeps its last dot, a possessive is dropped."""
    label = text[run[0].start : run[-1].end]
    for suffix in _POSSESSIVE:
        label = label.removesuffix(suffix)
    initials = all(len(token.text) == 1 for token in run)
    return f"{label}." if initials and text[run[-1].end : run[-1].end + 1] == "." else label
