"""The fast path: one strict lxml parse and our own walk of RSS / RDF / Atom entries.

Rules implemented here (pure: no I/O, nothing opened, nothing fetched):

- The parse is strict and inert: no entity substitution, no DTD loading, no network,
  libxml2's size and amplification limits kept. Exceeding the amplification limit is a
  ``ParseError``; so is a DTD that declares nested or oversized entities (billion laughs,
  quadratic blow-up).
- ``parse_fast`` returns None, leaving the document to feedparser, whenever it cannot be sure
  to match feedparser: the document is not well-formed, has any DOCTYPE (entity declarations
  could change the text), has no ``rss`` / ``rdf:RDF`` / Atom 1.0 ``feed`` root, or the HTTP
  charset names another encoding than the document.
- The walk reproduces feedparser's choices so that an item keeps its key whichever path
  reads it: first non-empty title; last ``<link>`` (or Atom ``rel=alternate`` html link); a
  permalink ``guid`` doubles as the link when there is none; RSS guid / Atom id are resolved
  against ``xml:base``; RDF items take ``rdf:about`` as id; ``published`` = pubDate / Atom
  published / dcterms:issued, else ``updated`` / dc:date. A second description-like element
  (summary already there, no content yet) counts as content, and a later one replaces the
  summary; an Atom content or summary with ``src`` is ignored.
- ``title`` and ``summary`` are HTML fragments: RSS text as written (RSS titles are HTML in
  practice), Atom ``type="text"`` escaped so a literal ``<`` survives; child markup is
  serialised back to HTML.
- Entries are walked once, in document order, with one dictionary look-up per child element
  (tag → handler); children no handler wants are skipped without further work.
"""

from __future__ import annotations

import codecs
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from service.errors import ParseError
from service.sources.compat import fix_link, fold_base, repair, resolve
from service.sources.dates import parse_date
from service.sources.feed import (
    MAX_RAW_ID_CHARS,
    MAX_RAW_SUMMARY_CHARS,
    MAX_RAW_TITLE_CHARS,
    ParsedFeed,
    RawEntry,
    fullest,
    is_media,
    ttl_from,
)
from service.sources.roles import (
    RDF_ABOUT,
    ROLE_ATOM_LINK,
    ROLE_CONTENT,
    ROLE_ENCLOSURE,
    ROLE_ID,
    ROLE_LINK,
    ROLE_LINKS,
    ROLE_PUBLISHED,
    ROLE_SUMMARY,
    ROLE_TITLE,
    ROLE_UPDATED,
    XML_BASE,
    Flavour,
    flavour_of,
    split_tag,
)

MAX_ENTITY_CHARS = 1_024

_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_HTML_TYPES = frozenset({"html", "text/html", "xhtml", "application/xhtml+xml"})
_PLAIN_TYPES = frozenset({"text", "text/plain"})
_XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})

# Strict and inert: entities stay unexpanded, no DTD is read, nothing is fetched, and
# huge_tree stays off so libxml2 keeps its own text-size and amplification limits.
_STRICT_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    recover=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)


def parse_fast(body: bytes, *, content_type: str | None, max_entries: int) -> ParsedFeed | None:
    """The fast reading, or None whenever it cannot be sure to match feedparser."""
    root = _strict_root(body)
    if root is None:
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype:
        _refuse_entity_bombs(docinfo.internalDTD)
        return None
    encoding = docinfo.encoding or "utf-8"
    http_charset = charset_of(content_type)
    if http_charset is not None and not _same_encoding(http_charset, encoding):
        return None
    flavour = flavour_of(root)
    if flavour is None:
        return None
    return _read_feed(flavour, max_entries=max_entries, latin1_document=codec_name(encoding) == "latin-1")


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def codec_name(encoding: str) -> str:
    """Python's canonical name of an encoding ("ISO-8859-1" → "latin-1"), or "" if unknown."""
    try:
        return codecs.lookup(encoding).name.replace("iso8859-1", "latin-1")
    except LookupError:
        return ""


def _same_encoding(a: str, b: str) -> bool:
    return codec_name(a) == codec_name(b) != ""


def _strict_root(body: bytes) -> Any:
    try:
        return etree.fromstring(body, parser=_STRICT_PARSER)
    except etree.XMLSyntaxError as exc:
        if "amplification" in str(exc):
            raise ParseError("not a feed: entity expansion beyond libxml2's amplification limit") from None
        return None
    except (ValueError, LookupError):
        return None


def _refuse_entity_bombs(dtd: Any) -> None:
    """Nested or oversized entity declarations exist only to blow up a parser: refuse them
    here rather than let the tolerant parser spend its time on them."""
    if dtd is None:
        return
    for entity in dtd.iterentities():
        content = entity.content or ""
        if "&" in content or "%" in content or len(content) > MAX_ENTITY_CHARS:
            raise ParseError(f"not a feed: DTD declares nested or oversized entity {entity.name!r}")


# --- the walk -----------------------------------------------------------------------------


def _read_feed(flavour: Flavour, *, max_entries: int, latin1_document: bool) -> ParsedFeed:
    kept = flavour.items[:max_entries]
    handlers = _ATOM_HANDLERS if flavour.atom else _RSS_HANDLERS
    entry_handlers = {tag: handlers[role] for tag, role in flavour.roles.items()}
    return ParsedFeed(
        title=_feed_title(flavour),
        link=_feed_link(flavour),
        ttl_s=_ttl_seconds(flavour.channel),
        entries=tuple(
            _entry(item, entry_handlers, flavour.base, latin1_document=latin1_document) for item in kept
        ),
        parser="fast",
        dropped_entries=len(flavour.items) - len(kept),
        damage=None,
    )


def _feed_title(flavour: Flavour) -> str:
    text_of = _atom_text if flavour.atom else _rss_text
    for child in flavour.channel.iterchildren(*_tags_with_role(flavour, (ROLE_TITLE,))):
        return html.unescape(text_of(child)).strip()[:MAX_RAW_TITLE_CHARS]
    return ""


def _feed_link(flavour: Flavour) -> str | None:
    fields = _EntryFields(None)
    for child in flavour.channel.iterchildren(*_tags_with_role(flavour, ROLE_LINKS)):
        _RSS_HANDLERS[flavour.roles[child.tag]](fields, child, flavour.base)
    return fields.link or None


def _tags_with_role(flavour: Flavour, roles: tuple[int, ...]) -> list[str]:
    """Tags to filter channel children by, inside lxml: a channel also holds every item."""
    return [tag for tag, role in flavour.roles.items() if role in roles]


def _ttl_seconds(channel: Any) -> int | None:
    namespace = split_tag(channel.tag)[0]
    ttl = channel.findtext("ttl") or channel.findtext(f"{{{namespace}}}ttl" if namespace else "ttl")
    return ttl_from(ttl, channel.findtext(f"{_SY}updatePeriod"), channel.findtext(f"{_SY}updateFrequency"))


class _EntryFields:
    """Mutable accumulator for one entry while its children are walked in document order."""

    __slots__ = ("contents", "enclosure", "guid", "link", "published", "summary", "title", "updated")

    def __init__(self, guid: str | None) -> None:
        self.guid = guid
        self.link: str | None = None
        self.enclosure: str | None = None
        self.title = ""
        self.summary: str | None = None
        self.contents: list[str] = []
        self.published: datetime | None = None
        self.updated: datetime | None = None


_Handler = Callable[[_EntryFields, Any, str], None]


def _entry(item: Any, handlers: dict[str, _Handler], feed_base: str, *, latin1_document: bool) -> RawEntry:
    base = fold_base(feed_base, item.get(XML_BASE))
    fields = _EntryFields(item.get(RDF_ABOUT))
    for child in item:
        handler = handlers.get(child.tag)
        if handler is not None:
            handler(fields, child, base)
    return _raw_entry(fields, base, latin1_document=latin1_document)


def _raw_entry(fields: _EntryFields, base: str, *, latin1_document: bool) -> RawEntry:
    summary = fullest(fields.summary, fields.contents) if fields.contents else fields.summary or ""
    guid = fields.guid
    return RawEntry(
        guid=repair(guid, c1_possible=True)[:MAX_RAW_ID_CHARS] if guid else None,
        link=repair(fields.link, c1_possible=True) if fields.link else None,
        title=repair(fields.title[:MAX_RAW_TITLE_CHARS], c1_possible=True),
        summary=repair(summary[:MAX_RAW_SUMMARY_CHARS], c1_possible=latin1_document),
        published=fields.published or fields.updated,
        base_url=base or None,
        enclosure=fields.enclosure,
    )


# --- text of title / summary / content elements --------------------------------------------


def _rss_text(element: Any) -> str:
    """RSS text as an HTML fragment: as written, or its child markup serialised."""
    if len(element) == 0:
        text = element.text
        return text.strip() if text else ""
    return _inner_markup(element).strip()


def _atom_text(element: Any) -> str:
    """Atom text construct as an HTML fragment; plain text is escaped."""
    kind = element.get("type", "text")
    if kind in _PLAIN_TYPES:
        return html.escape((element.text or "").strip(), quote=False)
    if kind in _XHTML_TYPES and len(element) == 1:
        return _inner_markup(element[0]).strip()
    return _inner_markup(element).strip()


def _inner_markup(element: Any) -> str:
    """An element's content as an HTML fragment, whether it held escaped text or markup."""
    text = element.text or ""
    if len(element) == 0:
        return str(text)
    children = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)
    return html.escape(text, quote=False) + children


# --- handlers, one per role, in an RSS and an Atom variant where they differ ---------------


def _rss_title(fields: _EntryFields, child: Any, base: str) -> None:
    if not fields.title:
        fields.title = _rss_text(child)


def _atom_title(fields: _EntryFields, child: Any, base: str) -> None:
    if not fields.title:
        fields.title = _atom_text(child)


def _link(fields: _EntryFields, child: Any, base: str) -> None:
    link = fix_link((child.text or "").strip())
    declared = child.get(XML_BASE)
    fields.link = resolve(fold_base(base, declared), link) if base or declared else link


def _atom_link(fields: _EntryFields, child: Any, base: str) -> None:
    href = child.get("href")
    if href is None:
        fields.link = fix_link((child.text or "").strip())
        return
    rel = child.get("rel", "alternate")
    if rel == "alternate" and child.get("type", "text/html") in _HTML_TYPES:
        fields.link = resolve(fold_base(base, child.get(XML_BASE)), href)
    elif (
        rel.lower() == "enclosure"
        and fields.enclosure is None
        and href.strip()
        and is_media(child.get("type"))
    ):
        fields.enclosure = resolve(fold_base(base, child.get(XML_BASE)), href.strip())


def _enclosure(fields: _EntryFields, child: Any, base: str) -> None:
    """The first audio or video enclosure with a URL, as written (feedparser resolves no RSS
    enclosure; ``normalize`` resolves it against the feed's address on both paths)."""
    url = (child.get("url") or child.get("href") or "").strip()
    if fields.enclosure is None and url and is_media(child.get("type")):
        fields.enclosure = url


def _rss_guid(fields: _EntryFields, child: Any, base: str) -> None:
    _take_guid(fields, child, base, is_permalink=child.get("isPermaLink", "true") == "true")


def _atom_id(fields: _EntryFields, child: Any, base: str) -> None:
    _take_guid(fields, child, base, is_permalink=True)


def _take_guid(fields: _EntryFields, child: Any, base: str, *, is_permalink: bool) -> None:
    value = (child.text or "").strip()
    if is_permalink and value:
        value = resolve(fold_base(base, child.get(XML_BASE)), value)
    fields.guid = value
    if is_permalink and fields.link is None:
        fields.link = value


def _rss_summary(fields: _EntryFields, child: Any, base: str) -> None:
    _take_text(fields, _rss_text(child), content=False)


def _rss_content(fields: _EntryFields, child: Any, base: str) -> None:
    _take_text(fields, _rss_text(child), content=True)


def _atom_summary(fields: _EntryFields, child: Any, base: str) -> None:
    if child.get("src") is None:
        _take_text(fields, _atom_text(child), content=False)


def _atom_content(fields: _EntryFields, child: Any, base: str) -> None:
    if child.get("src") is None:
        _take_text(fields, _atom_text(child), content=True)


def _take_text(fields: _EntryFields, text: str, *, content: bool) -> None:
    """Mirror feedparser: a second description-like element (summary already there, no
    content yet) counts as content, and a later one replaces the summary."""
    if content or (fields.summary is not None and not fields.contents):
        fields.contents.append(text)
    else:
        fields.summary = text


def _published(fields: _EntryFields, child: Any, base: str) -> None:
    fields.published = parse_date(child.text)


def _updated(fields: _EntryFields, child: Any, base: str) -> None:
    fields.updated = parse_date(child.text)


_COMMON_HANDLERS: dict[int, _Handler] = {
    ROLE_LINK: _link,
    ROLE_ATOM_LINK: _atom_link,
    ROLE_PUBLISHED: _published,
    ROLE_UPDATED: _updated,
}
_RSS_HANDLERS: dict[int, _Handler] = {
    ROLE_TITLE: _rss_title,
    ROLE_ID: _rss_guid,
    ROLE_SUMMARY: _rss_summary,
    ROLE_CONTENT: _rss_content,
    ROLE_ENCLOSURE: _enclosure,
} | _COMMON_HANDLERS
_ATOM_HANDLERS: dict[int, _Handler] = {
    ROLE_TITLE: _atom_title,
    ROLE_ID: _atom_id,
    ROLE_SUMMARY: _atom_summary,
    ROLE_CONTENT: _atom_content,
} | _COMMON_HANDLERS
