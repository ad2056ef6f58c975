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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, TypeAlias

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“'‘(]?[A-Z0-9])|\s*\n\s*")


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


def tokenize(text: str) -> list[Token]:
    """Every word of ``text`` in order, with its stem and character span."""
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        root, content = _analyse(word)
        tokens.append(Token(word, root, match.start(), match.end(), content))
    return tokens


def stems_of(phrase: str) -> tuple[str, ...]:
    """The stem sequence of a phrase, as it is looked for in tokenised text."""
    return tuple(token.stem for token in tokenize(phrase))


def find_phrase(
    tokens: list[Token], phrase: tuple[str, ...], *, starts_of: Mapping[str, list[int]] | None = None
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


def stem_positions(tokens: list[Token]) -> dict[str, list[int]]:
    """Stem → the indexes of ``tokens`` with that stem, in order."""
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        positions.setdefault(token.stem, []).append(index)
    return positions


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped (see module rules)."""
    sentences: list[str] = []
    pending = ""
    position = 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[position : match.start()]
        position = match.end()
        pending = f"{pending} {piece}" if pending else piece
        if "\n" not in match.group() and _ends_with_abbreviation(pending):
            continue
        if pending.strip():
            sentences.append(" ".join(pending.split()))
        pending = ""
    rest = f"{pending} {text[position:]}" if pending else text[position:]
    if rest.strip():
        sentences.append(" ".join(rest.split()))
    return sentences


def _ends_with_abbreviation(piece: str) -> bool:
    words = piece.rstrip().rsplit(None, 1)
    if not words or not piece.rstrip().endswith("."):
        return False
    last = words[-1].rstrip(".").lower().lstrip("(\"'“")
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


@dataclass(frozen=True, slots=True)
class Name:
    """A salient name in an item: how it was first written, its stems, and how much it counts."""

    text: str
    stems: tuple[str, ...]
    weight: float
    first: int


WeightedTokens: TypeAlias = tuple[int, list[Token], float]
_CORPORATE_SUFFIXES = word_set("co corp corporation inc ltd llc plc ag sa se nv")
_CALENDAR = word_set(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july"
    " august september october november december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_NOT_NAMES = STOPWORDS | _CALENDAR | word_set("among per mr mrs ms dr")


def salient_names(title: str, text: str) -> list[Name]:
    """Names in an item: runs of capitalised words (``Tsinghua University``, ``Middle East``),
    acronyms (``BYD``, ``NEVs``) and models (``Model 3``, ``Model Y``), ranked by weight.

    A word that starts a sentence (or the title) counts only when the item never writes it in
    lower case and capitalises it at least twice, or when it is an acronym (``BYD``); in a title
    written in Title Case a word counts only when the body also capitalises it. Corporate
    suffixes (``Co``, ``Ltd``) are dropped. Weight: one per mention, two per mention in the title.
    """
    return names_in(weighted_sentences(title, text))


def names_in(sentences: list[WeightedTokens]) -> list[Name]:
    """``salient_names`` over an item already split by ``weighted_sentences``."""
    body = [token for _, tokens, weight in sentences if weight == 1.0 for token in tokens]
    lower_words = {token.stem for token in body if token.text.islower()}
    capitals = Counter(t.stem for _, tokens, _ in sentences for t in tokens if t.text[:1].isupper())
    starters = {stem for stem, count in capitals.items() if count >= 2 and stem not in lower_words}
    title = next((tokens for offset, tokens, _ in sentences if offset < 0), [])
    title_case = bool(body) and _is_title_case(title)
    title_filter = {t.stem for t in body if t.text[:1].isupper()} if title_case else None
    found: dict[tuple[str, ...], Name] = {}
    for offset, tokens, weight in sentences:
        allowed = title_filter if weight > 1 else None
        for run in _capitalised_runs(tokens, starters, allowed):
            key = tuple(token.stem for token in run)
            label = " ".join(token.text.removesuffix("'s").removesuffix("’s") for token in run)
            held = found.get(key)
            if held is None:
                found[key] = Name(label, key, weight, offset + run[0].start)
            else:
                found[key] = Name(held.text, key, held.weight + weight, held.first)
    return sorted(found.values(), key=lambda name: (-name.weight, name.first))


def weighted_sentences(title: str, text: str) -> list[WeightedTokens]:
    """(offset, tokens, weight) of the title (offset -1, weight 2) and of each body sentence."""
    items: list[WeightedTokens] = [(-1, tokenize(title), 2.0)] if title.strip() else []
    position = 0
    for sentence in split_sentences(text):
        items.append((position, tokenize(sentence), 1.0))
        position += len(sentence) + 1
    return items


def _is_title_case(title: list[Token]) -> bool:
    words = [token for token in title if token.stem not in STOPWORDS and token.text.isalpha()]
    capitals = sum(1 for token in words if token.text[0].isupper())
    return len(words) >= 3 and capitals >= 0.6 * len(words)


def _capitalised_runs(tokens: list[Token], starters: set[str], allowed: set[str] | None) -> list[list[Token]]:
    runs: list[list[Token]] = []
    run: list[Token] = []
    for index, token in enumerate(tokens):
        joined = bool(run) and token.start - run[-1].end == 1
        if _is_name_word(token, index, starters, allowed) or (joined and _is_model_number(token)):
            if run and not joined:
                runs.append(run)
                run = []
            run.append(token)
        elif run:
            runs.append(run)
            run = []
    runs.append(run)
    return [trimmed for trimmed in map(_trim, runs) if trimmed]


def _is_name_word(token: Token, index: int, starters: set[str], allowed: set[str] | None) -> bool:
    if not token.text[:1].isupper() or token.stem in _NOT_NAMES or not token.text.replace("'", "").isalpha():
        return False
    if allowed is not None and token.stem not in allowed:
        return False
    return index > 0 or token.stem in starters or sum(1 for ch in token.text if ch.isupper()) >= 2


def _is_model_number(token: Token) -> bool:
    return token.text.isdigit() and len(token.text) <= 3


def _trim(run: list[Token]) -> list[Token]:
    while run and run[-1].stem in _CORPORATE_SUFFIXES:
        run = run[:-1]
    if len(run) == 1 and len(run[0].text) == 1:
        return []
    return run
