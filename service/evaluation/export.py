"""The team's feedback as a labels set: ``labels.json`` in the format of the shared labels, and
beside it one RSS document per feed holding the judged items, so that
``rivalwatch rules eval --labels DIR/labels.json --feeds DIR/feeds`` scores the rules against
the team's own judgements.

Each judged item is one entry: its themes judged ``useful`` or ``missed`` are ``must``, those
judged ``noise`` are ``never``, and every other theme anyone judged is ``unsure`` (nobody
said). The item is found again by its guid, else its link, else its title, as in any labels
file; its text is the text rivalwatch stored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service.slugs import slug
from service.sources.write_rss import RssEntry, rss_document
from service.store.feedback import JudgedItem

FEEDS_DIR = "feeds"
LABELS_FILE = "labels.json"
_LABEL_OF = {"useful": "must", "missed": "must", "noise": "never"}


@dataclass(frozen=True, slots=True)
class Exported:
    labels: Path
    feeds: Path
    items: int
    themes: tuple[str, ...]


def export_labels(judged: Sequence[JudgedItem], out: Path) -> Exported:
    """Write ``out/labels.json`` and ``out/feeds/*.xml``; ``out`` must be new or empty."""
    themes = tuple(sorted({said.theme for item in judged for said in item.judgements}))
    feeds_dir = out / FEEDS_DIR
    feeds_dir.mkdir(parents=True, exist_ok=True)
    by_feed: dict[str, list[JudgedItem]] = defaultdict(list)
    for item in judged:
        by_feed[item.feed].append(item)
    entries = []
    taken: set[str] = set()
    for feed, its_items in sorted(by_feed.items()):
        file_name = feed_file_name(feed, taken)
        taken.add(file_name)
        document = rss_document(
            title=feed,
            link="http://localhost/",
            entries=[RssEntry(i.title, i.text, i.guid, i.url, i.published_at) for i in its_items],
        )
        (feeds_dir / file_name).write_bytes(document)
        entries += [_entry(item, file_name, themes) for item in its_items]
    labels = out / LABELS_FILE
    labels.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Exported(labels, feeds_dir, len(entries), themes)


def feed_file_name(feed: str, taken: set[str]) -> str:
    """A file name for a feed's document: its name in lower case, words joined by ``-``, and a
    number when another feed's name gives the same."""
    stem = slug(feed, default="feed")
    name, n = f"{stem}.xml", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.xml"
    return name


def _entry(item: JudgedItem, file_name: str, themes: Sequence[str]) -> dict[str, object]:
    said = {s.theme: _LABEL_OF[s.verdict] for s in item.judgements}
    reasons = "; ".join(f"{s.theme}: {s.verdict} ({s.who}, {s.created_at:%Y-%m-%d})" for s in item.judgements)
    return {
        "feed_file": file_name,
        "guid_or_link": item.guid or item.url,
        "link": item.url,
        "title": item.title,
        "must": [t for t in themes if said.get(t) == "must"],
        "never": [t for t in themes if said.get(t) == "never"],
        "unsure": [t for t in themes if t not in said],
        "reason": f"console feedback: {reasons}",
    }
