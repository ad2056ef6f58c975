"""parse_feed on crafted documents: formats, fields, dates, hostile input, caps, encodings."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.errors import ParseError
from service.sources.feed import RawEntry, with_own_enclosures, yield_warning
from service.sources.parse import ParsedFeed, _parse_tolerant, parse_date, parse_fast, parse_feed

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Rivals</title><link>https://news.example/</link><ttl>30</ttl>
<item><title>BYD opens &amp;amp; plant</title><link>https://news.example/a?utm_source=x</link>
<guid isPermaLink="false">  id-1  </guid><pubDate>Tue, 19 Dec 2023 08:30:00 +0100</pubDate>
<description>short</description><content:encoded><![CDATA[<p>much longer body</p>]]></content:encoded></item>
<item><title>No guid</title><link>/relative/b</link></item>
<item><title>Permalink guid</title><guid>https://news.example/c</guid></item>
<item><title>Blank guid</title><guid>   </guid><link>https://news.example/d</link></item>
</channel></rss>"""

RSS091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>
<item><title>Caf\xe9 news</title><link>http://old.example/1</link><description>d\xe9j\xe0</description></item>
</channel></rss>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://rdf.example/"><title>RDF feed</title><link>http://rdf.example/</link></channel>
<item rdf:about="http://rdf.example/1"><title>Tesla item</title><link>http://rdf.example/1</link>
<dc:date>2018-10-05T12:00:00+02:00</dc:date></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/">
<title type="text">Atom &lt;feed&gt;</title><link href="https://atom.example/"/>
<entry><id>tag:atom.example,2024:1</id><title type="text">a &lt;b&gt; c</title>
<link rel="self" href="self.xml"/><link rel="alternate" type="text/html" href="posts/1"/>
<updated>2024-01-02T03:04:05Z</updated><published>2024-01-01T00:00:00Z</published>
<summary type="html">&lt;p&gt;html summary&lt;/p&gt;</summary></entry>
<entry xml:base="/other/"><id>tag:atom.example,2024:2</id>
<title type="html">&lt;b&gt;Bold&lt;/b&gt; title</title>
<link href="two"/><updated>2024-02-02T00:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>xhtml <em>body</em></p></div>
</content></entry>
</feed>"""


def test_rss2_fields() -> None:
    feed = parse_feed(RSS2)
    assert (feed.parser, feed.title, feed.link, feed.ttl_s) == (
        "fast",
        "Rivals",
        "https://news.example/",
        1800,
    )
    first, relative, permalink, blank = feed.entries
    assert first.guid == "id-1"
    assert first.title == "BYD opens &amp; plant"
    assert first.summary == "<p>much longer body</p>"
    assert first.published == datetime(2023, 12, 19, 7, 30, tzinfo=UTC)
    assert (relative.guid, relative.link) == (None, "/relative/b")
    assert (permalink.guid, permalink.link) == ("https://news.example/c", "https://news.example/c")
    assert blank.guid is None
    assert feed.dropped_entries == 0 and feed.damage is None


@pytest.mark.parametrize(
    ("document", "title", "link", "summary"),
    [
        (RSS091, "Café news", "http://old.example/1", "déjà"),
        (RDF, "Tesla item", "http://rdf.example/1", ""),
    ],
)
def test_other_rss_flavours(document: bytes, title: str, link: str, summary: str) -> None:
    entry = parse_feed(document).entries[0]
    assert (entry.title, entry.link, entry.summary) == (title, link, summary)


def test_rdf_item_id_and_dc_date() -> None:
    entry = parse_feed(RDF).entries[0]
    assert entry.guid == "http://rdf.example/1"
    assert entry.published == datetime(2018, 10, 5, 10, 0, tzinfo=UTC)


def test_atom_text_constructs_links_and_base() -> None:
    feed = parse_feed(ATOM)
    first, second = feed.entries
    assert feed.title == "Atom <feed>"
    assert first.title == "a &lt;b&gt; c"  # text type: escaped so the literal < survives as HTML
    assert (first.link, first.base_url) == ("https://atom.example/blog/posts/1", "https://atom.example/blog/")
    assert first.published == datetime(2024, 1, 1, tzinfo=UTC)
    assert first.summary == "<p>html summary</p>"
    assert second.title == "<b>Bold</b> title"
    assert second.link == "https://atom.example/other/two"
    assert second.published == datetime(2024, 2, 2, tzinfo=UTC)  # updated as fallback
    assert "<p" in second.summary and "body</em>" in second.summary


PODCAST = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Daily show</title><link>https://show.example/</link>
<item><title>Episode 12</title><guid isPermaLink="false">ep-12</guid>
<enclosure url="/audio/ep12.mp3" length="100" type="audio/mpeg"/>
<enclosure url="https://show.example/audio/ep12-hq.mp3" type="audio/mpeg"/></item>
<item><title>Episode 13</title><link>https://show.example/13</link>
<enclosure url="https://show.example/audio/ep13.mp3" type="audio/mpeg"/></item>
</channel></rss>"""

ATOM_PODCAST = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://show.example/">
<title>Daily show</title><entry><id>tag:show.example,2024:12</id><title>Episode 12</title>
<link rel="ENCLOSURE" type="audio/mpeg" href="audio/ep12.mp3"/><updated>2024-02-02T00:00:00Z</updated>
</entry></feed>"""


SHARED_ENCLOSURES = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xml:base="https://cdn.example/pod/"><channel><title>Station</title>
<item><title>Acme recalls cars</title><guid isPermaLink="false">g1</guid>
<enclosure url="https://cdn.example/live.mp3" type="audio/mpeg"/></item>
<item><title>Acme opens a plant</title><guid isPermaLink="false">g2</guid>
<enclosure url="live.mp3?utm_source=rss#t=60" type="audio/mpeg"/></item>
<item><title>Logo only</title><guid isPermaLink="false">g3</guid>
<enclosure url="https://cdn.example/logo.png" type="image/png"/></item>
<item><title>Relative, under a base</title><guid isPermaLink="false">g4</guid>
<enclosure url=" e4.mp3 " type="Audio/MPEG"/></item>
<item><title>Written with href</title><guid isPermaLink="false">g5</guid>
<enclosure href="https://cdn.example/e5.mp4" type="video/mp4"/></item>
</channel></rss>"""


@pytest.mark.parametrize("path", ["fast", "tolerant"])
def test_only_an_entry_s_own_audio_or_video_enclosure_is_read(path: str) -> None:
    read = parse_fast if path == "fast" else _parse_tolerant
    parsed = read(SHARED_ENCLOSURES, content_type=None, max_entries=10)
    assert parsed is not None
    own = with_own_enclosures(parsed)
    # a stream two entries share is no episode of either; an image is no episode; a relative URL
    # is kept as written (resolved against the feed's address when the item is made)
    assert [entry.enclosure for entry in own.entries] == [
        None,
        None,
        None,
        "e4.mp3",
        "https://cdn.example/e5.mp4",
    ]
    assert [entry.enclosure for entry in parse_feed(SHARED_ENCLOSURES).entries][:2] == [None, None]


@pytest.mark.parametrize("path", ["fast", "tolerant"])
def test_the_first_enclosure_is_read_on_both_paths(path: str) -> None:
    read = parse_fast if path == "fast" else _parse_tolerant
    rss = read(PODCAST, content_type=None, max_entries=10)
    atom = read(ATOM_PODCAST, content_type=None, max_entries=10)
    assert rss is not None and atom is not None
    episode_12, episode_13 = rss.entries
    assert (episode_12.link, episode_12.enclosure) == (None, "/audio/ep12.mp3")  # resolved as links are
    assert (episode_13.link, episode_13.enclosure) == (
        "https://show.example/13",
        "https://show.example/audio/ep13.mp3",
    )
    assert atom.entries[0].enclosure == "https://show.example/audio/ep12.mp3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 19 Dec 2023 08:30:00 +0100", datetime(2023, 12, 19, 7, 30, tzinfo=UTC)),
        ("19 Dec 2023 08:30 GMT", datetime(2023, 12, 19, 8, 30, tzinfo=UTC)),
        ("Sun, 10 Dec 17 13:01:36 -0800", datetime(2017, 12, 10, 21, 1, 36, tzinfo=UTC)),
        ("Mon, 04 Jun 2018 10:00:00 PST", datetime(2018, 6, 4, 18, 0, tzinfo=UTC)),
        ("Tue, 15 Nov 2022 20:15:04 Z", datetime(2022, 11, 15, 20, 15, 4, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.678+05:30", datetime(2024, 1, 1, 21, 34, 5, tzinfo=UTC)),
        ("2019-01-25 00:00:00", datetime(2019, 1, 25, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:42:40 -0300", None),  # feedparser cannot read it either: paths agree
        ("2018-10-05", datetime(2018, 10, 5, tzinfo=UTC)),
        ("not a date", None),
        ("31 Feb 2023 10:00:00 +0000", None),
        # before year 1 in UTC, or an offset beyond a day: no crash, feedparser's reading wins
        ("Mon, 01 Jan 0001 00:00:00 +0100", datetime(100, 1, 1, 1, 0, tzinfo=UTC)),
        ("0001-01-01T00:00:00+01:00", None),
        ("Tue, 19 Dec 2023 08:30:00 +2500", datetime(2023, 12, 18, 7, 30, tzinfo=UTC)),
        ("", None),
        # at the calendar's edge no time zone can show it (year 10000 in Berlin): not a date
        ("Fri, 31 Dec 9999 23:30:00 GMT", None),
        ("9999-12-31T23:30:00Z", None),
        ("31 Dec 9999", None),
        ("Mon, 01 Jan 0001 00:10:00 GMT", None),
        ("9999-12-29T23:30:00Z", datetime(9999, 12, 29, 23, 30, tzinfo=UTC)),
    ],
)
def test_dates(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def _rss_with_items(items: str, *, prolog: str = "") -> bytes:
    return f'{prolog}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"/etc/hosts", "not a feed"),
        (b"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>", "HTML document"),
        (b'{"items": [{"title": "x"}]}', "JSON document"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ite', "not a feed"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a feed"),
    ],
)
def test_not_a_feed(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_feed(body)


def test_zero_entries_is_not_an_error() -> None:
    feed = parse_feed(_rss_with_items(""))
    assert (feed.entries, feed.title) == ((), "t")


def test_truncated_document_keeps_earlier_items() -> None:
    items = "<item><title>one</title><link>http://x.example/1</link></item><item><title>tw"
    feed = parse_feed(b'<rss version="2.0"><channel><title>t</title>' + items.encode())
    assert feed.parser == "tolerant"
    assert feed.entries[0].title == "one"
    assert feed.damage


def test_an_encoding_note_is_no_damage() -> None:
    # Declared UTF-8, written in windows-1252: feedparser notes it and reads the whole document.
    body = _rss_with_items("<item><title>Caf\xe9</title><link>http://x.example/1</link></item>").replace(
        b"<rss", b'<?xml version="1.0" encoding="utf-8"?><rss'
    )
    feed = parse_feed(body.replace("\xe9".encode(), b"\xe9"))
    assert feed.parser == "tolerant" and feed.entries and feed.damage is None


ENTRY = RawEntry(guid="g", link="http://x.example/1", title="t", summary="", published=None, base_url=None)


def _parsed(entries: int, *, damage: str | None = None) -> ParsedFeed:
    return ParsedFeed("t", None, None, (ENTRY,) * entries, "fast", 0, damage)


@pytest.mark.parametrize(
    ("parsed", "usable", "warning"),
    [
        (_parsed(3), 3, None),
        (_parsed(3), 1, None),  # some entries unusable: the feed still gives news
        (_parsed(0), 0, "the feed lists no items: check that the URL still serves this feed"),
        (_parsed(1), 0, "1 entry, none usable (no title, link or text)"),
        (_parsed(4), 0, "4 entries, none usable (no title, link or text)"),
        (
            _parsed(2, damage="no element found"),
            2,
            "the document is damaged (no element found): 2 items read before it",
        ),
        (_parsed(1, damage="bad token"), 1, "the document is damaged (bad token): 1 item read before it"),
        (_parsed(1, damage="bad token"), 0, "the document is damaged (bad token): no usable item"),
    ],
)
def test_what_a_poll_that_parsed_warns_of(parsed: ParsedFeed, usable: int, warning: str | None) -> None:
    assert yield_warning(parsed, usable) == warning


LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))


@pytest.mark.parametrize(
    "doctype",
    [
        f'<!DOCTYPE rss [<!ENTITY l0 "lol">{LAUGHS}]>',
        '<!DOCTYPE rss [<!ENTITY a "' + "x" * 50_000 + '">]>',
    ],
)
def test_entity_expansion_is_bounded(doctype: str) -> None:
    title = "&l9;" if "l9" in doctype else "&a;" * 20_000
    body = f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>t</title>'
    body += f"<item><title>{title}</title><link>http://x.example/</link></item></channel></rss>"
    started = time.perf_counter()
    with pytest.raises(ParseError, match="entit"):
        parse_feed(body.encode())
    assert time.perf_counter() - started < 2.0


def test_external_entity_and_dtd_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-7f3a9c-unique")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{tmp_path}/x.dtd" [<!ENTITY x SYSTEM '
        f'"file://{secret}">]><rss version="2.0"><channel><title>t</title><item><title>a &x; b</title>'
        "<link>http://x.example/</link></item></channel></rss>"
    ).encode()
    try:
        feed = parse_feed(body)
    except ParseError:
        return
    assert all("TOKEN-7f3a9c" not in entry.title + entry.summary for entry in feed.entries)


def test_entries_are_capped_and_counted() -> None:
    items = "".join(f"<item><title>n{i}</title><guid>g{i}</guid></item>" for i in range(100_000))
    started = time.perf_counter()
    feed = parse_feed(_rss_with_items(items), max_entries=2000)
    assert time.perf_counter() - started < 5.0
    assert (len(feed.entries), feed.dropped_entries) == (2000, 98_000)
    assert feed.entries[-1].guid == "g1999"


def test_ten_megabyte_title_is_capped() -> None:
    items = "<item><title>" + "A" * 10_000_000 + "</title><link>http://x.example/1</link></item>"
    feed = parse_feed(_rss_with_items(items))
    assert 0 < len(feed.entries[0].title) <= 16_384


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (
            _rss_with_items("<item><title>UTF-16 \u00e9t\u00e9</title></item>").decode().encode("utf-16-le"),
            "UTF-16 été",
        ),
        (_rss_with_items("<item><title>a\u00e9</title></item>").replace("é".encode(), b"\xe9"), "a"),
        (_rss_with_items("<item><title>nul</title></item>").replace(b"nul", b"n\x00ul"), "n"),
        (_rss_with_items("<item><title>\u00e9</title></item>", prolog="\n\n"), "é"),
    ],
)
def test_odd_encodings_do_not_crash(body: bytes, title: str) -> None:
    try:
        feed = parse_feed(body)
    except ParseError as error:
        assert "not a feed" in str(error)
        return
    assert feed.entries and feed.entries[0].title.startswith(title)


def test_http_charset_contradicting_the_document_uses_feedparser() -> None:
    body = RSS091
    assert parse_feed(body, content_type="text/xml; charset=iso-8859-1").parser == "fast"
    contradicted = parse_feed(body, content_type="application/rss+xml; charset=utf-8")
    assert contradicted.parser == "tolerant"
    assert contradicted.entries[0].title == "Café news"


def test_gzip_body_without_content_encoding_is_read() -> None:
    feed = parse_feed(gzip.compress(RSS2))
    assert isinstance(feed, ParsedFeed) and len(feed.entries) == 4


def test_gzip_bomb_is_refused() -> None:
    with pytest.raises(ParseError, match="gzip"):
        parse_feed(gzip.compress(b"<rss>" + b" " * 40_000_000))


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "seconds"),
    [
        ("60", None, None, 3600),
        (" 15 ", None, None, 900),
        ("²", None, None, None),  # a digit to str.isdigit, no number to int()
        ("①", "daily", "²", 86400),
        (None, "hourly", "2", 1800),
        (None, "weekly", "0", 604800),
        ("soon", None, None, None),
    ],
)
def test_ttl_from_the_feed(
    ttl: str | None, period: str | None, frequency: str | None, seconds: int | None
) -> None:
    from service.sources.feed import ttl_from

    assert ttl_from(ttl, period, frequency) == seconds
