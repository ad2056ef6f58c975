"""Feed bytes → entries: a strict fast path, with feedparser as the tolerant authority.

Rules implemented here (pure: no I/O, nothing opened, nothing fetched):

- Input is bytes, never a path or URL. A body that starts with the gzip magic is gunzipped
  (bounded to ``MAX_GUNZIPPED_BYTES``) because stored or mis-served feeds arrive that way;
  beyond the bound it is a ``ParseError``. UTF-16 without a byte-order mark (recognised by
  its ``<`` / NUL byte pattern) is transcoded to UTF-8, since neither parser detects it.
- **Fast path**: one strict lxml parse (no entity substitution, no DTD loading, no network,
  libxml2's size limits kept) followed by our own walk of RSS 2.0 / 0.9x, RDF (RSS 1.0) and
  Atom 1.0 entries. It is taken only when the document is well-formed, has no DOCTYPE at all
  (entity declarations could change the text), has an ``rss`` / ``rdf:RDF`` / Atom 1.0
  ``feed`` root, and the HTTP charset (when given) names the same encoding as the document.
  Blank lines before the XML declaration are dropped first (common, harmless). A DTD that
  declares nested or oversized entities (billion laughs, quadratic blow-up) is a
  ``ParseError`` at once; external entities and DTDs are never loaded by either parser.
- **Tolerant path**: anything else goes to ``feedparser.parse(io.BytesIO(body))`` with
  sanitising and URI resolution off. Entries it recovers from a broken document are kept and
  its complaint is returned as ``warning``. No entries and no recognised feed → ``ParseError``
  naming what the body looks like (HTML, JSON, empty, truncated ...).
- The fast path reproduces feedparser's choices so that an item keeps its key whichever
  path reads it: first non-empty title; last ``<link>`` (or Atom ``rel=alternate`` html
  link); a permalink ``guid`` doubles as the link when there is none; RSS guid / Atom id are
  resolved against ``xml:base`` as feedparser does; RDF items take ``rdf:about`` as id;
  ``published`` = pubDate / Atom published / dcterms:issued, else ``updated`` / dc:date.
- ``title`` and ``summary`` are HTML fragments: RSS text as written (RSS titles are HTML in
  practice), Atom ``type="text"`` escaped so a literal ``<`` survives. ``summary`` is the
  longer of the first content element (``content:encoded`` / Atom content) and the
  summary/description: the fuller text is what rules should see.
- Dates (see ``parse_date``) come back aware, in UTC; unparseable → ``None``.
- Caps: entries beyond ``max_entries`` are counted in ``dropped_entries``; a title longer
  than ``MAX_RAW_TITLE_CHARS`` or a summary longer than ``MAX_RAW_SUMMARY_CHARS`` is cut here
  so later stages never hold absurd strings.
"""

from __future__ import annotations

import codecs
import html
import io
import re
import zlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
from feedparser.datetimes import _parse_date as feedparser_parse_date
from feedparser.urls import make_safe_absolute_uri
from lxml import etree

from service.errors import ParseError

MAX_GUNZIPPED_BYTES = 32 * 1024 * 1024
MAX_RAW_TITLE_CHARS = 16_384
MAX_RAW_SUMMARY_CHARS = 1_048_576
MAX_RAW_ID_CHARS = 4_096
MAX_ENTITY_CHARS = 1_024

_GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = b" \t\r\n"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_RSS1_NAMESPACES = ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/")
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_HTML_TYPES = frozenset({"html", "text/html", "xhtml", "application/xhtml+xml"})
_SY_PERIOD_S = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}

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


@dataclass(frozen=True, slots=True)
class RawEntry:
    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    base_url: str | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    ttl_s: int | None
    entries: tuple[RawEntry, ...]
    parser: Literal["fast", "tolerant"]
    dropped_entries: int
    warning: str | None


def parse_feed(body: bytes, *, content_type: str | None = None, max_entries: int = 2000) -> ParsedFeed:
    """Read one feed document; raises ``ParseError`` when it is not a feed we can read."""
    if not body.strip():
        raise ParseError("empty body")
    body = _utf16_without_bom_as_utf8(_gunzip_if_compressed(body))
    fast = _parse_fast(_drop_blank_prefix(body), content_type=content_type, max_entries=max_entries)
    if fast is not None:
        return fast
    return _parse_tolerant(body, content_type=content_type, max_entries=max_entries)


# --- dates --------------------------------------------------------------------------------

_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)")
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d\d):(\d\d)(?::(\d\d))?\s+"
    r"([+-]\d{4}|GMT|UTC?|Z|[ECMP][SD]T)"
)
_MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_ABBREVIATIONS, 1)}
_ZONE_MINUTES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300}
_ZONE_MINUTES |= {"MST": -420, "MDT": -360, "PST": -480, "PDT": -420}


def parse_date(value: str | None) -> datetime | None:
    """A feed date as an aware UTC datetime, or None.

    The two shapes nearly every feed uses (RFC 822 with a four-digit year, ISO 8601 with a
    zone) are read directly; everything else (two-digit years, Portuguese or Greek month
    names, naive times, epoch-like junk) goes to feedparser's own date parser, so both parse
    paths agree on every date.
    """
    if not value:
        return None
    text = value.strip()
    try:
        if _ISO_DATETIME.fullmatch(text):
            return datetime.fromisoformat(text).astimezone(UTC).replace(microsecond=0)
        rfc = _RFC822.fullmatch(text)
        if rfc is not None and rfc.group(2).lower() in _MONTHS:
            return _rfc822_datetime(rfc)
    except ValueError:
        pass  # e.g. 31 February: let feedparser decide, as the tolerant path would
    return _feedparser_date(text)


def _utc_from_fields(parsed: Any) -> datetime:
    """A UTC datetime from a struct_time-like value (feedparser's dates are UTC)."""
    year, month, day, hour, minute, second = (int(field) for field in parsed[:6])
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _rfc822_datetime(match: re.Match[str]) -> datetime:
    day, month, year, hour, minute, second, zone = match.groups()
    if zone[0] in "+-":
        offset_min = int(zone[1:3]) * 60 + int(zone[3:5])
        offset_min = offset_min if zone[0] == "+" else -offset_min
    else:
        offset_min = _ZONE_MINUTES[zone]
    zone_info = timezone(timedelta(minutes=offset_min))
    local = datetime(
        int(year),
        _MONTHS[month.lower()],
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        tzinfo=zone_info,
    )
    return local.astimezone(UTC)


def _feedparser_date(text: str) -> datetime | None:
    try:
        parsed = feedparser_parse_date(text)
        return None if parsed is None else _utc_from_fields(parsed)
    except (ValueError, OverflowError, TypeError):
        return None


# --- input preparation --------------------------------------------------------------------


def _gunzip_if_compressed(body: bytes) -> bytes:
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_GUNZIPPED_BYTES + 1)
    except zlib.error as exc:
        raise ParseError(f"not a feed: corrupt gzip data ({exc})") from None
    if len(out) > MAX_GUNZIPPED_BYTES:
        raise ParseError(f"not a feed: gzip body expands beyond {MAX_GUNZIPPED_BYTES} bytes")
    return out


def _utf16_without_bom_as_utf8(body: bytes) -> bytes:
    """UTF-16 with neither BOM nor usable declaration defeats both parsers: transcode it."""
    if body.startswith(b"<\x00") and body[1:64:2].count(0) == len(body[1:64:2]):
        codec = "utf-16-le"
    elif body.startswith(b"\x00<") and body[0:64:2].count(0) == len(body[0:64:2]):
        codec = "utf-16-be"
    else:
        return body
    text = _XML_DECLARATION.sub("", body.decode(codec, errors="replace"), count=1)
    return text.encode("utf-8")


_XML_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")


def _drop_blank_prefix(body: bytes) -> bytes:
    """Blank lines before ``<?xml`` make a document ill-formed for no reason worth failing."""
    if body[:1] in (b" ", b"\t", b"\r", b"\n"):
        stripped = body.lstrip(_WHITESPACE)
        if stripped.startswith(b"<?xml"):
            return stripped
    return body


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def _codec_name(encoding: str) -> str:
    """Python's canonical name of an encoding ("ISO-8859-1" → "latin-1"), or "" if unknown."""
    try:
        return codecs.lookup(encoding).name.replace("iso8859-1", "latin-1")
    except LookupError:
        return ""


def _same_encoding(a: str, b: str) -> bool:
    return _codec_name(a) == _codec_name(b) != ""


# --- fast path ----------------------------------------------------------------------------


def _parse_fast(body: bytes, *, content_type: str | None, max_entries: int) -> ParsedFeed | None:
    """The fast reading, or None whenever it cannot be sure to match feedparser."""
    try:
        root = etree.fromstring(body, parser=_STRICT_PARSER)
    except etree.XMLSyntaxError as exc:
        if "amplification" in str(exc):
            raise ParseError("not a feed: entity expansion beyond libxml2's amplification limit") from None
        return None
    except (ValueError, LookupError):
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype:
        _refuse_entity_bombs(docinfo.internalDTD)
        return None
    encoding = docinfo.encoding or "utf-8"
    http_charset = _charset_of(content_type)
    if http_charset is not None and not _same_encoding(http_charset, encoding):
        return None
    walker = _FeedWalker.for_root(root, latin1_document=_codec_name(encoding) == "latin-1")
    if walker is None:
        return None
    return walker.parsed_feed(max_entries=max_entries)


def _refuse_entity_bombs(dtd: Any) -> None:
    """Nested or oversized entity declarations exist only to blow up a parser: refuse them
    here rather than let the tolerant parser spend its time on them."""
    if dtd is None:
        return
    for entity in dtd.iterentities():
        content = entity.content or ""
        if "&" in content or "%" in content or len(content) > MAX_ENTITY_CHARS:
            raise ParseError(f"not a feed: DTD declares nested or oversized entity {entity.name!r}")


def _qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}" if namespace else local


def _localname_namespace(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _fold_base(current: str, declared: str | None) -> str:
    """xml:base in effect after an element, folded the way feedparser folds it."""
    if not declared:
        return current
    if current:
        return str(make_safe_absolute_uri(current, declared) or current)
    return declared


def _resolve(base: str, uri: str) -> str:
    """feedparser's join of a link or id with the base in effect (any scheme kept)."""
    if not base:
        return uri
    try:
        return urljoin(base, _EXTRA_SLASHES.sub(r"\1\3", uri))
    except ValueError:
        return ""


_EXTRA_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")


def _inner_markup(element: Any) -> str:
    """An element's content as an HTML fragment, whether it held escaped text or markup."""
    text = element.text or ""
    if len(element) == 0:
        return str(text)
    children = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)
    return html.escape(text, quote=False) + children


def _repair(text: str, *, c1_possible: bool) -> str:
    """feedparser's two text repairs, applied so both paths yield the same strings.

    Text that is UTF-8 read as Latin-1 is decoded again; C1 controls (Windows-1252 bytes
    labelled Latin-1) become the characters meant. The C1 scan is skipped for long text of
    documents where such bytes cannot come from a mislabel (cleaning drops them anyway).
    """
    if text.isascii():
        return text
    with suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    if c1_possible and _C1_CONTROL.search(text):
        text = text.translate(_C1_AS_CP1252)
    return text


# Windows-1252 text mislabelled as Latin-1 shows up as C1 controls; feedparser maps them back.
_C1_CONTROL = re.compile("[\x80-\x9f]")
_C1_AS_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


_TITLE, _LINK, _ATOM_LINK, _GUID, _SUMMARY, _CONTENT, _PUBLISHED, _UPDATED = range(8)


class _FeedWalker:
    """Walks one parsed RSS / RDF / Atom tree; knows which tags carry which field."""

    def __init__(
        self,
        *,
        channel: Any,
        items: list[Any],
        roles: dict[str, int],
        atom: bool,
        base: str,
        latin1_document: bool,
    ) -> None:
        self.channel = channel
        self.items = items
        self.roles = roles
        self.atom = atom
        self.base = base
        self.latin1_document = latin1_document

    @classmethod
    def for_root(cls, root: Any, *, latin1_document: bool) -> _FeedWalker | None:
        namespace, local = _localname_namespace(root.tag)
        base = _fold_base("", root.get(_XML_BASE))
        if local == "rss":
            channel = root.find(_qname(namespace, "channel"))
            if channel is None:
                return None
            item_tag = _qname(namespace, "item")
            items = [*channel.iterchildren(item_tag), *root.iterchildren(item_tag)]
            return cls(
                channel=channel,
                items=items,
                roles=_rss_roles(namespace),
                atom=False,
                base=_fold_base(base, channel.get(_XML_BASE)),
                latin1_document=latin1_document,
            )
        if namespace == _RDF_NS and local == "RDF":
            return cls._for_rdf(root, base=base, latin1_document=latin1_document)
        if namespace == _ATOM_NS and local == "feed":
            items = list(root.iterchildren(_qname(_ATOM_NS, "entry")))
            return cls(
                channel=root,
                items=items,
                roles=_atom_roles(),
                atom=True,
                base=base,
                latin1_document=latin1_document,
            )
        return None

    @classmethod
    def _for_rdf(cls, root: Any, *, base: str, latin1_document: bool) -> _FeedWalker | None:
        for namespace in _RSS1_NAMESPACES:
            channel = root.find(_qname(namespace, "channel"))
            if channel is not None:
                items = list(root.iterchildren(_qname(namespace, "item")))
                return cls(
                    channel=channel,
                    items=items,
                    roles=_rss_roles(namespace),
                    atom=False,
                    base=base,
                    latin1_document=latin1_document,
                )
        return None

    def parsed_feed(self, *, max_entries: int) -> ParsedFeed:
        kept = self.items[:max_entries]
        return ParsedFeed(
            title=self._feed_title(),
            link=self._feed_link(),
            ttl_s=_ttl_seconds(self.channel),
            entries=tuple(self._entry(item) for item in kept),
            parser="fast",
            dropped_entries=len(self.items) - len(kept),
            warning=None,
        )

    def _feed_title(self) -> str:
        for child in self.channel:
            if self.roles.get(child.tag) == _TITLE:
                return html.unescape(self._text_field(child)).strip()[:MAX_RAW_TITLE_CHARS]
        return ""

    def _feed_link(self) -> str | None:
        fields = _EntryFields(guid=None)
        for child in self.channel:
            role = self.roles.get(child.tag)
            if role in (_LINK, _ATOM_LINK):
                self._take(fields, role, child, self.base)
        return fields.link or None

    def _entry(self, item: Any) -> RawEntry:
        base = _fold_base(self.base, item.get(_XML_BASE))
        fields = _EntryFields(guid=item.get(f"{{{_RDF_NS}}}about"))
        for child in item:
            role = self.roles.get(child.tag)
            if role is not None:
                self._take(fields, role, child, base)
        return fields.raw_entry(base_url=base or None, latin1_document=self.latin1_document)

    def _take(self, fields: _EntryFields, role: int, child: Any, base: str) -> None:
        if role == _TITLE:
            if not fields.title:
                fields.title = self._text_field(child)
        elif role == _LINK:
            fields.link = _resolve(
                _fold_base(base, child.get(_XML_BASE)), _fix_link((child.text or "").strip())
            )
        elif role == _ATOM_LINK:
            self._take_atom_link(fields, child, base)
        elif role == _GUID:
            self._take_guid(fields, child, base)
        elif role in (_SUMMARY, _CONTENT):
            self._take_text(fields, role, child)
        elif role == _PUBLISHED:
            fields.published = parse_date(child.text)
        else:
            fields.updated = parse_date(child.text)

    def _take_atom_link(self, fields: _EntryFields, child: Any, base: str) -> None:
        href = child.get("href")
        if href is None:
            fields.link = _fix_link((child.text or "").strip())
            return
        rel = child.get("rel", "alternate")
        link_type = child.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and link_type in _HTML_TYPES:
            fields.link = _resolve(_fold_base(base, child.get(_XML_BASE)), href)

    def _take_guid(self, fields: _EntryFields, child: Any, base: str) -> None:
        value = (child.text or "").strip()
        is_permalink = self.atom or child.get("isPermaLink", "true") == "true"
        if is_permalink and value:
            value = _resolve(_fold_base(base, child.get(_XML_BASE)), value)
        fields.guid = value
        if is_permalink and fields.link is None:
            fields.link = value

    def _take_text(self, fields: _EntryFields, role: int, child: Any) -> None:
        """Mirror feedparser: a second description-like element (summary already there, no
        content yet) counts as content, and a later one replaces the summary."""
        if self.atom and child.get("src") is not None:
            return
        text = self._text_field(child)
        if role == _CONTENT or (fields.summary is not None and not fields.had_content):
            fields.had_content = True
            fields.contents.append(text)
        else:
            fields.summary = text

    def _text_field(self, element: Any) -> str:
        """Text of a title/summary/content element as an HTML fragment."""
        if not self.atom:
            return _inner_markup(element).strip()
        kind = element.get("type", "text")
        if kind in ("text", "text/plain"):
            return html.escape((element.text or "").strip(), quote=False)
        if kind in ("xhtml", "application/xhtml+xml"):
            div = element[0] if len(element) == 1 else element
            return _inner_markup(div).strip()
        return _inner_markup(element).strip()


class _EntryFields:
    """Mutable accumulator for one entry while its children are walked in document order."""

    __slots__ = ("contents", "guid", "had_content", "link", "published", "summary", "title", "updated")

    def __init__(self, *, guid: str | None) -> None:
        self.guid = guid
        self.link: str | None = None
        self.title = ""
        self.summary: str | None = None
        self.contents: list[str] = []
        self.had_content = False
        self.published: datetime | None = None
        self.updated: datetime | None = None

    def raw_entry(self, *, base_url: str | None, latin1_document: bool) -> RawEntry:
        summary = _fullest(self.summary, self.contents)[:MAX_RAW_SUMMARY_CHARS]
        return RawEntry(
            guid=_repair(self.guid, c1_possible=True)[:MAX_RAW_ID_CHARS] if self.guid else None,
            link=_repair(self.link, c1_possible=True) if self.link else None,
            title=_repair(self.title[:MAX_RAW_TITLE_CHARS], c1_possible=True),
            summary=_repair(summary, c1_possible=latin1_document),
            published=self.published or self.updated,
            base_url=base_url,
        )


def _fullest(summary: str | None, contents: list[str]) -> str:
    """The longest of the summary and the content elements: rules should see the full text."""
    return max([summary or "", *contents], key=len)


def _fix_link(link: str) -> str:
    """feedparser's repair of ``&amp;`` left in link text (double-escaped query strings)."""
    if "&" not in link:
        return link
    return re.sub(r"&([A-Za-z0-9_]+);", r"&\g<1>", link.replace("&amp;", "&"))


def _rss_roles(namespace: str) -> dict[str, int]:
    roles = {
        _qname(namespace, "title"): _TITLE,
        _qname(namespace, "link"): _LINK,
        _qname(namespace, "guid"): _GUID,
        _qname(namespace, "description"): _SUMMARY,
        _qname(namespace, "pubDate"): _PUBLISHED,
        _qname(_ATOM_NS, "link"): _ATOM_LINK,
        _qname(_ATOM_NS, "id"): _GUID,
        "{http://purl.org/rss/1.0/modules/content/}encoded": _CONTENT,
        "{http://search.yahoo.com/mrss/}description": _SUMMARY,
        "{http://www.itunes.com/dtds/podcast-1.0.dtd}summary": _SUMMARY,
    }
    return roles | _dublin_core_roles()


def _atom_roles() -> dict[str, int]:
    roles = {
        _qname(_ATOM_NS, "title"): _TITLE,
        _qname(_ATOM_NS, "link"): _ATOM_LINK,
        _qname(_ATOM_NS, "id"): _GUID,
        _qname(_ATOM_NS, "summary"): _SUMMARY,
        _qname(_ATOM_NS, "content"): _CONTENT,
        _qname(_ATOM_NS, "published"): _PUBLISHED,
        _qname(_ATOM_NS, "updated"): _UPDATED,
    }
    return roles | _dublin_core_roles()


def _dublin_core_roles() -> dict[str, int]:
    return {
        f"{_DC}title": _TITLE,
        f"{_DC}description": _SUMMARY,
        f"{_DC}date": _UPDATED,
        f"{_DCTERMS}issued": _PUBLISHED,
        f"{_DCTERMS}modified": _UPDATED,
    }


def _ttl_seconds(channel: Any) -> int | None:
    ttl = channel.findtext("ttl") or channel.findtext(_qname(_localname_namespace(channel.tag)[0], "ttl"))
    return _ttl_from(ttl, channel.findtext(f"{_SY}updatePeriod"), channel.findtext(f"{_SY}updateFrequency"))


def _ttl_from(ttl_minutes: str | None, period: str | None, frequency: str | None) -> int | None:
    """RSS ``ttl`` (minutes) wins; else the syndication module's period / frequency."""
    if ttl_minutes and ttl_minutes.strip().isdigit():
        return int(ttl_minutes.strip()) * 60
    period_s = _SY_PERIOD_S.get((period or "").strip().lower())
    if period_s is None:
        return None
    times = (frequency or "1").strip()
    return period_s // int(times) if times.isdigit() and int(times) > 0 else period_s


# --- tolerant path ------------------------------------------------------------------------


def _parse_tolerant(body: bytes, *, content_type: str | None, max_entries: int) -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    # BytesIO, never str: feedparser opens a string that looks like a path or URL.
    result = feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False, response_headers=headers
    )
    problem = str(result.get("bozo_exception") or "") or None
    entries = result.entries
    if not entries and (not result.get("version") or problem):
        raise ParseError(_why_not_a_feed(body, problem))
    atom = str(result.get("version", "")).startswith("atom")
    feed = result.feed
    kept = [_tolerant_entry(entry, atom=atom) for entry in entries[:max_entries]]
    return ParsedFeed(
        title=html.unescape(str(feed.get("title", ""))).strip()[:MAX_RAW_TITLE_CHARS],
        link=str(feed["link"]) if feed.get("link") else None,
        ttl_s=_ttl_from(feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")),
        entries=tuple(kept),
        parser="tolerant",
        dropped_entries=len(entries) - len(kept),
        warning=problem,
    )


def _tolerant_entry(entry: Any, *, atom: bool) -> RawEntry:
    guid = str(entry.get("id") or "").strip()
    contents = [_detail_html(content, atom=atom) or "" for content in entry.get("content") or []]
    summary = _detail_html(entry.get("summary_detail"), atom=atom) if "summary" in entry else None
    return RawEntry(
        guid=guid[:MAX_RAW_ID_CHARS] or None,
        link=str(entry["link"]) if entry.get("link") else None,
        title=(_detail_html(entry.get("title_detail"), atom=atom) or "")[:MAX_RAW_TITLE_CHARS],
        summary=_fullest(summary, contents)[:MAX_RAW_SUMMARY_CHARS],
        # dict.get: FeedParserDict.get would map the keys onto each other (with a warning)
        published=_struct_to_datetime(
            dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
        ),
        base_url=None,
    )


def _detail_html(detail: Any, *, atom: bool) -> str | None:
    """A feedparser text construct as an HTML fragment (Atom plain text gets escaped)."""
    if not detail:
        return None
    value = str(detail.get("value", ""))
    if atom and detail.get("type") == "text/plain":
        return html.escape(value, quote=False)
    return value


def _struct_to_datetime(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return _utc_from_fields(parsed)
    except (ValueError, TypeError):
        return None


def _why_not_a_feed(body: bytes, problem: str | None) -> str:
    head = body[:1024].lstrip(_WHITESPACE + b"\xef\xbb\xbf").lower()
    if head[:1] in (b"{", b"["):
        return "not a feed: JSON document"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "not a feed: HTML document"
    if not head.startswith(b"<"):
        return "not a feed: not an XML document"
    if problem:
        return f"not a feed: no readable entries in a malformed document ({problem})"
    return "not a feed: no RSS, Atom or RDF root element"
