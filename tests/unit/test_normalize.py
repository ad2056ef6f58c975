"""normalize: canonical URLs, HTML to text, cleaning, item keys and fingerprints."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.sources import normalize
from service.sources.normalize import (
    _INVISIBLE_TABLE,
    MAX_URL_CHARS,
    NORMALISING_VERSION,
    Item,
    canonical_url,
    clean_text,
    entry_source,
    html_to_text,
    normalize_entry,
    source_tag,
    title_fingerprint,
    without_stray_tags,
)
from service.sources.parse import RawEntry

FEED_URL = "https://news.example/feeds/main.xml"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://a.example/x?utm_source=t&id=7&fbclid=z&utm_medium=m&b=2",
            None,
            "https://a.example/x?id=7&b=2",
        ),
        ("https://a.example/x?gclid=1&mc_cid=2&_hsenc=3&igshid=4", None, "https://a.example/x"),
        ("https://a.example/x#section-2", None, "https://a.example/x"),
        ("HTTPS://News.Example:443/Path?Q=1", None, "https://news.example/Path?Q=1"),
        ("http://a.example:80/", None, "http://a.example/"),
        ("http://a.example:8080/p", None, "http://a.example:8080/p"),
        ("https://a.example", None, "https://a.example/"),
        ("/story/1?x=1", FEED_URL, "https://news.example/story/1?x=1"),
        ("story/2", "https://news.example/blog/", "https://news.example/blog/story/2"),
        ("javascript:alert(1)", FEED_URL, None),
        ("data:text/html,<script>x</script>", FEED_URL, None),
        ("mailto:a@b.example", FEED_URL, None),
        ("ftp://a.example/file", None, None),
        ("/relative/without/base", None, None),
        ("https://bücher.example/straße", None, "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://user:pw@a.example/p", None, "https://a.example/p"),
        ("  https://a.example/p\n  ", None, "https://a.example/p"),
        ("http://[::1]:99/x", None, "http://[::1]:99/x"),
        ("http://a.example:99999/", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_canonical_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base=base) == expected


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("plain title", "plain title"),
        ("Tom &amp; Jerry &#8220;quoted&#8221;", "Tom & Jerry \u201cquoted\u201d"),
        ("&lt;b&gt;x", "<b>x"),
        ("<b>x</b>", "x"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Hel<b>lo</b> wor<i>ld</i>", "Hello world"),
        ("<ul><li>a</li><li>b</li></ul>", "a b"),
        ("a<br>b<BR/>c", "a b c"),
        ("<div><script>alert(1)</script>safe<style>p{color:red}</style></div>", "safe"),
        ("<div><p>nested <span>deep <em>text</em></span></p></div>", "nested deep text"),
        ("x &nbsp; y", "x y"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, expected: str) -> None:
    assert html_to_text(fragment) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("safe\u202etxt.exe", "safetxt.exe"),
        ("a\u2066b\u2069c", "abc"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),
        ("nul\x00byte\x07", "nulbyte"),
        ("  lots \t of\n\nspace  ", "lots of space"),
        ("e\u0301", "\u00e9"),
        ("form\x0cfeed", "form feed"),
        # tag characters spelling a hidden text are removed; the flag of Scotland keeps its own
        ("BYD\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 news", "BYD news"),
        (
            "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
            "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        ),
        ("\U0001f3f4" + "\U000e0061" * 40 + "\U000e007f", "\U0001f3f4"),
        # only England's, Scotland's and Wales's flags keep their tags: "ignore" is no region
        ("x\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "ignore") + "\U000e007fy", "x\U0001f3f4y"),
        ("\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "IGNORE!") + "\U000e007f", "\U0001f3f4"),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


_AWKWARD = st.sampled_from(
    list(" \t\n\x00\x07\x0b\x0c\x1c\x1f\x7f\x85\x9d\xa0\u3000\u2028")  # controls, separators, spaces
    + list("\u200b\u200d\u202e\u2066\ufeff")  # zero-width and bidi characters
    + list("\U000e0001\U000e0041\U000e007f\U0001f3f4")  # tag characters, a black flag
    + ["e\u0301", "\u00e9", "a"]  # decomposed and composed letters
)


@given(st.lists(st.one_of(_AWKWARD, st.characters()), max_size=40).map("".join))
def test_clean_text_fast_path_agrees_with_the_definition(text: str) -> None:
    """Remove the invisible characters, NFC, collapse whitespace: in that order, whatever path."""
    removed = without_stray_tags(text.translate(_INVISIBLE_TABLE))
    assert clean_text(text) == " ".join(unicodedata.normalize("NFC", removed).split())


def _entry(**changes: object) -> RawEntry:
    base = RawEntry(
        guid="guid-1",
        link="https://news.example/a?utm_source=rss",
        title="BYD opens plant in Hungary",
        summary="<p>The plant in Szeged makes EVs.</p>",
        published=datetime(2024, 1, 2, tzinfo=UTC),
        base_url=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _item(**changes: object) -> Item:
    item = normalize_entry(_entry(**changes), feed_url=FEED_URL)
    assert item is not None
    return item


def test_item_fields() -> None:
    item = _item()
    assert item.url == "https://news.example/a"
    assert item.text == "The plant in Szeged makes EVs."
    assert item.published_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert all(len(value) == 32 for value in (item.key, item.content_hash, item.title_fp))


def test_key_precedence_guid_then_url_then_content() -> None:
    by_guid = _item()
    assert _item(link="https://elsewhere.example/").key == by_guid.key
    by_url = _item(guid=None)
    assert by_url.key != by_guid.key
    assert _item(guid="   ").key == by_url.key  # whitespace guid counts as absent
    assert _item(guid=None, link="https://news.example/a?utm_medium=x#top").key == by_url.key
    by_text = _item(guid=None, link=None)
    assert by_text.key not in (by_guid.key, by_url.key)
    assert _item(guid=None, link="javascript:void(0)").key == by_text.key


def test_an_entry_with_no_link_links_to_its_enclosure_and_keeps_its_key() -> None:
    episode = _item(guid=None, link=None, enclosure="/audio/ep12.mp3?utm_source=rss")
    assert episode.url == "https://news.example/audio/ep12.mp3"  # resolved and canonical, as a link
    assert episode.key == _item(guid=None, link=None).key  # keyed by its text, as before enclosures
    assert _item(enclosure="https://news.example/a.mp3").url == "https://news.example/a"  # its link first


def test_content_hash_changes_on_edit_only() -> None:
    original = _item()
    assert _item(link="https://news.example/b").content_hash == original.content_hash
    assert _item(title="BYD opens second plant in Hungary").content_hash != original.content_hash
    assert _item(summary="<p>The plant makes batteries.</p>").content_hash != original.content_hash


def _source(feed_url: str = FEED_URL, **changes: object) -> str:
    return entry_source(_entry(**changes), feed_url=feed_url).digest


def test_an_entry_source_gives_the_key_normalising_gives() -> None:
    cases = ({}, {"guid": None}, {"guid": "  "}, {"guid": "g\x003"}, {"link": "a/b", "base_url": "/x/"})
    for changes in cases:
        entry = _entry(**changes)
        assert entry_source(entry, feed_url=FEED_URL).key == _item(**changes).key
    assert entry_source(_entry(guid=None, link=None), feed_url=FEED_URL).key is None  # only the text can say


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "BYD opens plant in Turkey"},
        {"summary": "<p>The plant in Szeged makes cars.</p>"},
        {"summary": "<p>The plant in Szeged makes EVs.</p><!-- ad 2 -->"},  # normalising drops it: still read
        {"link": "https://news.example/a?utm_source=mail"},
        {"base_url": "https://news.example/"},
        {"guid": "guid-2"},
        {"guid": None},
        {"enclosure": "https://news.example/a.mp3"},
    ],
)
def test_a_source_digest_changes_with_every_input_of_normalising(changes: dict[str, object]) -> None:
    assert _source(**changes) != _source()


def test_a_source_digest_changes_with_the_feed_url_and_the_caps_but_not_the_date() -> None:
    entry = _entry()
    digest = entry_source(entry, feed_url=FEED_URL).digest
    assert entry_source(entry, feed_url=FEED_URL + "?v=2").digest != digest  # relative links resolve by it
    assert entry_source(entry, feed_url=FEED_URL, max_text_chars=500).digest != digest
    assert entry_source(entry, feed_url=FEED_URL, max_title_chars=50).digest != digest
    assert _source(published=datetime(2025, 1, 1, tzinfo=UTC)) == digest  # a new date alone is no edit
    # fields are spelled with their lengths: text moved from one field to the next is a change
    assert _source(title="ab", summary="c") != _source(title="a", summary="bc")
    assert _source(guid=None, link=None) != _source(guid="", link=None)


def test_a_normalised_item_is_tagged_with_its_source_and_its_content() -> None:
    item = _item()
    assert item.source_tag == source_tag(_source(), item.content_hash, item.url)
    assert item.source_tag is not None and item.source_tag.startswith(NORMALISING_VERSION)
    assert len(item.source_tag) == 40
    # the same source vouches for no other content or link (a row another writer edited)
    assert source_tag(_source(), "0" * 32, item.url) != item.source_tag
    assert source_tag(_source(), item.content_hash, "https://news.example/b") != item.source_tag


def test_the_normalising_version_names_the_code_not_its_line_endings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = Path(normalize.__file__).read_bytes()
    crlf = tmp_path / "crlf" / "normalize.py"
    changed = tmp_path / "changed" / "normalize.py"
    for path, content in ((crlf, code.replace(b"\n", b"\r\n")), (changed, code + b"\n# a change\n")):
        path.parent.mkdir()
        path.write_bytes(content)
    monkeypatch.setattr(normalize, "__file__", str(crlf))
    assert normalize._normalising_version() == NORMALISING_VERSION
    monkeypatch.setattr(normalize, "__file__", str(changed))
    assert normalize._normalising_version() not in (None, NORMALISING_VERSION)
    # without its sources (a zip, bytecode only) an install cannot name its code: no version
    for unnamed in (str(tmp_path / "app.zip" / "normalize.py"), str(crlf) + "c"):
        monkeypatch.setattr(normalize, "__file__", unnamed)
        assert normalize._normalising_version() is None


def test_without_a_normalising_version_no_tag_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize, "NORMALISING_VERSION", None)
    assert _item().source_tag is None


@pytest.mark.parametrize(
    ("title", "same_story"),
    [
        ("BYD Opens Plant in Hungary!", True),
        ("  byd opens   plant in hungary. ", True),
        ("BYD opens plant in Turkey", False),
        ("Nissan to export China-made EVs", False),
    ],
)
def test_title_fingerprint(title: str, same_story: bool) -> None:
    assert (_item(title=title).title_fp == _item().title_fp) is same_story


def test_ascii_fingerprint_matches_the_unicode_folding() -> None:
    """ASCII titles take a translate-table shortcut; a trailing em dash (folded to a space)
    forces the general NFKC / casefold / regex path, which must give the same fingerprint."""
    for code in range(128):
        title = f"BYD Opens{chr(code)}Plant_in Hungary{chr(code)}2024"
        assert title_fingerprint(title) == title_fingerprint(title + " \u2014"), repr(chr(code))


def test_short_titles_have_no_fingerprint() -> None:
    assert _item(title="Update").title_fp == ""


def test_title_is_plain_text_and_capped() -> None:
    assert _item(title="&lt;b&gt;x &amp;amp; y").title == "<b>x &amp; y"
    long = normalize_entry(_entry(title="word " * 1000), feed_url=FEED_URL, max_title_chars=50)
    assert long is not None and len(long.title) <= 50


def test_text_is_capped_even_for_huge_markup() -> None:
    summary = "<div><p>" + "<span>x</span> " * 200_000 + "</p></div>"
    item = normalize_entry(_entry(summary=summary), feed_url=FEED_URL, max_text_chars=100)
    assert item is not None and 0 < len(item.text) <= 100


def test_relative_link_resolved_against_xml_base_then_feed_url() -> None:
    assert _item(link="p/1", base_url="/blog/").url == "https://news.example/blog/p/1"
    assert _item(link="p/1").url == "https://news.example/feeds/p/1"


def test_empty_entry_is_dropped() -> None:
    assert (
        normalize_entry(_entry(title=" ", link=None, summary="<p> </p>", guid="g"), feed_url=FEED_URL) is None
    )


def test_an_xml_base_that_is_no_url_is_no_base() -> None:
    # urljoin raises ValueError on it: every poll of its feed failed
    assert _item(link="p/1", base_url="http://[oops/").url == "https://news.example/feeds/p/1"


def test_a_nul_in_a_guid_is_dropped() -> None:
    # PostgreSQL cannot store NUL in text: the whole poll of the feed was refused
    assert _item(guid="g\x003").guid == "g3"
    assert _item(guid="g\x003").key == _item(guid="g3").key


def test_a_link_longer_than_the_cap_is_no_link() -> None:
    long = "https://news.example/" + "a" * MAX_URL_CHARS
    assert _item(link=long).url is None
    assert _item(link=long[: MAX_URL_CHARS - 1]).url == long[: MAX_URL_CHARS - 1]
