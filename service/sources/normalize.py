"""Raw feed entries → normalised items (pure functions, no I/O).

Rules implemented here:

- **Item key** (32 hex chars, BLAKE2b-128): of ``"g:" + guid`` when the entry has a guid
  (NUL characters removed; whitespace-only counts as none), else ``"u:" + canonical URL``, else
  ``"h:" + title + "\\n" + text``. It is what "the same item" means within one feed.
- **Canonical URL**: the link resolved against the entry's ``xml:base`` and then the feed
  URL; only ``http``/``https`` survive (``javascript:``, ``data:``, ``mailto:`` ... → None);
  scheme and host lower-cased, IDN hosts in their ASCII (punycode) form, default ports and
  user-info dropped, empty path → ``/``, the fragment dropped, tracking parameters (``utm_*``
  and the click ids in ``TRACKING_PARAMS``) removed with the other parameters kept verbatim
  and in order; characters that are not valid in a URL are percent-encoded as UTF-8. A
  canonical URL longer than ``MAX_URL_CHARS`` counts as no link, and an ``xml:base`` that is no
  URL as none.
- **Plain text**: titles and summaries are HTML fragments (that is how feeds use them, even
  in RSS titles); ``html_to_text`` parses them with a real HTML parser, drops script /
  style / template content, turns block boundaries into spaces and decodes entities, so a
  title written ``&amp;lt;b&amp;gt;x`` shows as ``<b>x``, as the feed meant. ``clean_text``
  then applies NFC, removes control characters, bidi overrides / isolates and zero-width
  characters, and collapses whitespace. Titles and texts are cut to their caps.
- **content_hash** (32 hex): of the cleaned title and text; it changes when an item is
  edited.
- **Source tag** (40 hex): what lets a poll leave unread an entry it stored before, unchanged.
  An entry's source digest covers every input of normalising (title, summary, link,
  ``xml:base`` and guid as the feed wrote them, the feed URL and the caps; not the date: a new
  date alone is no edit). A stored item's tag is the normalising code's version
  (``NORMALISING_VERSION``) followed by the digest of the entry's source digest and the item's
  content hash and URL: it vouches for an entry only while the code is the same and the row
  still holds the content and link that entry made (a writer that updates the row without the
  tag voids it).
- **title_fp** (32 hex): of the title case-folded, NFKC-normalised, with punctuation and
  symbols folded to spaces; "" when fewer than ``MIN_FP_CHARS`` letters or digits remain, since
  short titles ("Update", "Live") match unrelated stories.
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import selectolax
from selectolax.lexbor import LexborHTMLParser

from service.sources import boilerplate
from service.sources.boilerplate import without_footers, without_marks
from service.sources.parse import RawEntry

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
        "yclid", "twclid", "ttclid", "_hsenc", "_hsmi", "_ga", "_gl", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "wickedid",
    }
)  # fmt: skip
MIN_FP_CHARS = 10
MAX_URL_CHARS = 2048
"""A longer link is no usable link (PostgreSQL's index on items.url holds at most 2 704 bytes a
row: one 6 000-character link failed its whole feed's poll)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Removed outright: C0/C1 controls, bidi embeddings, overrides and isolates (they can
# disguise text), zero-width characters and the BOM. Controls that separate words (vertical
# tab, form feed, information separators, NEL) become spaces instead.
_WORD_SEPARATORS = [0x0B, 0x0C, *range(0x1C, 0x20), 0x85]
_INVISIBLE = [*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]
_INVISIBLE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
_INVISIBLE_TABLE: dict[int, str | None] = {
    **dict.fromkeys(_INVISIBLE),
    **dict.fromkeys(_WORD_SEPARATORS, " "),
}
_HAS_INVISIBLE = re.compile("[" + "".join(re.escape(chr(c)) for c in _INVISIBLE_TABLE) + "]")
# Tag characters (U+E0000-E007F) are invisible too, and can carry a hidden text past every reader
# ("ASCII smuggling"); they are kept only where they spell one of the three subdivision flags
# Unicode recommends (a black flag, tag letters, a cancel tag: England, Scotland, Wales). Any other
# run of tag letters, even one shaped like a region code, can spell words six letters at a time.
_FLAGS = ("gbeng", "gbsct", "gbwls")
_STRAY_TAG = re.compile(
    "("
    + "|".join(
        "\U0001f3f4" + "".join(chr(0xE0000 + ord(letter)) for letter in flag) + "\U000e007f"
        for flag in _FLAGS
    )
    + ")|[\U000e0000-\U000e007f]"
)
_URL_WHITESPACE = re.compile(r"[\t\r\n]")
_NEEDS_QUOTING = re.compile(r"[^\x21-\x7e]|[\"<>\\^`{|}]")
_SAFE_URL_CHARS = "/%:@!$&'()*+,;=-._~?#[]"
_SKIPPED_ELEMENTS = ["script", "style", "template", "noscript"]
# A space before every block-level tag keeps words of adjacent blocks apart in the text.
# Literal alternatives (lower case, and upper case for the common old-style tags) keep the
# scan fast; IGNORECASE would make it twice as slow on long articles.
_BLOCK_TAGS = (
    "p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|thead|tbody|blockquote|pre|section|article|"
    "header|footer|aside|nav|figure|figcaption|img|address|main|details|summary|P|DIV|BR|LI|TD|TR|H[1-6]"
)
_BLOCK_TAG = re.compile(rf"<(?=/?(?:{_BLOCK_TAGS})\b)")
_NON_WORD = re.compile(r"[\W_]+")
# ASCII title → lower-case letters and digits, every other character a space (a byte table:
# bytes.translate does in C what a str.translate dict does one look-up at a time).
_ASCII_FOLD = bytes((c if c < 128 and chr(c).isalnum() else 32) for c in range(256)).lower()
_HTML_WINDOW_FACTOR = 4


MAX_TITLE_CHARS = 1000
MAX_TEXT_CHARS = 20000
"""Characters of a title and a text kept by default (``RIVALWATCH_MAX_TITLE_CHARS`` / ``_TEXT_CHARS``)."""


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    guid: str | None
    url: str | None
    title: str
    text: str
    published_at: datetime | None
    content_hash: str
    title_fp: str
    source_tag: str | None = None  # None: not made from a feed entry (see ``source_tag``)


@dataclass(frozen=True, slots=True)
class EntrySource:
    """What an entry's item is made from, read without making it: the item's key when the guid
    or the link decides it (None: only the title and text can, see ``normalize_entry``), and the
    digest of every input of ``normalize_entry`` (see "Source tag" above)."""

    guid: str | None
    url: str | None
    key: str | None
    digest: str


def entry_source(
    entry: RawEntry,
    *,
    feed_url: str,
    max_title_chars: int = MAX_TITLE_CHARS,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> EntrySource:
    """The entry's guid, canonical URL, key (when they decide it) and source digest. No HTML is
    read: on the real corpus ~27 ms a pass against ~140 ms for making the items, and the
    canonical URL (~7 ms of it) is made here for both."""
    # NUL is the one character PostgreSQL cannot store in text: in a guid it lost the whole poll
    guid = (entry.guid.replace("\x00", "").strip() or None) if entry.guid else None
    base = _base(feed_url, entry.base_url)
    url = canonical_url(entry.link, base=base)
    key = _digest("g:" + guid) if guid else _digest("u:" + url) if url else None
    # An entry with no link of its own (a podcast episode) links to its enclosure. Not a key: the
    # key of an item without a guid or link is its title and text, as before enclosures were read.
    # Resolved against the feed's address: feedparser gives an RSS enclosure as written, without
    # the xml:base the fast path knows, and both paths must make the same link.
    if url is None and entry.enclosure:
        url = canonical_url(entry.enclosure, base=feed_url)
    # Each field prefixed with its length (or "-" for none): no two different entries spell the same.
    title, summary = entry.title, entry.summary
    spelled = f"{len(title)}:{title}{len(summary)}:{summary}{_spelled(entry.link)}{_spelled(entry.base_url)}"
    spelled += f"{_spelled(entry.guid)}{_spelled(entry.enclosure)}{len(feed_url)}:{feed_url}"
    return EntrySource(guid, url, key, _digest(f"{max_title_chars}/{max_text_chars}/{spelled}"))


def _spelled(field: str | None) -> str:
    return "-" if field is None else f"{len(field)}:{field}"


def _normalising_version() -> str | None:
    """8 hex digits naming everything that decides what an entry normalises to: the source of this
    module and of ``boilerplate`` (line endings aside), the HTML parser's version and Python's
    (the standard library parses URLs and entities). Derived, not written by hand, so no change
    can forget it: after an upgrade that changes any of them, the entries still listed are read
    again (and updated where they now normalise differently) until they are edited or leave the
    feed; items stored from then on are tagged anew. Reading the two files costs ~0.1 ms at import.
    None where the sources are not installed as files (a zip, a frozen or bytecode-only build):
    there no tag is written or trusted, and every entry is read, as before tags were kept."""
    sources = []
    for module in (__file__, boilerplate.__file__):
        if not module or not module.endswith(".py"):
            return None
        try:
            sources.append(Path(module).read_bytes().replace(b"\r\n", b"\n"))
        except OSError:
            return None
    python = f"{sys.implementation.name} {sys.version_info[:3]}"
    parts = [*sources, selectolax.__version__.encode(), python.encode()]
    return hashlib.blake2b(b"\x00".join(parts), digest_size=4).hexdigest()


NORMALISING_VERSION = _normalising_version()


def source_tag(digest: str, content_hash: str, url: str | None) -> str | None:
    """The tag an item made from the entry of source ``digest`` stores, holding ``content_hash``
    and ``url`` (what ``store.items`` compares to tell an edit). None: this install cannot name
    its normalising code (see ``_normalising_version``), and vouches for nothing."""
    if NORMALISING_VERSION is None:
        return None
    return NORMALISING_VERSION + _digest(f"{digest}:{content_hash}:{_spelled(url)}")


def normalize_entry(
    entry: RawEntry,
    *,
    feed_url: str,
    max_title_chars: int = MAX_TITLE_CHARS,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Item | None:
    """The stored form of one entry; None when it has no title, no usable link and no text."""
    caps = {"max_title_chars": max_title_chars, "max_text_chars": max_text_chars}
    return item_from(entry, entry_source(entry, feed_url=feed_url, **caps), **caps)


def item_from(
    entry: RawEntry, source: EntrySource, *, max_title_chars: int, max_text_chars: int
) -> Item | None:
    """``normalize_entry`` with the entry's ``entry_source`` made already (with the same caps)."""
    title = without_marks(_cap(html_to_text(entry.title), max_title_chars))
    text = without_footers(without_marks(_text_within(entry.summary, max_text_chars)))
    if not (title or source.url or text):
        return None
    content_hash = _digest(f"{title}\x1f{text}")
    return Item(
        key=source.key or _digest(f"h:{title}\n{text}"),
        guid=source.guid,
        url=source.url,
        title=title,
        text=text,
        published_at=entry.published,
        content_hash=content_hash,
        title_fp=title_fingerprint(title),
        source_tag=source_tag(source.digest, content_hash, source.url),
    )


def _base(feed_url: str, base_url: str | None) -> str:
    """The entry's ``xml:base`` resolved against the feed URL; the feed URL when there is none or
    it is no URL at all (``http://[oops/``, which made every poll of its feed fail)."""
    if not base_url:
        return feed_url
    try:
        return urljoin(feed_url, base_url)
    except ValueError:
        return feed_url


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def title_fingerprint(title: str) -> str:
    """Fingerprint for spotting one story across feeds; "" for titles too short to trust."""
    if title.isascii():  # NFKC and case folding of ASCII are lower-casing; \W is any non-alnum
        folded = " ".join(title.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split())
    else:
        folded = " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", title).casefold()).split())
    if len(folded) - folded.count(" ") < MIN_FP_CHARS:
        return ""
    return _digest(folded)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip()


# --- URLs ---------------------------------------------------------------------------------


def canonical_url(url: str | None, *, base: str | None = None) -> str | None:
    """The canonical absolute http(s) form of a link, or None when there is none. Never raises."""
    if not url:
        return None
    link = url.strip()
    if "\n" in link or "\t" in link or "\r" in link:
        link = _URL_WHITESPACE.sub("", link)
    if not link:
        return None
    try:
        simple = _SIMPLE_URL.fullmatch(link)
        canonical = (
            _canonical_simple(simple)
            if simple is not None
            else _canonical_absolute(urljoin(base, link) if base else link)
        )
    except (ValueError, UnicodeError):
        return None
    return canonical if canonical is None or len(canonical) <= MAX_URL_CHARS else None


# The shape nearly every feed link has: absolute http(s), plain host, no port or user-info.
_SIMPLE_URL = re.compile(r"(https?)://([a-z0-9.-]+)(/[^?#]*)?(?:\?([^#]*))?(?:#.*)?")


def _canonical_simple(match: re.Match[str]) -> str | None:
    scheme, host, path, query = match.groups()
    host = host.rstrip(".")
    if not host:
        return None
    url = f"{scheme}://{host}{_quoted(path) if path else '/'}"
    query = _quoted(_without_tracking(query)) if query else ""
    return f"{url}?{query}" if query else url


def _canonical_absolute(url: str) -> str | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host = _ascii_host(parts.hostname or "")
    if not host:
        return None
    port = parts.port
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _quoted(parts.path) or "/"
    query = _quoted(_without_tracking(parts.query))
    return urlunsplit((scheme, netloc, path, query, ""))


def _ascii_host(host: str) -> str:
    host = host.rstrip(".")
    if host.isascii():
        return host
    return ".".join(label.encode("idna").decode("ascii") for label in host.split("."))


def _quoted(component: str) -> str:
    if not _NEEDS_QUOTING.search(component):
        return component
    return quote(component, safe=_SAFE_URL_CHARS)


def _without_tracking(query: str) -> str:
    if not query:
        return ""
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(kept)


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


# --- text ---------------------------------------------------------------------------------


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, cleaned (see ``clean_text``)."""
    if "<" not in fragment:
        return clean_text(html.unescape(fragment) if "&" in fragment else fragment)
    tree = LexborHTMLParser(_BLOCK_TAG.sub(" <", fragment))
    tree.strip_tags(_SKIPPED_ELEMENTS)
    body = tree.body
    return clean_text(body.text(separator="") if body is not None else "")


def _text_within(fragment: str, max_chars: int) -> str:
    """Text of a fragment, parsing only as much HTML as the capped text needs.

    Long articles are mostly markup: a window of a few times the cap usually holds enough
    text; when it does not, the whole fragment is read (at most two parses).
    """
    window = max_chars * _HTML_WINDOW_FACTOR
    text = html_to_text(fragment[:window])
    if len(text) < max_chars and len(fragment) > window:
        text = html_to_text(fragment)
    return _cap(text, max_chars)


def without_stray_tags(text: str) -> str:
    """``text`` without tag characters, except in subdivision flags (see ``_STRAY_TAG``)."""
    return _STRAY_TAG.sub(_flag_or_nothing, text)


def _flag_or_nothing(match: re.Match[str]) -> str:
    return match.group(1) or ""


def clean_text(text: str) -> str:
    """NFC, invisible and control characters (tags outside flags too) removed, whitespace
    collapsed to single spaces."""
    collapsed = " ".join(text.split())
    if collapsed.isprintable():
        # The common case, decided in C: every character removed below is a control or a
        # format character, which are not printable, and the separators are whitespace.
        if collapsed.isascii() or unicodedata.is_normalized("NFC", collapsed):
            return collapsed
        return unicodedata.normalize("NFC", collapsed)
    if _HAS_INVISIBLE.search(text):
        text = text.translate(_INVISIBLE_TABLE)
    text = without_stray_tags(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())
