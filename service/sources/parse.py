"""Feed bytes → entries: a strict fast path, with feedparser as the tolerant authority.

Rules implemented here (pure: no I/O, nothing opened, nothing fetched):

- Input is bytes, never a path or URL. A body that starts with the gzip magic is gunzipped
  (bounded to ``MAX_GUNZIPPED_BYTES``) because stored or mis-served feeds arrive that way;
  beyond the bound it is a ``ParseError``. UTF-16 without a byte-order mark (recognised by
  its ``<`` / NUL byte pattern) is transcoded to UTF-8, since neither parser detects it.
  Blank lines before the XML declaration are dropped for the fast path (common, harmless).
- **Fast path** (``fastpath``): one strict lxml parse and our own walk, taken only when the
  document is well-formed, has no DOCTYPE, has an RSS / RDF / Atom 1.0 root and the HTTP
  charset (when given) names the document's encoding. It reproduces feedparser's choices so
  that an item keeps its key whichever path reads it. A DTD declaring nested or oversized
  entities is a ``ParseError`` at once; external entities and DTDs are never loaded.
- **Tolerant path**: anything else goes to ``feedparser.parse(io.BytesIO(body))`` with
  sanitising and URI resolution off. Entries it recovers from a broken document are kept and
  its complaint is returned as ``damage`` (a note that the declared encoding was wrong is not
  damage: the document is whole). No entries and no recognised feed → ``ParseError``
  naming what the body looks like (HTML, JSON, empty, truncated ...).
- Dates (``parse_date``, see ``dates``) come back aware, in UTC; unparseable → ``None``.
- Caps (see ``feed``): entries beyond ``max_entries`` are counted in ``dropped_entries``;
  over-long ids, titles and summaries are cut.
"""

from __future__ import annotations

import html
import io
import re
import zlib
from typing import Any
from xml.sax import SAXException

import feedparser

from service.errors import ParseError
from service.sources.dates import parse_date, utc_from_struct
from service.sources.fastpath import parse_fast
from service.sources.feed import (
    MAX_RAW_ID_CHARS,
    MAX_RAW_SUMMARY_CHARS,
    MAX_RAW_TITLE_CHARS,
    ParsedFeed,
    RawEntry,
    fullest,
    is_media,
    ttl_from,
    with_own_enclosures,
)

__all__ = ["MAX_GUNZIPPED_BYTES", "ParsedFeed", "RawEntry", "parse_date", "parse_feed"]

MAX_GUNZIPPED_BYTES = 32 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = b" \t\r\n"
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")


def parse_feed(body: bytes, *, content_type: str | None = None, max_entries: int = 2000) -> ParsedFeed:
    """Read one feed document; raises ``ParseError`` when it is not a feed we can read."""
    if not body or body.isspace():
        raise ParseError("empty body")
    body = _utf16_without_bom_as_utf8(_gunzip_if_compressed(body))
    fast = parse_fast(_drop_blank_prefix(body), content_type=content_type, max_entries=max_entries)
    parsed = (
        fast
        if fast is not None
        else _parse_tolerant(body, content_type=content_type, max_entries=max_entries)
    )
    return with_own_enclosures(parsed)


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


def _drop_blank_prefix(body: bytes) -> bytes:
    """Blank lines before ``<?xml`` make a document ill-formed for no reason worth failing."""
    if body[:1] in (b" ", b"\t", b"\r", b"\n"):
        stripped = body.lstrip(_WHITESPACE)
        if stripped.startswith(b"<?xml"):
            return stripped
    return body


# --- tolerant path ------------------------------------------------------------------------


def _parse_tolerant(body: bytes, *, content_type: str | None, max_entries: int) -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    # BytesIO, never str: feedparser opens a string that looks like a path or URL.
    result = feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False, response_headers=headers
    )
    complaint = result.get("bozo_exception")
    problem = str(complaint or "") or None
    entries = result.entries
    if not entries and (not result.get("version") or problem):
        raise ParseError(_why_not_a_feed(body, problem))
    atom = str(result.get("version", "")).startswith("atom")
    feed = result.feed
    kept = [_tolerant_entry(entry, atom=atom) for entry in entries[:max_entries]]
    return ParsedFeed(
        title=html.unescape(str(feed.get("title", ""))).strip()[:MAX_RAW_TITLE_CHARS],
        link=str(feed["link"]) if feed.get("link") else None,
        ttl_s=ttl_from(feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")),
        entries=tuple(kept),
        parser="tolerant",
        dropped_entries=len(entries) - len(kept),
        damage=problem if isinstance(complaint, SAXException) else None,
    )


def _tolerant_entry(entry: Any, *, atom: bool) -> RawEntry:
    guid = str(entry.get("id") or "").strip()
    contents = [_detail_html(content, atom=atom) or "" for content in entry.get("content") or []]
    summary = _detail_html(entry.get("summary_detail"), atom=atom) if "summary" in entry else None
    return RawEntry(
        guid=guid[:MAX_RAW_ID_CHARS] or None,
        link=str(entry["link"]) if entry.get("link") else None,
        title=(_detail_html(entry.get("title_detail"), atom=atom) or "")[:MAX_RAW_TITLE_CHARS],
        summary=fullest(summary, contents)[:MAX_RAW_SUMMARY_CHARS],
        # dict.get: FeedParserDict.get would map the keys onto each other (with a warning)
        published=utc_from_struct(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        base_url=None,
        enclosure=next(
            (
                str(link["href"]).strip()
                for link in entry.get("links") or []
                if link.get("rel") == "enclosure"
                and str(link.get("href") or "").strip()
                and is_media(link.get("type"))
            ),
            None,
        ),
    )


def _detail_html(detail: Any, *, atom: bool) -> str | None:
    """A feedparser text construct as an HTML fragment (Atom plain text gets escaped)."""
    if not detail:
        return None
    value = str(detail.get("value", ""))
    if atom and detail.get("type") == "text/plain":
        return html.escape(value, quote=False)
    return value


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
