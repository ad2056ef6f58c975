"""The bytes every suite reads: the real corpus beside the checkout, and a seeded synthetic one.

- ``load_real_corpus()`` reads every file of ``../shared/feeds/real`` (relative to the project
  root) into memory once; when the folder is missing it raises :class:`CorpusMissingError`,
  which ``python -m bench`` turns into a clear message and exit status 2.
- ``synthetic_corpus(feeds=N, items=M, seed=S)`` builds N RSS 2.0 / Atom 1.0 documents of M
  items each. The same arguments always give the same bytes. About ``malformed_share`` of the
  documents are broken the ways real feeds break (an unescaped ``&``, a cut-off document, an
  undeclared entity, a stray Latin-1 byte in a UTF-8 document), so the tolerant path is
  exercised in proportion.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "feeds" / "real"

Kind = Literal["rss", "atom"]
Defect = Literal["none", "bare-ampersand", "truncated", "undeclared-entity", "latin1-byte"]
DEFECTS: tuple[Defect, ...] = ("bare-ampersand", "truncated", "undeclared-entity", "latin1-byte")


class CorpusMissingError(RuntimeError):
    """The shared feed corpus is not beside the checkout."""


@dataclass(frozen=True, slots=True)
class FeedDocument:
    name: str
    body: bytes
    defect: Defect = "none"

    @property
    def malformed(self) -> bool:
        return self.defect != "none"


def load_real_corpus(directory: Path = REAL_CORPUS_DIR) -> list[FeedDocument]:
    """Every file of the real corpus, sorted by name, read once."""
    if not directory.is_dir():
        raise CorpusMissingError(
            f"the feed corpus is missing: expected {directory} "
            "(check out the shared folder beside the project: ../shared/feeds/real)"
        )
    docs = [FeedDocument(p.name, p.read_bytes()) for p in sorted(directory.iterdir()) if p.is_file()]
    if not docs:
        raise CorpusMissingError(f"the feed corpus folder {directory} holds no files")
    return docs


# --- synthetic corpus -------------------------------------------------------------------------

_WORDS = (
    "battery",
    "electric",
    "vehicle",
    "plant",
    "recall",
    "launch",
    "price",
    "cut",
    "earnings",
    "quarter",
    "supplier",
    "chip",
    "factory",
    "Tesla",
    "BYD",
    "Nissan",
    "Toyota",
    "Volkswagen",
    "charging",
    "network",
    "solid-state",
    "lithium",
    "market",
    "share",
    "China",
    "Europe",
    "tariff",
    "subsidy",
    "autonomous",
    "software",
    "update",
    "partnership",
    "merger",
    "layoffs",
    "guidance",
    "forecast",
    "delivery",
    "record",
    "sedan",
    "SUV",
    "hybrid",
    "platform",
    "investment",
    "regulator",
    "probe",
    "safety",
    "range",
    "warranty",
    "dealer",
    "export",
    "import",
    "union",
    "strike",
    "profit",
    "loss",
    "revenue",
    "growth",
)
_EPOCH = datetime(2024, 6, 1, tzinfo=UTC)


def synthetic_corpus(
    *, feeds: int, items: int, seed: int = 1234, malformed_share: float = 0.04
) -> list[FeedDocument]:
    """``feeds`` documents of ``items`` entries each; deterministic for the same arguments."""
    rng = random.Random(seed)
    malformed = round(feeds * malformed_share)
    broken_at = sorted(rng.sample(range(feeds), malformed)) if feeds and malformed else []
    defect_of = {index: DEFECTS[n % len(DEFECTS)] for n, index in enumerate(broken_at)}
    docs = []
    for index in range(feeds):
        kind: Kind = "atom" if index % 4 == 3 else "rss"
        name = f"synthetic-{seed}-{index:05d}.{kind}"
        body = _atom(rng, index, items) if kind == "atom" else _rss(rng, index, items)
        defect = defect_of.get(index, "none")
        if defect != "none":
            body = _break(body, defect, rng)
        docs.append(FeedDocument(name, body, defect))
    return docs


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


def _rss(rng: random.Random, feed: int, items: int) -> bytes:
    host = f"news{feed}.example.com"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>\n'
        f"<title>Synthetic feed {feed}</title>\n<link>https://{host}/</link>\n"
        f"<description>{escape(_sentence(rng, 4, 8))}</description>\n<ttl>30</ttl>\n"
    ]
    for n in range(items):
        when = _EPOCH - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        body = "".join(f"<p>{escape(_sentence(rng, 12, 40))}.</p>" for _ in range(rng.randint(1, 4)))
        parts.append(
            "<item>\n"
            f"<title>{escape(_sentence(rng, 5, 12).capitalize())}</title>\n"
            f"<link>https://{host}/{n}?utm_source=rss&amp;id={n}</link>\n"
            f'<guid isPermaLink="false">{host}-{n}</guid>\n'
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>\n"
            f"<description>{escape(body)}</description>\n"
            "</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


def _atom(rng: random.Random, feed: int, items: int) -> bytes:
    host = f"blog{feed}.example.org"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>Synthetic Atom feed {feed}</title>\n<id>urn:synthetic:{feed}</id>\n"
        f'<link rel="alternate" href="https://{host}/"/>\n<updated>{_EPOCH.isoformat()}</updated>\n'
    ]
    for n in range(items):
        when = (_EPOCH - timedelta(minutes=rng.randint(0, 60 * 24 * 30))).isoformat()
        body = "".join(f"<p>{escape(_sentence(rng, 12, 40))}.</p>" for _ in range(rng.randint(1, 4)))
        parts.append(
            "<entry>\n"
            f'<title type="text">{escape(_sentence(rng, 5, 12).capitalize())}</title>\n'
            f'<link rel="alternate" href="https://{host}/posts/{n}"/>\n'
            f"<id>tag:{host},2024:{n}</id>\n<published>{when}</published>\n<updated>{when}</updated>\n"
            f'<content type="html">{escape(body)}</content>\n'
            "</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _break(body: bytes, defect: Defect, rng: random.Random) -> bytes:
    if defect == "bare-ampersand":
        return body.replace(b"</title>\n", b" R&D </title>\n", 3)
    if defect == "truncated":
        cut = rng.randint(len(body) * 2 // 3, len(body) - 20)
        return body[:cut]
    if defect == "undeclared-entity":
        return body.replace(b"</title>", b"&nbsp;&mdash;</title>", 2)
    if defect == "latin1-byte":
        return body.replace(b"</title>", b" caf\xe9</title>", 2)
    return body
