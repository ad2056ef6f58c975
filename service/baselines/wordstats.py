"""How words behave in general news: how rare a word is, and how often news writes it in lower
case. Novelty weighs names by rarity (``China`` tells less than ``N7``); name-finding uses the
lower-case share to tell a name from a common word capitalised for a headline.

Rules:

- The statistics are a table (``wordstats_table``) of every stem (``text.stem``) found in at
  least ``MIN_DOCUMENTS`` news items of a corpus: in how many items it occurs, and the
  percentage of its uses inside a body sentence (never a sentence's first word, never a
  title) written in lower case, unknown when it has no such use (it is only ever a sentence's
  first word or in a title, where every word is capitalised). The table is data, built once by
  ``wordstats_build`` and shipped; nothing changes it while the service runs, so everything
  computed from it is a pure function of its inputs.
- The shipped table is counted from the shared feed corpus (general news, car and EV news and
  other publishers' feeds; the exact command is in ``wordstats_build``) and holds per-stem counts
  only, no text. A team can rebuild it from its own feeds with the same builder.
- ``rarity(stem)`` in (0, 1]: the inverse document frequency ``log((N + 1) / (df + 1))``
  divided by that of a word in ``MIN_DOCUMENTS - 1`` items, at most 1. A word missing from the
  table is as rare as can be (1.0): names, model codes, uncommon words. ``new`` is 0.33,
  ``china`` 0.42, ``nissan`` 0.91.
- ``lower_case_percent(stem)``: how often news writes the word in lower case (``fell`` 97,
  ``model`` 74, ``news`` 30, ``china`` 1), None for a word missing from the table or whose share
  is unknown; ``mostly_lower_case(percent)`` the set of words at or above a percentage (never
  one whose share is unknown); ``unknown_case()`` the words of the table whose share is unknown
  (``additionally``, ``permalink``): common, but only ever seen where every word is capitalised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

MIN_DOCUMENTS = 10


@dataclass(frozen=True, slots=True)
class WordStats:
    """The table, parsed: items counted; stem → (items with it, percent written in lower case or
    None when unknown); stem → rarity."""

    documents: int
    words: Mapping[str, tuple[int, int | None]]
    rarities: Mapping[str, float]


def rarity(stem: str) -> float:
    """How rare ``stem`` is in general news, in (0, 1] (see the module rules)."""
    return shipped_stats().rarities.get(stem, 1.0)


def rarity_table() -> Mapping[str, float]:
    """Stem → rarity for the stems in the table (any other stem's rarity is 1.0): for hot loops."""
    return shipped_stats().rarities


def lower_case_percent(stem: str) -> int | None:
    """How often news writes ``stem`` in lower case, in percent; None when it is not in the table
    or its share is unknown."""
    entry = shipped_stats().words.get(stem)
    return None if entry is None else entry[1]


@cache
def mostly_lower_case(percent: int) -> frozenset[str]:
    """The stems news writes in lower case at least ``percent`` percent of the time."""
    return frozenset(
        stem for stem, (_, lower) in shipped_stats().words.items() if lower is not None and lower >= percent
    )


@cache
def unknown_case() -> frozenset[str]:
    """The stems of the table whose lower-case share is unknown (see the module rules)."""
    return frozenset(stem for stem, (_, lower) in shipped_stats().words.items() if lower is None)


@cache
def shipped_stats() -> WordStats:
    """The shipped table, parsed once."""
    from service.baselines.wordstats_table import DOCUMENTS, TABLE

    return parse_table(DOCUMENTS, TABLE)


def parse_table(documents: int, table: str) -> WordStats:
    """``stem:df:lower_percent`` entries separated by white space; ``stem:df`` when the share is
    unknown."""
    words: dict[str, tuple[int, int | None]] = {}
    for entry in table.split():
        stem, df, *lower = entry.split(":")
        words[stem] = (int(df), int(lower[0]) if lower else None)
    ceiling = math.log((documents + 1) / MIN_DOCUMENTS)
    rarities = {
        stem: min(1.0, math.log((documents + 1) / (df + 1)) / ceiling) for stem, (df, _) in words.items()
    }
    return WordStats(documents, words, rarities)
