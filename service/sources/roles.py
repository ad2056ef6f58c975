"""Which feed format a parsed XML tree is, and which tags carry which entry field.

Rules implemented here:

- Formats recognised: RSS 2.0 / 0.9x (``rss`` root, in any or no namespace, with a
  ``channel``; items inside the channel and, for 0.9x, beside it), RDF / RSS 1.0 and 0.90
  (``rdf:RDF`` root with an RSS 1.0 or Netscape 0.90 ``channel``; items beside it) and
  Atom 1.0 (``feed`` root in the Atom namespace; ``entry`` children). Anything else → None.
- The feed's ``xml:base`` is folded from the root and (RSS) the channel.
- Roles per format: title, link, Atom link, id/guid, summary, content, published, updated.
  RSS also reads Atom ``link``/``id``, ``content:encoded``, Media RSS and iTunes summaries;
  every format reads Dublin Core title, description and dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.sources.compat import fold_base

XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
ATOM_NS = "http://www.w3.org/2005/Atom"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_ABOUT = f"{{{RDF_NS}}}about"

(
    ROLE_TITLE,
    ROLE_LINK,
    ROLE_ATOM_LINK,
    ROLE_ID,
    ROLE_SUMMARY,
    ROLE_CONTENT,
    ROLE_PUBLISHED,
    ROLE_UPDATED,
    ROLE_ENCLOSURE,
) = range(9)
ROLE_LINKS = (ROLE_LINK, ROLE_ATOM_LINK)

_RSS1_NAMESPACES = ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/")
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_DUBLIN_CORE_ROLES = {
    f"{_DC}title": ROLE_TITLE,
    f"{_DC}description": ROLE_SUMMARY,
    f"{_DC}date": ROLE_UPDATED,
    f"{_DCTERMS}issued": ROLE_PUBLISHED,
    f"{_DCTERMS}modified": ROLE_UPDATED,
}
_ATOM_ROLES = {
    f"{{{ATOM_NS}}}title": ROLE_TITLE,
    f"{{{ATOM_NS}}}link": ROLE_ATOM_LINK,
    f"{{{ATOM_NS}}}id": ROLE_ID,
    f"{{{ATOM_NS}}}summary": ROLE_SUMMARY,
    f"{{{ATOM_NS}}}content": ROLE_CONTENT,
    f"{{{ATOM_NS}}}published": ROLE_PUBLISHED,
    f"{{{ATOM_NS}}}updated": ROLE_UPDATED,
} | _DUBLIN_CORE_ROLES


@dataclass(frozen=True, slots=True)
class Flavour:
    """One recognised feed tree: its channel element, its entries and how to read them."""

    channel: Any
    items: list[Any]
    roles: dict[str, int]
    atom: bool
    base: str


def flavour_of(root: Any) -> Flavour | None:
    """The feed format of a parsed tree, or None when it is none we read."""
    namespace, local = split_tag(root.tag)
    base = fold_base("", root.get(XML_BASE))
    if local == "rss":
        channel = root.find(_qname(namespace, "channel"))
        if channel is None:
            return None
        item_tag = _qname(namespace, "item")
        items = [*channel.iterchildren(item_tag), *root.iterchildren(item_tag)]
        return Flavour(channel, items, _rss_roles(namespace), False, fold_base(base, channel.get(XML_BASE)))
    if namespace == RDF_NS and local == "RDF":
        return _rdf_flavour(root, base)
    if namespace == ATOM_NS and local == "feed":
        return Flavour(root, list(root.iterchildren(f"{{{ATOM_NS}}}entry")), _ATOM_ROLES, True, base)
    return None


def split_tag(tag: str) -> tuple[str, str]:
    """An lxml tag's namespace ("" for none) and local name."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _rdf_flavour(root: Any, base: str) -> Flavour | None:
    for namespace in _RSS1_NAMESPACES:
        channel = root.find(_qname(namespace, "channel"))
        if channel is not None:
            items = list(root.iterchildren(_qname(namespace, "item")))
            return Flavour(channel, items, _rss_roles(namespace), False, base)
    return None


def _qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}" if namespace else local


def _rss_roles(namespace: str) -> dict[str, int]:
    roles = {
        _qname(namespace, "title"): ROLE_TITLE,
        _qname(namespace, "link"): ROLE_LINK,
        _qname(namespace, "guid"): ROLE_ID,
        _qname(namespace, "description"): ROLE_SUMMARY,
        _qname(namespace, "pubDate"): ROLE_PUBLISHED,
        _qname(namespace, "enclosure"): ROLE_ENCLOSURE,
        f"{{{ATOM_NS}}}link": ROLE_ATOM_LINK,
        f"{{{ATOM_NS}}}id": ROLE_ID,
        "{http://purl.org/rss/1.0/modules/content/}encoded": ROLE_CONTENT,
        "{http://search.yahoo.com/mrss/}description": ROLE_SUMMARY,
        "{http://www.itunes.com/dtds/podcast-1.0.dtd}summary": ROLE_SUMMARY,
    }
    return roles | _DUBLIN_CORE_ROLES
