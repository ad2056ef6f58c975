"""Finding the numbers in a sentence, written as digits or as words, with a hint of what they are.

Rules (what ``find_numbers`` reads, left to right, never two numbers over the same characters):

- ``period``: part of a year: ``H2 2024``, ``Q3 2025`` (upper-case ``H``/``Q`` only), ``second half
  of 2024``, ``first quarter of 2025``. The value is the year plus the fraction of the year already
  past when the period starts (H2 2024 = 2024.5, Q2 2025 = 2025.25); ``period_years`` is its length.
- ``fraction``: ``a fifth``, ``one-fifth``, ``one third``, ``two-thirds``, ``a quarter``, ``three
  quarters`` and a lone ``half`` (not ``first half``/``second half``, ``latter``, ``back`` or
  ``other half``, not ``half-year`` nor any other ``half-`` word: ``half-empty``). Value in
  (0, 1]: ``two-thirds`` is 0.667.
- ``ratio``: ``one in three``, ``one out of every five``, ``one-in-ten`` (two to ten, not ``one in
  five hundred``), its value the fraction (1/3). Mostly of a whole market ("one in three cars sold
  in China is an NEV"), not of what a fact measures: facts read none (``facts._READ_NOTHING``);
  novelty weighs it as a share.
- ``percent``: ``20%``, ``20 %``, ``20 per cent``, ``20 percent``, ``20 pct``, ``twenty percent``;
  the value is as written (20.0), ``Number.fraction`` gives 0.2. ``points``: ``5 percentage
  points`` / ``5pp``, a difference of shares, never a share.
- ``year``: four digits from 1900 to 2099 with no separator, scale word or percent sign.
- ``label``: digits that name or rank something rather than count it, a short integer (at most
  three digits, no separator): right after a capitalised word that is not a stopword and not a
  possessive (``Model 3``, ``Atto 3``, ``Dec 19``, but not ``Nissan's 8 models``); right after
  ``#``, ``No.`` or a word that designates (``episode 16``, ``ep 16``, ``part 2``, ``season 3``,
  ``ranked 2``, ``top 10``, ``gen 2``, ``aged 16``); or a list marker (``1️⃣``, ``5. ``, ``5) ``
  or ``(5) `` with more of the sentence after it). Letters glued to digits (``X5``, ``ID.4``,
  ``e-208``, ``16in``, ``2nd``, ``16th``) are not numbers at all, nor are ordinal words
  (``second-largest``).
- ``plain``: everything else: ``794,000``, ``2.8``, ``eight``, ``twenty-five``, ``a dozen``.
  A scale word multiplies: ``2.8 million``, ``2.8m``, ``2.8 mln``, ``1.2bn``, ``3 billion``,
  ``a 2.8-million-vehicle year``, ``eight million``, ``a million``, ``16 lakh``, ``2 crore``
  (``scaled`` is then true). Word numbers go from zero
  to ninety-nine; ``one`` in ``one of`` is not a number. Digits of any script are read
  (Arabic-Indic eight is 8), with the Arabic decimal separator U+066B (Arabic-Indic 2, U+066B, 8
  is 2.8, not 2 and 8) and thousands separator U+066C.
- A currency sign or word (``$``, ``US$``, ``€``, ``£``, ``¥``, ``₹``, ``Rs``, ``RMB``, ``yuan``,
  ``dollars``, ``rupees``...) is noted in ``currency``; the value stays the amount.

What a number says in its sentence (``is_change``): a number that tells how much something moved
rather than where it stands, because a word of change comes right before it (``fell 16 percent``,
``up 24%``, ``rose by a fifth``, ``cut by two``, ``dropping two models``; ``about``, ``nearly``,
``some``... may come
between) or right after it (``a 16% increase``, ``16 percent lower``, ``two more models``,
``8% year-on-year``). ``fell to 16%``, ``down from 30%`` and ``made up 18%`` are levels, not
changes. Years and parts of years are never changes. In ``from X to Y`` (``about``,
``nearly``... may come before either, and at most two words of what X counts after it: ``from 10
models to seven``), X is a level left behind (``is_former``): ``cut from ten to eight``, ``moved
from 2024 to 2026``; the news is Y. So is the X of ``instead of X``,
``rather than X`` and ``in place of X`` (``seven models instead of ten``): a level given up.
So is the X of ``up from X`` or ``down from X`` (``12 models, up from ten``); when a year
follows it (``is_dated``: ``down from 30% in 2022``) it may be that period's level. A
number that is one end of a range or of a choice (``is_ranged``: ``8-10``, ``8 to 10``, ``eight or
ten``, ``between 8 and 12``) states no single level; ``from X to Y``, ``by X to Y`` and ``fell X%
to Y`` are movements, not ranges.

Cost: every look around a number (the word before it, a change word before it) reads at most
``LOOK_BEHIND_CHARS`` (40) characters before it, so a sentence of n numbers costs O(n), not O(n²).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import regex

from service.baselines.text import NUMBER_WORDS, STOPWORDS

NumberKind = Literal["plain", "percent", "points", "fraction", "ratio", "year", "period", "label"]

_TENS = [word for word, value in NUMBER_WORDS.items() if value >= 20]
_DENOMINATORS = {
    "half": 2, "halve": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
FRACTION_WORDS = tuple(_DENOMINATORS)
"""The words that make a fraction of a number word ("a tenth", "two-thirds"), singular."""
_SCALES = {
    "hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6,
    "billion": 1e9, "bn": 1e9, "bln": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "lakh": 1e5,
    "crore": 1e7,
}  # fmt: skip
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_CURRENCY_WORDS = r"yuan|renminbi|dollars?|euros?|yen|won|pounds?|rupees?|usd|rmb|cny|inr"

_YEAR = r"(?:19|20)\d{2}"
_YEAR_ONLY = re.compile(_YEAR)
_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_TENS_RE = "|".join(_TENS)
_DIGIT_WORD = "one|two|three|four|five|six|seven|eight|nine"
_NUMERATOR = f"a|an|{_DIGIT_WORD}"
_ORDINAL = "first|second|third|fourth|1st|2nd|3rd|4th"
_CURRENCY_SIGN = r"US\$|\$|€|£|¥|₹\s?|\bRs\.?\s?|\bINR\s?|\bRMB\s?|\bCNY\s?"
POINT = "[.\u066b]"
"""A decimal point: the Arabic decimal separator U+066B is one too (see the module rules)."""
SEPARATOR = "[,\u066c]"
"""A thousands separator, the Arabic U+066C included."""
_AS_FLOAT = str.maketrans({",": None, "\u066c": None, "\u066b": "."})
_DIGITS = (
    rf"\d{{1,3}}(?:{SEPARATOR}\d{{3}}){{1,4}}(?!{SEPARATOR}\d{{3}})(?:{POINT}\d+)?"
    rf"|\d{{1,15}}(?!{SEPARATOR}\d{{3}})(?:{POINT}\d+)?"
)
"""At most 15 digits before the point, grouped or not (a float holds them exactly): a longer run
(an order code, a hash) is no figure, neither whole (read whole it could reach infinity:
``float("9" * 309)``) nor in part."""
_ONE_IN = "|".join(word for word, value in NUMBER_WORDS.items() if 2 <= value <= 10)
"""The N of a ``ratio``, "one in N" ("one in three cars"): read as the fraction 1/N."""
_DENOMINATOR = r"half|halves|thirds?|quarters?|fourths?|fifths?|sixths?|sevenths?|eighths?|ninths?|tenths?"
_PERCENT = r"\s?%|\s?per\s?cent\b|\s?percent\b|\s?pct\b"
# No plurals: "in 2023 millions of drivers" is a year, then many drivers, not 2.023 billion.
_SCALE_WORDS = "hundred|thousand|million|billion|trillion|lakh|crore|mln|bln"
_SCALE_ABBREVIATIONS = "mn|bn|tn|m|b|k"
# A scale word may follow a space or a hyphen ("a 2.8-million-vehicle year"); an abbreviation is
# written against the digits ("2.8m").
SCALE_OR_PERCENT_AFTER = rf"(?i:[\s-]?(?:{_SCALE_WORDS})\b|(?:{_SCALE_ABBREVIATIONS})\b)?(?i:{_PERCENT})?"
"""What may follow digits and belongs to their value (``2.8 million``, ``1.2bn``, ``34%``), as a
pattern to append to one of digits: how another module finds the whole of a figure that
:func:`find_numbers` then reads."""
_PATTERN = re.compile(
    rf"""
    (?P<hq>(?-i:[HQ]))(?P<hqn>[1-4])\s*(?P<hqy>{_YEAR})\b
  | \b(?P<ord>{_ORDINAL})\s+(?P<part>half|quarter)\s+(?:of\s+)?(?P<py>{_YEAR})\b
  | \b(?P<fnum>{_NUMERATOR})[\s-]+(?P<fden>{_DENOMINATOR})\b(?![- ]year)
  | \bone[\s-]+(?:in|out[\s-]+of)[\s-]+(?:every[\s-]+)?(?P<oneinn>{_ONE_IN})\b(?![\s-]+(?:{_SCALE_WORDS}))
  | (?<!first\s)(?<!second\s)(?<!latter\s)(?<!back\s)(?<!other\s)\b(?P<half>half)\b(?!-|\s+year)
  | (?P<cur>{_CURRENCY_SIGN})?(?<![\w.,\u066b\u066c-])(?P<num>{_DIGITS})
    (?:[\s-]?(?P<scale>{_SCALE_WORDS})\b|(?P<abbr>{_SCALE_ABBREVIATIONS})\b)?
    (?:(?P<pct>{_PERCENT})|\s?(?P<pts>percentage\s+points?\b|pp\b))?(?![\w.\u066b]\d|\w)
  | \b(?P<word>(?:{_TENS_RE})(?:[\s-](?:{_DIGIT_WORD})\b)?|{_WORD}|a\s+dozen|dozen)\b
    (?:\s+(?P<wscale>hundred|thousand|million|billion)\b)?(?P<wpct>\s?per\s?cent\b|\s?percent\b)?
  | \ba\s+(?P<ascale>hundred|thousand|million|billion)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CURRENCY_AFTER = re.compile(rf"\s*(?:{_CURRENCY_WORDS})\b", re.IGNORECASE)
_ONE_OF = re.compile(r"one\s+(?:of|another|day|way)\b", re.IGNORECASE)
LOOK_BEHIND_CHARS = 40


@dataclass(frozen=True)
class Behind:
    """A pattern that must end where a number starts (it ends with ``$``), searched from the number
    backwards with the regex module's REVERSE flag: it is tried once, at the number, instead of at
    each of the characters before it as a forward search tries it, each time through every change
    word. Measured on the figures of the labelled corpus (1 252): 10-17 µs -> 2-4 µs a pattern,
    the same answers. Compiled on first use: compiling them all costs ~15 ms, which every command
    that merely imports this module would pay at start-up."""

    pattern: str
    ignore_case: bool = True

    @cached_property
    def _compiled(self) -> regex.Pattern[str]:
        import regex

        flags = regex.REVERSE | regex.VERSION0 | (regex.IGNORECASE if self.ignore_case else 0)
        return regex.compile(self.pattern, flags)

    def ends_at(self, sentence: str, end: int, reach: int = LOOK_BEHIND_CHARS) -> regex.Match[str] | None:
        """The match ending at ``end`` that starts at most ``reach`` characters before it."""
        return self._compiled.search(sentence, max(0, end - reach), end)


_CURRENCY_BEFORE = Behind(rf"(?:{_CURRENCY_SIGN})$")
_WORD_BEFORE = Behind(r"([A-Za-z][\w'’]*)\s$", ignore_case=False)
_POSSESSIVE = re.compile(r"['’]s?$", re.IGNORECASE)
_DESIGNATOR_BEFORE = Behind(
    r"(?:\#|\bno\.|\b(?:no|nos|episode|ep|part|chapter|season|issue|vol|volume|number|rank|ranked|ranks|"
    r"ranking|top|gen|generation|phase|stage|level|version|model|type|series|class|grade|page|round|"
    r"step|age|aged)\.?)\s?$"
)
_LIST_MARKER_AFTER = re.compile(r"\ufe0f?\u20e3|[.)]\s+\S")
_CHANGE_WORDS = (
    r"(?<!made\s)(?<!make\s)(?<!makes\s)(?<!making\s)up|"  # "made up 18%" is a level
    r"down|fell|falls?|falling|rose|rises?|rising|grew|grows?|growing|jumped|jumps?|surged?|surges|"
    r"soared|soars?|climbed|climbs?|gained|gains?|lost|loses|dropped|drops?|declined|declines?|slumped|"
    r"slumps?|slid|slides?|slipped|slips?|plunged|plunges?|plummeted|tumbled|tumbles?|sank|sinks?|"
    r"increased|increases?|decreased|decreases?|cut|cuts|slashed|reduced|raised|lifted|boosted|trimmed|"
    r"shrank|shrunk|shrinks?|contracted|expanded|advanced|improved|widened|narrowed|eased|spiked|added|"
    r"adds|shed|by|"
    # -ing forms and verbs of removal: "dropping two models", "cutting 2,000 jobs", "scrapped two"
    r"dropping|cutting|slashing|reducing|raising|lifting|boosting|trimming|shrinking|adding|shedding|"
    r"lowered|lowers?|lowering|removed|removes?|removing|scrapped|scrapping|axed|axing|axes|"
    r"cancell?ed|cancels?|cancell?ing|shelved|shelves|shelving|ditched|ditching"
)
_CHANGE_BEFORE = Behind(
    rf"\b(?:{_CHANGE_WORDS})\s+(?:(?:about|around|roughly|nearly|almost|some|over|just|only|another|"
    r"a\s+further|more\s+than|less\s+than)\s+)?$"
)
_ROUGHLY = r"(?:(?:about|around|roughly|nearly|almost|some|over|just|only|more\s+than|less\s+than)\s+)?"
_FORMER_BEFORE = Behind(rf"\bfrom\s+{_ROUGHLY}$")
_REPLACED_BEFORE = Behind(rf"\b(?:instead\s+of|rather\s+than|in\s+place\s+of)\s+(?:the\s+)?{_ROUGHLY}$")
_UP_OR_DOWN_FROM = Behind(rf"\b(?:up|down)\s+from\s+{_ROUGHLY}$")
_DATED_AFTER = re.compile(rf"[^.;:!?]{{0,30}}?\b{_YEAR}\b")
_LEVEL_START = rf"{_ROUGHLY}(?:{_CURRENCY_SIGN})?(?:\d|(?:{_WORD})\b)"
# A range or a choice: "8-10" (a hyphen or an en dash, no spaces: a spaced dash is a clause
# break), "8 to 10", "8 or 10", "between 8 and 12".
_ALTERNATIVE = r"(?:[-–]|\s+(?:to|or)\s+)"
_RANGE_AFTER = re.compile(rf"{_ALTERNATIVE}{_LEVEL_START}", re.IGNORECASE)
_RANGE_BEFORE = Behind(
    rf"(?:(?:\d|\b(?:{_WORD}))[\w.,%]*{_ALTERNATIVE}{_ROUGHLY}|\bbetween\s+{_ROUGHLY}(?:\S+\s+and\s+{_ROUGHLY})?)$"
)
# "from X to Y", "cut by two to eight", "fell 20% to 2.2 million": X is where it was or how much it
# moved, Y where it is; neither is a range.
_MOVEMENT_START = Behind(rf"\b(?:from|{_CHANGE_WORDS})\s+{_ROUGHLY}$")
_MOVEMENT_BEFORE = Behind(
    rf"\b(?:from|{_CHANGE_WORDS})\s+{_ROUGHLY}\S+(?:\s+(?:percent|per\s+cent|pct))?\s+to\s+{_ROUGHLY}$"
)
# "to Y" after the X of "from X to Y", with at most two words of what X counts between ("from 10
# models to seven")
_TO_LEVEL_AFTER = re.compile(rf"(?:\s+[^\W\d_]+){{0,2}}?\s+to\s+{_LEVEL_START}", re.IGNORECASE)
_CHANGE_AFTER = re.compile(
    r"[\s-]*(?:increases?|decreases?|rises?|falls?|drops?|declines?|growth|gains?|jumps?|cuts?|reductions?|"
    r"hikes?|surges?|plunges?|slumps?|higher|lower|more|less|fewer|up|down|year[\s-]on[\s-]year|yoy|y/y|"
    r"on[\s-]year|from\s+a\s+year)\b",
    re.IGNORECASE,
)
_NEXT_WORD = re.compile(r"[\s-]*([^\W\d_]+)")


@dataclass(frozen=True, slots=True)
class Number:
    """A number found in a sentence; ``start``/``end`` are character offsets of ``raw``."""

    value: float
    kind: NumberKind
    start: int
    end: int
    raw: str
    scaled: bool = False
    currency: str | None = None
    period_years: float = 0.0

    @property
    def fraction(self) -> float | None:
        """The value as a share of one, for percentages and fractions; None otherwise."""
        if self.kind == "percent":
            return self.value / 100
        if self.kind in ("fraction", "ratio"):
            return self.value
        return None

    @property
    def reading(self) -> float:
        """The value a figure is compared by: the share of one for percentages and fractions."""
        fraction = self.fraction
        return fraction if fraction is not None else self.value


def find_numbers(sentence: str) -> list[Number]:
    """Every number in ``sentence``, in order (see the module docstring for what counts)."""
    found = []
    for match in _PATTERN.finditer(sentence):
        number = _read(match, sentence)
        if number is not None:
            found.append(number)
    return found


def number_at(text: str, start: int, end: int) -> Number | None:
    """The number written at ``text[start:end]``, read as :func:`find_numbers` reads it, or None;
    a currency sign right before ``start`` is part of it (``$2000`` is money, not a year, and
    "by $2,000" a change), and what comes before and after is context (a change word)."""
    sign = _CURRENCY_BEFORE.ends_at(text, start, reach=5)
    if sign is not None:
        start = sign.start()
    match = _PATTERN.match(text, start, end)
    return _read(match, text) if match is not None else None


def is_change(sentence: str, number: Number) -> bool:
    """Whether ``number`` says how much something moved, not where it stands (see module rules)."""
    if number.kind in ("year", "period"):
        return False
    return bool(_CHANGE_BEFORE.ends_at(sentence, number.start) or _CHANGE_AFTER.match(sentence, number.end))


def is_former(sentence: str, number: Number) -> bool:
    """Whether ``number`` is the X of ``from X to Y``, ``instead of X``, ``up from X`` or ``down
    from X``: a level left behind or given up (see module rules)."""
    return is_moved_from(sentence, number) or is_left_behind(sentence, number)


def is_left_behind(sentence: str, number: Number) -> bool:
    """Whether ``number`` is the X of ``from X to Y`` or ``instead of X`` (``is_former`` without
    ``up from X``, for a reader that asks ``is_moved_from`` on its own)."""
    return _REPLACED_BEFORE.ends_at(sentence, number.start) is not None or is_from_to(sentence, number)


def is_from_to(sentence: str, number: Number) -> bool:
    """Whether ``number`` is the X of ``from X to Y`` ("cut from four to three", "from 10 models
    to seven"); the next number of the sentence is then its Y."""
    return (
        _FORMER_BEFORE.ends_at(sentence, number.start) is not None
        and _TO_LEVEL_AFTER.match(sentence, number.end) is not None
    )


def is_moved_from(sentence: str, number: Number) -> bool:
    """Whether ``number`` is the X of ``up from X`` or ``down from X``."""
    return _UP_OR_DOWN_FROM.ends_at(sentence, number.start) is not None


def is_dated(sentence: str, number: Number) -> bool:
    """Whether a year follows ``number`` within its clause ("30% in the same period of 2022")."""
    return _DATED_AFTER.match(sentence, number.end) is not None


def is_ranged(sentence: str, number: Number) -> bool:
    """Whether ``number`` is one end of a range or a choice (see module rules)."""
    start = number.start
    if _MOVEMENT_START.ends_at(sentence, start) or _MOVEMENT_BEFORE.ends_at(sentence, start):
        return False  # the X or the Y of "from X to Y", "by X to Y", "fell X to Y"
    return (
        _RANGE_AFTER.match(sentence, number.end) is not None
        or _RANGE_BEFORE.ends_at(sentence, start) is not None
    )


def following_word(sentence: str, number: Number) -> str:
    """The word right after a number, lower-cased (``"10 months"`` -> ``"months"``), or ``""``."""
    match = _NEXT_WORD.match(sentence, number.end)
    return match.group(1).lower() if match else ""


def format_amount(value: float) -> str:
    """``2800000`` -> ``2.8 million``; ``794000`` -> ``794,000``; ``0.5`` -> ``0.5``."""
    for scale, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        scaled = value / scale
        if abs(value) >= scale and math.isclose(scaled, round(scaled, 2), abs_tol=1e-9):
            return f"{round(scaled, 2):g} {name}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.4g}"


def format_percent(fraction: float) -> str:
    """``0.2`` -> ``20%``; ``1/3`` -> ``33.3%``."""
    return f"{round(fraction * 100, 1):g}%"


def _read(match: re.Match[str], sentence: str) -> Number | None:
    groups = match.groupdict()
    raw, start, end = match.group().strip(), match.start(), match.end()
    start += len(match.group()) - len(match.group().lstrip())
    if groups["hq"]:
        width = 0.5 if groups["hq"] == "H" else 0.25
        return _period(int(groups["hqy"]), int(groups["hqn"]), width, raw, start, end)
    if groups["ord"]:
        width = 0.5 if groups["part"].lower() == "half" else 0.25
        return _period(int(groups["py"]), _ORDINALS[groups["ord"].lower()], width, raw, start, end)
    if groups["fden"]:
        return _fraction(groups["fnum"], groups["fden"], raw, start, end)
    if groups["oneinn"]:
        return Number(1 / NUMBER_WORDS[groups["oneinn"].lower()], "ratio", start, end, raw)
    if groups["half"]:
        return Number(0.5, "fraction", start, end, raw)
    if groups["num"]:
        return _digits(groups, sentence, raw, start, end)
    if groups["ascale"]:
        return Number(_SCALES[groups["ascale"].lower()], "plain", start, end, raw, scaled=True)
    return _words(match, raw, start, end)


def is_year(text: str) -> bool:
    """Whether ``text`` is written as a year is: four digits from 1900 to 2099."""
    return _YEAR_ONLY.fullmatch(text) is not None


def _period(year: int, ordinal: int, width: float, raw: str, start: int, end: int) -> Number | None:
    if ordinal > round(1 / width):
        return None
    return Number(year + (ordinal - 1) * width, "period", start, end, raw, period_years=width)


def _fraction(numerator: str, denominator: str, raw: str, start: int, end: int) -> Number:
    top = 1 if numerator.lower() in ("a", "an") else NUMBER_WORDS[numerator.lower()]
    bottom = _DENOMINATORS[denominator.lower().rstrip("s")]
    return Number(min(top / bottom, 1.0), "fraction", start, end, raw)


def _digits(groups: dict[str, str | None], sentence: str, raw: str, start: int, end: int) -> Number:
    digits = groups["num"] or ""
    scale_word = (groups["scale"] or groups["abbr"] or "").lower()
    value = float(digits.translate(_AS_FLOAT)) * _SCALES.get(scale_word, 1.0)
    currency = (groups["cur"] or "").strip() or _currency_after(sentence, end)
    if groups["pct"]:
        return Number(value, "percent", start, end, raw, currency=currency)
    if groups["pts"]:
        return Number(value, "points", start, end, raw)
    bare = not scale_word and not currency and digits.isdecimal()
    if bare and is_year(digits):
        return Number(value, "year", start, end, raw, period_years=1.0)
    if bare and len(digits) <= 3 and _names_or_ranks(sentence, start, end):
        return Number(value, "label", start, end, raw)
    return Number(value, "plain", start, end, raw, scaled=bool(scale_word), currency=currency)


def _words(match: re.Match[str], raw: str, start: int, end: int) -> Number | None:
    groups = match.groupdict()
    if _ONE_OF.match(match.string, match.start("word")):
        return None
    parts = re.split(r"[\s-]+", groups["word"].lower())
    value = 12.0 if parts[-1] == "dozen" else float(sum(NUMBER_WORDS[part] for part in parts))
    if groups["wscale"]:
        value *= _SCALES[groups["wscale"].lower()]
    if groups["wpct"]:
        return Number(value, "percent", start, end, raw)
    return Number(value, "plain", start, end, raw, scaled=bool(groups["wscale"]))


def _currency_after(sentence: str, end: int) -> str | None:
    match = _CURRENCY_AFTER.match(sentence, end)
    return match.group().strip().lower() if match else None


def _names_or_ranks(sentence: str, start: int, end: int) -> bool:
    """Whether the digits at ``start:end`` follow a name or a designating word, or mark a list item."""
    if _DESIGNATOR_BEFORE.ends_at(sentence, start, reach=20) or _after_name(sentence, start):
        return True
    at_item_start = start == 0 or sentence[start - 1].isspace() or sentence[start - 1] == "("
    return at_item_start and _LIST_MARKER_AFTER.match(sentence, end) is not None


def _after_name(sentence: str, start: int) -> bool:
    match = _WORD_BEFORE.ends_at(sentence, start)
    if match is None:
        return False
    word = match.group(1)
    return word[0].isupper() and word.lower() not in STOPWORDS and not _POSSESSIVE.search(word)
