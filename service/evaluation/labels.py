"""Labels files: real feed items judged by the team, theme by theme.

The format (one JSON array; see the README's "Measuring rules" section) names each item by its
feed document (``feed_file``, relative to the feeds directory) and its id or link
(``guid_or_link``; items without either are found by ``title``). Every theme of an entry is in
exactly one of ``must``, ``never`` and ``unsure``; ``unsure`` counts neither way.

A file that breaks the format is refused whole, with every problem listed by entry number:
scoring half a file would give figures nobody could compare.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from service.errors import RivalwatchError

Judgement = Literal["must", "never", "unsure"]
JUDGEMENTS: tuple[Judgement, ...] = ("must", "never", "unsure")


class LabelsError(RivalwatchError):
    """A labels file that cannot be read or breaks the format."""


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled item: where to find it and what the team says it belongs to."""

    feed_file: str
    guid_or_link: str | None
    link: str | None
    title: str
    must: frozenset[str]
    never: frozenset[str]
    unsure: frozenset[str]
    reason: str = ""

    def judgement(self, theme: str) -> Judgement | None:
        if theme in self.must:
            return "must"
        if theme in self.never:
            return "never"
        return "unsure" if theme in self.unsure else None

    @property
    def themes(self) -> frozenset[str]:
        return self.must | self.never | self.unsure


def load_labels(path: Path) -> list[Label]:
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise LabelsError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise LabelsError(f"{path}: not JSON: {exc}") from None
    return parse_labels(document, source=str(path))


def parse_labels(document: Any, *, source: str) -> list[Label]:
    if not isinstance(document, list):
        raise LabelsError(f"{source}: expected a JSON array of labelled items")
    labels, problems = [], []
    for number, entry in enumerate(document, start=1):
        try:
            labels.append(_label(entry))
        except ValueError as exc:
            problems.append(f"{source}: entry {number}: {exc}")
    if problems:
        raise LabelsError("\n".join(problems))
    return labels


def _label(entry: Any) -> Label:
    if not isinstance(entry, Mapping):
        raise ValueError("expected an object")
    feed_file = _text(entry, "feed_file", required=True)
    if Path(feed_file).is_absolute() or ".." in Path(feed_file).parts:
        raise ValueError(f"feed_file must be a path inside the feeds directory, not {feed_file!r}")
    guid_or_link = _text(entry, "guid_or_link")
    title = _text(entry, "title")
    if not guid_or_link and not title:
        raise ValueError("needs guid_or_link or title to find the item")
    sets = {name: _themes(entry, name) for name in JUDGEMENTS}
    for a, b in itertools.combinations(JUDGEMENTS, 2):
        both = sets[a] & sets[b]
        if both:
            raise ValueError(f"{', '.join(sorted(both))} both in {a} and {b}")
    return Label(
        feed_file=feed_file,
        guid_or_link=guid_or_link or None,
        link=_text(entry, "link") or None,
        title=title,
        must=sets["must"],
        never=sets["never"],
        unsure=sets["unsure"],
        reason=_text(entry, "reason"),
    )


def _text(entry: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{key} must be a non-empty string" if required else f"{key} must be a string")
    return value


def _themes(entry: Mapping[str, Any], key: str) -> frozenset[str]:
    value = entry.get(key, [])
    listed = isinstance(value, Sequence) and not isinstance(value, str)
    if not listed or not all(isinstance(t, str) for t in value):
        raise ValueError(f"{key} must be a list of theme names")
    return frozenset(value)
