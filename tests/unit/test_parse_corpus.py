"""The shared feed corpus: every real feed reads, both parse paths agree, hostile files fail cleanly.

Paths taken (recorded when written): all 47 files of real/ take the fast path; in hostile/ the
tolerant path reads AtomSpecialCharacters, InvalidDateFormat, chardet_gb2312, invalid-prolog,
no_encoding_ISO-8859-1, utf8-incorrect-prolog and uolNoticias; undeclared_namespace and
unrecognized (an HTML page) are ParseErrors; the rest take the fast path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest

from service.errors import ParseError
from service.sources import fastpath, parse
from service.sources.normalize import canonical_url, html_to_text, normalize_entry
from service.sources.parse import ParsedFeed, RawEntry, parse_feed

pytestmark = pytest.mark.corpus

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeds"
FEED_URL = "https://feed.example/path/feed.xml"


def _files(kind: str) -> list[Path]:
    folder = CORPUS / kind
    if not folder.is_dir():
        pytest.skip("shared feed corpus not found beside the checkout (../shared/feeds)")
    return sorted(folder.iterdir())


def _read(kind: str, name: str) -> ParsedFeed:
    path = CORPUS / kind / name
    if not path.is_file():
        pytest.skip("shared feed corpus not found beside the checkout (../shared/feeds)")
    return parse_feed(path.read_bytes())


def test_every_real_feed_has_items() -> None:
    for path in _files("real"):
        feed = parse_feed(path.read_bytes())
        items = [normalize_entry(entry, feed_url=FEED_URL) for entry in feed.entries]
        assert feed.parser == "fast", path.name
        # an entry with neither title, link nor text (an image-only item) is rightly dropped
        kept = sum(item is not None for item in items)
        assert kept > 0 and kept >= len(items) - 2, path.name


def _comparable(entry: RawEntry) -> tuple[object, ...]:
    base = urljoin(FEED_URL, entry.base_url) if entry.base_url else FEED_URL
    return (
        entry.guid or None,
        html_to_text(entry.title),
        canonical_url(entry.link, base=base),
        entry.published,
        html_to_text(entry.summary),
    )


def test_fast_and_tolerant_paths_agree_on_real_feeds() -> None:
    for path in _files("real"):
        body = path.read_bytes()
        fast = fastpath.parse_fast(body, content_type=None, max_entries=100_000)
        assert fast is not None, f"{path.name} no longer takes the fast path"
        tolerant = parse._parse_tolerant(body, content_type=None, max_entries=100_000)
        assert len(fast.entries) == len(tolerant.entries), path.name
        for number, (mine, theirs) in enumerate(zip(fast.entries, tolerant.entries, strict=True)):
            assert _comparable(mine) == _comparable(theirs), f"{path.name} entry {number}"


def test_hostile_files_give_items_or_a_clear_error() -> None:
    for path in _files("hostile"):
        try:
            feed = parse_feed(path.read_bytes())
        except ParseError as error:
            assert str(error).startswith("not a feed:"), path.name
            continue
        for entry in feed.entries:
            normalize_entry(entry, feed_url=FEED_URL)


@pytest.mark.parametrize(
    ("kind", "name", "index", "title", "link", "published"),
    [
        (
            "real",
            "swelbyboy_prospect-rss-feeds__autocar.xml",
            0,
            "JLR appoints Tata executive as new strategy chief | Autocar",
            "https://www.autocar.co.uk/car-news/business-corporate/movers-and-shakers-latest-job-moves-car-industry",
            datetime(2026, 3, 24, 9, 58, 40, tzinfo=UTC),
        ),
        (
            "real",
            "miniflux_v2__encoding_ISO-8859-1.xml",
            0,
            "Red Dead Redemption 2: Hinweise auf PC-Umsetzung in App von Rockstar Games",
            "https://www.golem.de/news/red-dead-redemption-2-hinweise-auf-pc-umsetzung-in-app-von-rockstar-games"
            "-1810-137358-rss.html",
            datetime(2018, 10, 28, 12, 48, tzinfo=UTC),
        ),
        (
            "hostile",
            "danmactough_node-feedparser__rss-with-relative-urls.xml",
            0,
            "Neverwinter & Jingle Jam Humble Bundle!",
            "https://feed.example/en/games/neverwinter/news/detail/10743874-neverwinter-%26-jingle-jam-humble-bundle%21",
            datetime(2017, 12, 7, 18, 0, 29, tzinfo=UTC),
        ),
    ],
)
def test_spot_checks(kind: str, name: str, index: int, title: str, link: str, published: datetime) -> None:
    item = normalize_entry(_read(kind, name).entries[index], feed_url=FEED_URL)
    assert item is not None
    assert (item.title, item.url, item.published_at) == (title, link, published)


def test_gzipped_hostile_file_is_read() -> None:
    feed = _read("hostile", "danmactough_node-feedparser__invalid-characters-gzipped.xml")
    assert len(feed.entries) == 25 and feed.entries[0].title == "NSOperation"
